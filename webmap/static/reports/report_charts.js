/* The charts of the printable report page, drawn by Chart.js from the report's own JSON
 * (embedded in the page): land use as a pie, buildings by floors as bars, permits issued
 * per month as a line. Animation is off so that the page prints as soon as it loads. */
(function () {
  "use strict";
  var PALETTE = ["#e06666", "#f6b26b", "#ffd966", "#93c47d", "#76a5af", "#6fa8dc", "#8e7cc3",
                 "#c27ba0", "#999999", "#b45f06"];
  var report = JSON.parse(document.getElementById("report-data").textContent);
  var common = { animation: false, responsive: true, maintainAspectRatio: false };

  function chart(id, config) {
    var canvas = document.getElementById(id);
    if (canvas && window.Chart) { new window.Chart(canvas, config); }
  }

  chart("chart-land-use", {
    type: "pie",
    data: {
      labels: report.land_use.map(function (r) { return r.land_use + " " + r.label_vi; }),
      datasets: [{ data: report.land_use.map(function (r) { return r.area_m2; }),
                   backgroundColor: report.land_use.map(function (r, i) { return PALETTE[i % PALETTE.length]; }) }]
    },
    options: Object.assign({ plugins: { legend: { position: "right", labels: { boxWidth: 10, font: { size: 9 } } } } }, common)
  });
  chart("chart-floors", {
    type: "bar",
    data: {
      labels: report.buildings.floors.map(function (r) { return r.floors === null ? "?" : String(r.floors); }),
      datasets: [{ label: "Công trình / Buildings", data: report.buildings.floors.map(function (r) { return r.count; }),
                   backgroundColor: "#6fa8dc" }]
    },
    options: Object.assign({ plugins: { legend: { display: false } } }, common)
  });
  chart("chart-permits", {
    type: "line",
    data: {
      labels: report.permits_per_month.map(function (r) { return r.month; }),
      datasets: [{ label: "Giấy phép / Permits", data: report.permits_per_month.map(function (r) { return r.count; }),
                   borderColor: "#cc0000", borderWidth: 1, pointRadius: 0 }]
    },
    options: Object.assign({ plugins: { legend: { display: false } } }, common)
  });
  document.body.setAttribute("data-charts", "drawn");
})();
