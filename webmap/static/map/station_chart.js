/* A counting station's chart in its identify popup: the hourly profile (mean vehicles
 * per hour of the day) and the trend (daily totals) of the station's last eight weeks of
 * counts (GET /collections/traffic_stations/items/{id}/counts), drawn with Chart.js
 * (served by the app from npm, loaded on the first station popup), with a CSV download. */
var GisdbStationChart = (function () {
  "use strict";
  var LAYER = "traffic_stations";
  var WIDTH = 320, HEIGHT = 140;
  var library = null;

  /* Chart.js, loaded once, on demand: most map sessions never open a station. */
  function loadLibrary(url) {
    if (window.Chart) { return Promise.resolve(window.Chart); }
    if (!library) {
      library = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = url;
        script.onload = function () { resolve(window.Chart); };
        script.onerror = function () { library = null; reject(new Error("Chart.js")); };
        document.head.appendChild(script);
      });
    }
    return library;
  }

  /* Mean count per hour of the day (0-23) of an hourly series; times carry +07:00, so
   * characters 11-12 are the hour in Da Nang. */
  function profile(series) {
    var sums = [], days = [];
    for (var h = 0; h < 24; h++) { sums.push(0); days.push(0); }
    series.forEach(function (p) {
      var hour = parseInt(p.time.substr(11, 2), 10);
      sums[hour] += p.total;
      days[hour] += 1;
    });
    return sums.map(function (s, i) { return days[i] ? Math.round(s / days[i]) : 0; });
  }

  function canvas(kind) {
    var c = document.createElement("canvas");
    c.className = "gisdb-station-chart-" + kind;
    c.width = WIDTH;
    c.height = HEIGHT;
    return c;
  }

  function title(vi, en) {
    var h = document.createElement("h5");
    h.style.margin = "8px 0 2px";
    h.appendChild(GisdbI18n.span(vi, en));
    return h;
  }

  function draw(Chart, target, type, labels, data, colour) {
    return new Chart(target, {
      type: type,
      data: { labels: labels, datasets: [{ data: data, backgroundColor: colour, borderColor: colour,
        borderWidth: 1.5, pointRadius: 0 }] },
      options: { animation: false, responsive: false, plugins: { legend: { display: false } },
        scales: { x: { ticks: { maxTicksLimit: 8, font: { size: 10 } } },
          y: { beginAtZero: true, ticks: { font: { size: 10 } } } } }
    });
  }

  function render(Chart, box, hourly, daily) {
    var hours = [];
    for (var h = 0; h < 24; h++) { hours.push(h + "h"); }
    draw(Chart, box.querySelector(".gisdb-station-chart-profile"), "bar", hours, profile(hourly.series), "#45818e");
    draw(Chart, box.querySelector(".gisdb-station-chart-trend"), "line",
      daily.series.map(function (p) { return p.time.substr(5, 5); }),
      daily.series.map(function (p) { return p.total; }), "#134f5c");
    box.setAttribute("data-points", String(hourly.series.length));
  }

  /* The chart block of a station's popup section: titles, two canvases, a CSV link. */
  function attach(app, section, feature) {
    if (feature.layer !== LAYER) { return; }
    var url = app.config.endpoints.counts.replace("{id}", encodeURIComponent(feature.id));
    var box = document.createElement("div");
    box.className = "gisdb-station-chart";
    box.style.width = WIDTH + "px";
    box.appendChild(title("Lưu lượng trung bình theo giờ (8 tuần)", "Mean vehicles per hour of day (8 weeks)"));
    box.appendChild(canvas("profile"));
    box.appendChild(title("Tổng lưu lượng theo ngày", "Daily totals"));
    box.appendChild(canvas("trend"));
    var link = document.createElement("a");
    link.className = "gisdb-station-csv";
    link.href = url + "?step=hour&f=csv";
    link.setAttribute("download", "tram-" + feature.id + ".csv");
    link.appendChild(GisdbI18n.span("Tải số liệu theo giờ (CSV)", "Download hourly counts (CSV)"));
    box.appendChild(link);
    section.appendChild(box);
    Promise.all([loadLibrary(app.config.vendor.chart), app.getJSON(url + "?step=hour"),
      app.getJSON(url + "?step=day")]).then(function (got) {
      if (!got[1].series.length) {
        box.replaceChildren(GisdbI18n.span("Trạm chưa có số liệu đếm xe", "No counts at this station yet"));
        return;
      }
      render(got[0], box, got[1], got[2]);
    }).catch(function (err) {
      var p = document.createElement("p");
      p.className = "gisdb-identify-message";
      p.appendChild(GisdbI18n.span("Không tải được biểu đồ: ", "Chart failed: "));
      p.appendChild(document.createTextNode(err.message));
      box.appendChild(p);
    });
  }

  function init(app) {
    app.featureHooks = (app.featureHooks || []).concat([function (section, feature) {
      attach(app, section, feature);
    }]);
  }

  return { init: init, profile: profile };
})();
