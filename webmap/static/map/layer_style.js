/* Layer display: per layer, a thematic colouring (the registry's themes, e.g. buildings
 * by floors, parcels by land use or owner type), an attribute filter built from simple
 * controls (attribute, operator, value -> CQL2 text) and a transparency slider.
 * Theme and filter travel to the PNG tiles as ?theme= and ?filter= (the tile URL of
 * each overlay is extended, so the time control's as_of and the edit tools' ?v= still
 * apply); the legend follows the theme. app.layerStyle.set(id, {theme, filter,
 * opacity}) is what the controls and the tests call. */
var GisdbLayerStyle = (function () {
  "use strict";
  var OPS = { number: ["=", "<>", ">", ">=", "<", "<="], date: ["=", ">", ">=", "<", "<="],
    text: ["=", "<>", "LIKE"], boolean: ["="] };

  var el = GisdbPlanningDom.el;

  function option(select, value, vi, en) {
    var o = el("option", "", select);
    o.value = value;
    o.setAttribute("data-vi", vi);
    o.setAttribute("data-en", en);
    o.textContent = GisdbI18n.lang() === "vi" ? vi : en;
    return o;
  }

  /* A CQL2 text comparison of a field with a value typed by the field's kind. */
  function cql2(field, op, raw) {
    var value = String(raw).trim();
    if (field.kind === "number") {
      if (!/^-?\d+(\.\d+)?$/.test(value)) { throw new Error(value || "?"); }
      return field.name + " " + op + " " + value;
    }
    if (field.kind === "boolean") {
      return field.name + " = " + (/^(true|1|yes|có|co)$/i.test(value) ? "true" : "false");
    }
    var quoted = "'" + (op === "LIKE" ? "%" + value + "%" : value).replace(/'/g, "''") + "'";
    if (field.kind === "date") { return field.name + " " + op + " DATE(" + quoted + ")"; }
    return field.name + " " + op + " " + quoted;
  }

  var addQuery = GisdbTime.withQuery;

  function Styler(app) {
    this.app = app;
    this.state = {};
    this.original = {};
    var self = this;
    Object.keys(app.layersById).forEach(function (id) {
      var overlay = app.overlays[id];
      self.original[id] = app.layersById[id];
      if (!overlay || !overlay.getTileUrl) { return; }
      var tileUrl = overlay.getTileUrl;
      overlay.getTileUrl = function (coords) {
        var s = self.state[id] || {};
        return addQuery(tileUrl.call(this, coords), { theme: s.theme, filter: s.filter });
      };
    });
  }

  Styler.prototype.themes = function (id) {
    return (this.app.config.planning.themes || {})[id] || [];
  };

  /* Change a layer's theme, filter and/or opacity (keys left out stay as they are). */
  Styler.prototype.set = function (id, change) {
    var s = this.state[id] = this.state[id] || { theme: "", filter: "", opacity: 1 };
    var redraw = false;
    if (change.theme !== undefined && change.theme !== s.theme) { s.theme = change.theme || ""; redraw = true; }
    if (change.filter !== undefined && change.filter !== s.filter) { s.filter = change.filter || ""; redraw = true; }
    var overlay = this.app.overlays[id];
    if (change.opacity !== undefined) {
      s.opacity = Math.max(0, Math.min(1, Number(change.opacity)));
      if (overlay) { overlay.setOpacity(s.opacity); }
    }
    this.applyLegend(id, s.theme);
    if (redraw && overlay) { overlay.redraw(); }
    this.app.map.fire("gisdb:style", { layer: id });
    return s;
  };

  /* The legend shows the chosen theme's classes instead of the layer's own categories. */
  Styler.prototype.applyLegend = function (id, themeId) {
    var base = this.original[id];
    var theme = this.themes(id).filter(function (t) { return t.id === themeId; })[0];
    if (!theme) {
      this.app.layersById[id] = base;
    } else {
      var style = Object.assign({}, base.style, { category_field: theme.id, categories: theme.classes });
      this.app.layersById[id] = Object.assign({}, base, { style: style });
    }
    if (this.app.legend) { this.app.legend.render(); }
  };

  Styler.prototype.stateOf = function (id) {
    return this.state[id] || { theme: "", filter: "", opacity: 1 };
  };

  function buildPanel(app, styler) {
    var panel = el("div", "gisdb-style-panel");
    panel.id = "gisdb-style-panel";
    var head = el("h4", "", panel);
    head.setAttribute("data-i18n", "style_title");
    function row(key) {
      var label = el("label", "gisdb-style-row", panel);
      var text = el("span", "", label);
      text.setAttribute("data-i18n", key);
      return label;
    }
    var layerSel = el("select", "", row("style_layer"));
    layerSel.name = "layer";
    app.config.layers.forEach(function (l) { option(layerSel, l.id, l.title_vi, l.title_en); });
    var themeSel = el("select", "", row("style_theme"));
    themeSel.name = "theme";
    var opacity = el("input", "", row("style_opacity"));
    opacity.type = "range"; opacity.min = "0"; opacity.max = "100"; opacity.name = "transparency";
    var filterRow = row("style_filter");
    var fieldSel = el("select", "", filterRow);
    fieldSel.name = "field";
    var opSel = el("select", "", filterRow);
    opSel.name = "op";
    var value = el("input", "", filterRow);
    value.name = "value"; value.size = 10;
    var buttons = el("div", "gisdb-style-buttons", panel);
    var apply = el("button", "", buttons);
    apply.type = "button"; apply.name = "apply"; apply.setAttribute("data-i18n", "style_apply");
    var clear = el("button", "", buttons);
    clear.type = "button"; clear.name = "clear"; clear.setAttribute("data-i18n", "style_clear");
    var status = el("div", "gisdb-style-status", panel);

    function fields() { return (app.config.planning.filters || {})[layerSel.value] || []; }

    function fillOps() {
      var f = fields().filter(function (x) { return x.name === fieldSel.value; })[0];
      opSel.innerHTML = "";
      (OPS[f ? f.kind : "text"]).forEach(function (op) { el("option", "", opSel).textContent = op; });
    }

    function show() {
      var id = layerSel.value, s = styler.stateOf(id);
      themeSel.innerHTML = "";
      option(themeSel, "", "Mặc định", "Default");
      styler.themes(id).forEach(function (t) { option(themeSel, t.id, t.title_vi, t.title_en); });
      themeSel.value = s.theme;
      opacity.value = String(Math.round((1 - s.opacity) * 100));
      fieldSel.innerHTML = "";
      fields().forEach(function (f) { option(fieldSel, f.name, f.vi, f.en); });
      fillOps();
      status.textContent = s.filter;
    }

    function applyFilter() {
      var id = layerSel.value;
      var field = fields().filter(function (x) { return x.name === fieldSel.value; })[0];
      var text;
      try { text = cql2(field, opSel.value, value.value); } catch (e) {
        status.textContent = GisdbI18n.t("style_filter_error") + e.message;
        return Promise.resolve(null);
      }
      var url = "/collections/" + id + "/items?limit=1&filter=" + encodeURIComponent(text);
      return app.getJSON(url).then(function (body) {
        styler.set(id, { filter: text });
        status.textContent = text + (body.numberMatched !== undefined ? " (" + body.numberMatched + ")" : "");
        return text;
      }).catch(function (err) {
        status.textContent = GisdbI18n.t("style_filter_error") + err.message;
        return null;
      });
    }

    layerSel.addEventListener("change", show);
    fieldSel.addEventListener("change", fillOps);
    themeSel.addEventListener("change", function () { styler.set(layerSel.value, { theme: themeSel.value }); });
    opacity.addEventListener("input", function () {
      styler.set(layerSel.value, { opacity: 1 - Number(opacity.value) / 100 });
    });
    apply.addEventListener("click", applyFilter);
    clear.addEventListener("click", function () {
      styler.set(layerSel.value, { filter: "" });
      status.textContent = "";
    });
    var visible = app.visibleVectorLayers();
    if (visible.length) { layerSel.value = visible[visible.length - 1]; }
    show();
    return { element: panel, show: show, applyFilter: applyFilter };
  }

  function init(app) {
    var styler = new Styler(app);
    var built = null;
    GisdbPlanningDom.panelControl(app, { position: "topright", cls: "gisdb-style",
      id: "gisdb-toggle-style", label: "style_title",
      build: function () { built = buildPanel(app, styler); return built.element; } });
    app.layerStyle = styler;
    styler.cql2 = cql2;
  }

  return { init: init, cql2: cql2 };
})();
