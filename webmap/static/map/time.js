/* Time travel on the map: a panel with a date picker and a slider over the recorded
 * history (GET /history/timeline: the earliest instant, now, changes per day as the
 * slider's ticks). Choosing a moment redraws every layer of the registry as the
 * database was then (their tile URLs and identify get ?as_of=); "Now" goes back.
 *
 * "Compare 2025": a swipe over the map with the wards and communes in force before
 * 1 July 2025 on the left and from that day on the right (the data's own validity,
 * `datetime`), both at the chosen database moment (`as_of`); the panel says which is
 * which in plain words. */
var GisdbTime = (function () {
  "use strict";
  var BEFORE_REFORM = "2025-06-30", AFTER_REFORM = "2025-07-01";
  var WARDS = "admin_units";

  GisdbI18n.add({
    vi: {
      time_button: "Thời gian",
      time_title: "Xem cơ sở dữ liệu tại một thời điểm trước đây",
      time_heading: "Dữ liệu tại thời điểm",
      time_explain: "Vẽ lại mọi lớp như cơ sở dữ liệu đã lưu tại thời điểm chọn (as_of).",
      time_now: "Hiện tại",
      time_now_button: "Về hiện tại",
      time_date: "Ngày",
      time_changes: "{n} thay đổi",
      time_none: "Chưa có lịch sử",
      time_compare: "So sánh ranh giới 2025",
      time_compare_off: "Tắt so sánh",
      time_left: "Trước 1/7/2025",
      time_right: "Từ 1/7/2025",
      time_compare_explain: "Trái: phường, xã có hiệu lực trước ngày 1/7/2025; phải: từ ngày 1/7/2025 " +
        "(ngày hiệu lực của dữ liệu, datetime). Cả hai bên đều theo trạng thái cơ sở dữ liệu tại " +
        "thời điểm chọn ở trên (as_of). Kéo thanh trượt để so sánh."
    },
    en: {
      time_button: "Time",
      time_title: "See the database at an earlier moment",
      time_heading: "Data as of",
      time_explain: "Redraws every layer as the database held it at the chosen moment (as_of).",
      time_now: "Now",
      time_now_button: "Back to now",
      time_date: "Date",
      time_changes: "{n} changes",
      time_none: "No history yet",
      time_compare: "Compare 2025 boundaries",
      time_compare_off: "Stop comparing",
      time_left: "Before 1 July 2025",
      time_right: "From 1 July 2025",
      time_compare_explain: "Left: wards and communes in force before 1 July 2025; right: from " +
        "1 July 2025 (the data's own validity date, datetime). Both sides show the database as it " +
        "stood at the moment chosen above (as_of). Drag the slider to compare."
    }
  });

  function iso(ms) { return new Date(ms).toISOString().replace(/\.000Z$/, "Z"); }

  function el(tag, cls, key) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (key) { node.setAttribute("data-i18n", key); node.textContent = GisdbI18n.t(key); }
    return node;
  }

  function withQuery(url, params) {
    var parts = Object.keys(params).filter(function (k) { return params[k]; })
      .map(function (k) { return k + "=" + encodeURIComponent(params[k]); });
    return parts.length ? url + (url.indexOf("?") < 0 ? "?" : "&") + parts.join("&") : url;
  }

  function Time(app) {
    this.app = app;
    this.asOf = null;
    this.range = null;
    this.compare = null;
    var self = this;
    Object.keys(app.overlays).forEach(function (id) {
      var layer = app.overlays[id];
      if (app.layersById[id] && layer.setUrl) { layer.options.gisdbUrl = layer._url; }
    });
    app.timeQuery = function () { return self.asOf ? "&as_of=" + encodeURIComponent(self.asOf) : ""; };
  }

  /* Redraw every registry layer (and the compare view) as of `asOf` (null: now). */
  Time.prototype.apply = function (asOf) {
    var app = this.app;
    this.asOf = asOf;
    Object.keys(app.overlays).forEach(function (id) {
      var layer = app.overlays[id];
      if (layer.options.gisdbUrl) { layer.setUrl(withQuery(layer.options.gisdbUrl, { as_of: asOf })); }
    });
    if (this.compare) { this.compare.redraw(asOf); }
    this.showLabel();
    app.map.getContainer().classList.toggle("gisdb-as-of", !!asOf);
  };

  Time.prototype.showLabel = function () {
    var label = this.panel.querySelector(".gisdb-time-label");
    if (!this.asOf) {
      label.setAttribute("data-i18n", "time_now");
      label.textContent = GisdbI18n.t("time_now");
      return;
    }
    label.removeAttribute("data-i18n");
    label.textContent = new Date(this.asOf).toLocaleString(GisdbI18n.lang() === "vi" ? "vi-VN" : "en-GB");
  };

  /* The slider's value as an instant (its right end is "now"). */
  Time.prototype.fromSlider = function () {
    var value = Number(this.slider.value);
    this.apply(value >= Number(this.slider.max) ? null : iso(value));
  };

  /* A picked day: the database at the end of that day (local time), or now. */
  Time.prototype.fromDate = function () {
    if (!this.date.value || !this.range) { return; }
    var parts = this.date.value.split("-").map(Number);
    var end = new Date(parts[0], parts[1] - 1, parts[2] + 1).getTime() - 1000;
    var ms = Math.max(this.range.min, Math.min(end, this.range.max));
    this.slider.value = String(ms);
    this.apply(ms >= this.range.max ? null : iso(ms));
  };

  Time.prototype.load = function () {
    var self = this;
    return this.app.getJSON(this.app.config.endpoints.timeline).then(function (doc) {
      if (!doc.earliest) { self.panel.querySelector(".gisdb-time-label").textContent = GisdbI18n.t("time_none"); return; }
      var min = Date.parse(doc.earliest), max = Date.parse(doc.now);
      self.range = { min: min, max: max };
      self.slider.min = String(min);
      self.slider.max = String(max);
      self.slider.step = "1";
      self.slider.value = String(max);
      self.date.min = doc.earliest.slice(0, 10);
      self.date.max = doc.now.slice(0, 10);
      var ticks = self.panel.querySelector("datalist");
      ticks.innerHTML = "";
      (doc.days || []).forEach(function (day) {
        var option = document.createElement("option");
        option.value = String(Math.max(min, Math.min(max, Date.parse(day.date + "T23:59:59Z"))));
        option.label = day.date + ": " + GisdbI18n.t("time_changes", { n: day.changes });
        ticks.appendChild(option);
      });
    }).catch(function () { /* the panel stays at "now" */ });
  };

  Time.prototype.build = function () {
    var self = this, app = this.app;
    var panel = this.panel = el("div", "gisdb-time leaflet-bar");
    panel.id = "gisdb-time";
    var toggle = el("button", "gisdb-time-toggle", "time_button");
    toggle.type = "button";
    toggle.setAttribute("data-i18n-title", "time_title");
    toggle.title = GisdbI18n.t("time_title");
    var body = el("div", "gisdb-time-body");
    body.appendChild(el("div", "gisdb-time-heading", "time_heading"));
    body.appendChild(el("p", "gisdb-time-explain", "time_explain"));
    var row = el("label", "gisdb-time-row");
    row.appendChild(el("span", "", "time_date"));
    this.date = el("input", "gisdb-time-date");
    this.date.type = "date";
    this.date.id = "gisdb-asof-date";
    row.appendChild(this.date);
    body.appendChild(row);
    this.slider = el("input", "gisdb-time-slider");
    this.slider.type = "range";
    this.slider.id = "gisdb-asof-slider";
    this.slider.setAttribute("list", "gisdb-time-ticks");
    var ticks = el("datalist");
    ticks.id = "gisdb-time-ticks";
    body.appendChild(this.slider);
    body.appendChild(ticks);
    body.appendChild(el("div", "gisdb-time-label", "time_now"));
    var now = el("button", "gisdb-time-now", "time_now_button");
    now.type = "button";
    var compare = el("button", "gisdb-compare-toggle", "time_compare");
    compare.type = "button";
    compare.id = "gisdb-compare";
    body.appendChild(now);
    body.appendChild(compare);
    panel.appendChild(toggle);
    panel.appendChild(body);
    L.DomEvent.disableClickPropagation(panel);
    L.DomEvent.disableScrollPropagation(panel);
    L.DomEvent.on(toggle, "click", function () { panel.classList.toggle("gisdb-time-open"); });
    L.DomEvent.on(this.slider, "change", function () { self.fromSlider(); });
    L.DomEvent.on(this.date, "change", function () { self.fromDate(); });
    L.DomEvent.on(now, "click", function () {
      if (self.range) { self.slider.value = String(self.range.max); }
      self.date.value = "";
      self.apply(null);
    });
    L.DomEvent.on(compare, "click", function () { self.toggleCompare(compare); });
    var Control = L.Control.extend({ options: { position: "topleft" }, onAdd: function () { return panel; } });
    new Control().addTo(app.map);
  };

  Time.prototype.toggleCompare = function (button) {
    if (this.compare) {
      this.compare.remove();
      this.compare = null;
    } else {
      this.compare = new Swipe(this.app, this.asOf);
    }
    var key = this.compare ? "time_compare_off" : "time_compare";
    button.setAttribute("data-i18n", key);
    button.textContent = GisdbI18n.t(key);
  };

  /* Two sets of ward tiles, clipped left and right of a draggable divider. */
  function Swipe(app, asOf) {
    var map = this.map = app.map;
    this.app = app;
    this.ratio = 0.5;
    this.sides = [BEFORE_REFORM, AFTER_REFORM].map(function (day, i) {
      var name = "gisdbCompare" + i;
      var pane = map.getPane(name) || map.createPane(name);
      pane.style.zIndex = 390;
      var url = "/tiles/" + WARDS + "/{z}/{x}/{y}{r}.png";
      var layer = L.tileLayer(withQuery(url, { datetime: day, as_of: asOf }),
        { pane: name, maxZoom: 22, gisdbCompare: day }).addTo(map);
      return { pane: pane, layer: layer, url: url, day: day };
    });
    this.wardsWereOn = app.overlays[WARDS] && map.hasLayer(app.overlays[WARDS]);
    if (this.wardsWereOn) { map.removeLayer(app.overlays[WARDS]); }
    this.box = el("div", "gisdb-swipe");
    this.box.id = "gisdb-swipe";
    var left = el("span", "gisdb-swipe-left", "time_left");
    var right = el("span", "gisdb-swipe-right", "time_right");
    this.line = el("div", "gisdb-swipe-line");
    this.range = el("input", "gisdb-swipe-range");
    this.range.type = "range";
    this.range.min = "0";
    this.range.max = "1000";
    this.range.value = "500";
    var note = el("p", "gisdb-swipe-note", "time_compare_explain");
    [left, right, this.line, this.range, note].forEach(function (n) { this.box.appendChild(n); }, this);
    map.getContainer().appendChild(this.box);
    L.DomEvent.disableClickPropagation(this.box);
    var self = this;
    L.DomEvent.on(this.range, "input change", function () { self.ratio = Number(self.range.value) / 1000; self.clip(); });
    this.onMove = function () { self.clip(); };
    map.on("move zoom resize", this.onMove);
    this.clip();
  }

  Swipe.prototype.redraw = function (asOf) {
    this.sides.forEach(function (side) { side.layer.setUrl(withQuery(side.url, { datetime: side.day, as_of: asOf })); });
  };

  Swipe.prototype.clip = function () {
    var map = this.map, size = map.getSize();
    var nw = map.containerPointToLayerPoint([0, 0]), se = map.containerPointToLayerPoint(size);
    var x = map.containerPointToLayerPoint([size.x * this.ratio, 0]).x;
    this.sides[0].pane.style.clip = "rect(" + [nw.y, x, se.y, nw.x].join("px,") + "px)";
    this.sides[1].pane.style.clip = "rect(" + [nw.y, se.x, se.y, x].join("px,") + "px)";
    this.line.style.left = (size.x * this.ratio) + "px";
  };

  Swipe.prototype.remove = function () {
    var map = this.map;
    this.sides.forEach(function (side) { map.removeLayer(side.layer); side.pane.style.clip = ""; });
    map.off("move zoom resize", this.onMove);
    this.box.parentNode.removeChild(this.box);
    if (this.wardsWereOn) { map.addLayer(this.app.overlays[WARDS]); }
  };

  function init(app) {
    var time = new Time(app);
    time.build();
    time.load();
    GisdbI18n.onChange(function () { time.showLabel(); });
    app.time = time;
  }

  return { init: init, withQuery: withQuery };
})();
