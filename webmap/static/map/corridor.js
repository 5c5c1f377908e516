/* The corridor tool (road-widening impact): give a road (id or name) and its new width,
 * or draw a line (buffered by half the width on the server) or a corridor polygon; the
 * map asks /query/impact, outlines the corridor, highlights the parcels and buildings it
 * affects and lists them with the affected area and share, per ward and in total: the
 * site-clearance list planners prepare by hand. app.corridor.run({road, width} |
 * {geometry, width}) is what the panel and the tests call. */
var GisdbCorridor = (function () {
  "use strict";
  var LIST_MAX = 60;
  var DEFAULT_WIDTH_M = 30;
  var STYLE = { corridor: { color: "#6a1b9a", weight: 2, dashArray: "6 4", fillOpacity: 0.08 },
    parcels: { color: "#b71c1c", weight: 1.5, fillColor: "#ef5350", fillOpacity: 0.35 },
    buildings: { color: "#4a148c", weight: 1.5, fillColor: "#ab47bc", fillOpacity: 0.6 } };

  var el = GisdbPlanningDom.el;

  var fmt = GisdbPlanningDom.fmt;

  function Corridor(app) {
    this.app = app;
    this.group = L.featureGroup().addTo(app.map);
    this.result = null;
  }

  /* The request of an analysis: GET by road and width, POST of a drawn geometry (a line
   * with its width in the query). */
  Corridor.prototype.request = function (spec) {
    var url = this.app.config.planning.endpoints.impact;
    if (spec.road !== undefined) {
      return this.app.getJSON(url + "?road=" + encodeURIComponent(spec.road) +
        "&width=" + encodeURIComponent(spec.width));
    }
    var line = /LineString$/.test(spec.geometry.type);
    return this.app.getJSON(line ? url + "?width=" + encodeURIComponent(spec.width) : url,
      { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify(spec.geometry) });
  };

  Corridor.prototype.run = function (spec) {
    var self = this;
    this.status(GisdbI18n.t("loading"));
    return this.request(spec).then(function (result) {
      self.result = result;
      self.draw(result);
      self.list(result);
      return result;
    }).catch(function (err) {
      self.status(GisdbI18n.t("corridor_error") + err.message);
      return { error: err.message };
    });
  };

  Corridor.prototype.draw = function (result) {
    this.group.clearLayers();
    L.geoJSON(result.corridor, { style: STYLE.corridor, interactive: false }).addTo(this.group);
    var hits = L.geoJSON(result.features, {
      style: function (f) { return STYLE[f.properties.layer] || STYLE.parcels; },
      onEachFeature: function (f, layer) {
        layer.options.gisdbImpact = f.properties.layer + "." + f.properties.id;
      }
    }).addTo(this.group);
    this.highlighted = hits.getLayers().length;
    if (this.group.getBounds().isValid()) { this.app.map.fitBounds(this.group.getBounds(), { maxZoom: 18 }); }
  };

  Corridor.prototype.status = function (text) {
    this.out.innerHTML = "";
    this.out.textContent = text;
  };

  Corridor.prototype.list = function (result) {
    var out = this.out, totals = result.totals || {};
    out.parentNode.hidden = false;          // a drawn corridor's answer opens the panel
    out.innerHTML = "";
    [["parcels", "corridor_parcels"], ["buildings", "corridor_buildings"]].forEach(function (k) {
      var t = totals[k[0]] || {};
      var line = el("div", "gisdb-corridor-total", out);
      line.setAttribute("data-layer", k[0]);
      line.setAttribute("data-count", t.count || 0);
      line.textContent = GisdbI18n.t(k[1]) + ": " + fmt(t.count) + " · " + fmt(t.affected_m2, 1) + " m²";
    });
    var wards = el("table", "gisdb-corridor-wards", out);
    (result.wards || []).forEach(function (w) {
      var tr = el("tr", "", wards);
      tr.setAttribute("data-ward", w.ward_code || "");
      el("td", "", tr).textContent = w.ward_name || w.ward_code || "—";
      el("td", "", tr).textContent = fmt((w.parcels || {}).count) + " / " + fmt((w.buildings || {}).count);
    });
    var table = el("table", "gisdb-draw-table gisdb-corridor-list", out);
    var head = el("tr", "", table);
    ["corridor_ward", "corridor_owner", "corridor_affected", "corridor_share"].forEach(function (k) {
      el("th", "", head).textContent = GisdbI18n.t(k);
    });
    var features = (result.features || {}).features || [];
    features.slice(0, LIST_MAX).forEach(function (f) {
      var p = f.properties, tr = el("tr", "", table);
      tr.setAttribute("data-feature", p.layer + "." + p.id);
      el("td", "", tr).textContent = (p.code || p.name || p.id) + " (" + (p.ward_name || p.ward_code || "") + ")";
      el("td", "", tr).textContent = p.owner_type || "";
      el("td", "gisdb-count", tr).textContent = fmt(p.affected_m2, 1) + " m²";
      el("td", "gisdb-count", tr).textContent = fmt(p.share * 100, 1) + " %";
    });
    if (features.length > LIST_MAX) {
      el("div", "", out).textContent = GisdbI18n.t("corridor_more", { n: features.length - LIST_MAX });
    }
  };

  /* The width asked for (metres; the panel's default until it is opened). */
  Corridor.prototype.widthM = function () {
    return this.width ? Number(this.width.value) : DEFAULT_WIDTH_M;
  };

  Corridor.prototype.clear = function () {
    this.group.clearLayers();
    this.out.innerHTML = "";
    this.result = null;
  };

  /* Draw with leaflet-draw's own handlers; the draw-to-count panel leaves the shape alone
   * (app.drawClaimed) and the corridor is asked for instead. */
  Corridor.prototype.drawShape = function (kind) {
    var app = this.app, self = this;
    var Handler = kind === "line" ? L.Draw.Polyline : L.Draw.Polygon;
    var handler = new Handler(app.map, { shapeOptions: STYLE.corridor });
    app.drawClaimed = true;
    app.map.once("draw:created", function (e) {
      setTimeout(function () { app.drawClaimed = false; }, 0);
      self.run({ geometry: e.layer.toGeoJSON().geometry, width: self.widthM() });
    });
    app.map.once("draw:drawstop", function () { setTimeout(function () { app.drawClaimed = false; }, 0); });
    handler.enable();
    return handler;
  };

  function buildPanel(corridor) {
    var panel = el("div", "gisdb-corridor-panel");
    panel.id = "gisdb-corridor-panel";
    var head = el("h4", "", panel);
    head.setAttribute("data-i18n", "corridor_title");
    function field(key, name, size) {
      var label = el("label", "gisdb-style-row", panel);
      el("span", "", label).setAttribute("data-i18n", key);
      var input = el("input", "", label);
      input.name = name;
      input.size = size;
      return input;
    }
    corridor.road = field("corridor_road", "road", 18);
    corridor.width = field("corridor_width", "width", 5);
    corridor.width.value = String(DEFAULT_WIDTH_M);
    var buttons = el("div", "gisdb-style-buttons", panel);
    [["run", "corridor_run", function () {
      corridor.run({ road: corridor.road.value, width: corridor.widthM() });
    }], ["line", "corridor_line", function () { corridor.drawShape("line"); }],
    ["polygon", "corridor_polygon", function () { corridor.drawShape("polygon"); }],
    ["clear", "corridor_clear", function () { corridor.clear(); }]].forEach(function (b) {
      var button = el("button", "", buttons);
      button.type = "button";
      button.name = b[0];
      button.setAttribute("data-i18n", b[1]);
      L.DomEvent.on(button, "click", b[2]);
    });
    corridor.out = el("div", "gisdb-corridor-out", panel);
    return panel;
  }

  function init(app) {
    if (!app.config.planning.endpoints.impact) { return; }
    var corridor = new Corridor(app);
    GisdbPlanningDom.panelControl(app, { position: "topleft", cls: "gisdb-corridor",
      id: "gisdb-corridor-button", label: "corridor_button", title: "corridor_title", eager: true,
      build: function () { return buildPanel(corridor); } });
    GisdbI18n.onChange(function () { if (corridor.result) { corridor.list(corridor.result); } });
    app.corridor = corridor;
  }

  return { init: init };
})();
