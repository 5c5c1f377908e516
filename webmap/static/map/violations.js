/* Planning violations on the map: when the `violations` layer is on, a panel lists the
 * rules of the catalogue with their severity colour (the overlay's own legend) and a box
 * per rule; unticking rules filters the overlay's tiles (rule_id IN (...), through
 * app.layerStyle). The identify popup of a building gains a line saying, in plain
 * words, whether it complies (GET /collections/buildings/items/{id}/compliance). */
var GisdbViolations = (function () {
  "use strict";
  var LAYER = "violations";
  var COMPLIANCE_LAYERS = ["buildings"];
  var APPLY_DELAY_MS = 400;

  var el = GisdbPlanningDom.el;

  function severityColour(app, severity) {
    var style = app.layersById[LAYER].style;
    var hit = (style.categories || []).filter(function (c) { return c[0] === severity; })[0];
    return hit ? hit[1] : style.fill || style.stroke;
  }

  /* CQL2 of the ticked rules ("" when every rule is ticked: no filter). */
  function ruleFilter(all, ticked) {
    if (ticked.length === all.length) { return ""; }
    if (!ticked.length) { return "rule_id = ''"; }
    return "rule_id IN (" + ticked.map(function (id) { return "'" + id.replace(/'/g, "''") + "'"; }).join(", ") + ")";
  }

  function Panel(app, rules) {
    this.app = app;
    this.rules = rules;
    var self = this;
    var Control = L.Control.extend({
      options: { position: "bottomright" },
      onAdd: function () {
        var div = L.DomUtil.create("div", "gisdb-violations-filter leaflet-bar");
        div.id = "gisdb-violations";
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        return div;
      }
    });
    this.div = new Control().addTo(app.map).getContainer();
    this.render();
    // ticking several boxes in a row redraws the overlay once (each redraw asks every tile)
    this.div.addEventListener("change", function () {
      clearTimeout(self.timer);
      self.timer = setTimeout(function () { self.apply(); }, APPLY_DELAY_MS);
    });
  }

  Panel.prototype.render = function () {
    var app = this.app, div = this.div;
    div.innerHTML = "";
    var head = el("h4", "", div);
    head.setAttribute("data-i18n", "violations_title");
    head.textContent = GisdbI18n.t("violations_title");
    this.rules.forEach(function (rule) {
      var label = el("label", "gisdb-violation-rule", div);
      label.setAttribute("data-rule", rule.id);
      label.title = GisdbI18n.lang() === "vi" ? rule.explanation_vi : rule.explanation_en;
      var box = el("input", "", label);
      box.type = "checkbox";
      box.checked = true;
      box.value = rule.id;
      var swatch = el("span", "gisdb-swatch", label);
      swatch.style.background = severityColour(app, rule.severity);
      label.appendChild(GisdbI18n.span(rule.title_vi, rule.title_en));
    });
    this.show();
  };

  Panel.prototype.ticked = function () {
    return Array.from(this.div.querySelectorAll("input:checked")).map(function (b) { return b.value; });
  };

  Panel.prototype.apply = function () {
    var ids = this.rules.map(function (r) { return r.id; });
    var filter = ruleFilter(ids, this.ticked());
    if (this.app.layerStyle) { this.app.layerStyle.set(LAYER, { filter: filter }); }
    return filter;
  };

  /* Only when the overlay is on. */
  Panel.prototype.show = function () {
    var overlay = this.app.overlays[LAYER];
    this.div.style.display = overlay && this.app.map.hasLayer(overlay) ? "block" : "none";
  };

  function complianceLine(app, element, feature) {
    var url = app.config.planning.endpoints.compliance.replace("{layer}", feature.layer)
      .replace("{id}", encodeURIComponent(feature.id));
    return app.getJSON(url).then(function (verdict) {
      var box = document.createElement("div");
      box.className = "gisdb-compliance " + (verdict.complies ? "gisdb-compliance-ok" : "gisdb-compliance-bad");
      box.setAttribute("data-complies", String(verdict.complies));
      if (verdict.complies) {
        box.appendChild(GisdbI18n.span("Phù hợp quy hoạch và giấy phép", "Complies with the plan and the permit"));
      } else {
        box.appendChild(GisdbI18n.span("Không phù hợp: ", "Does not comply: "));
        verdict.findings.forEach(function (f, i) {
          if (i) { box.appendChild(document.createTextNode("; ")); }
          var s = GisdbI18n.span(f.text_vi, f.text_en);
          s.setAttribute("data-rule", f.rule_id);
          box.appendChild(s);
        });
      }
      var title = element.querySelector("h4");
      element.insertBefore(box, title ? title.nextSibling : element.firstChild);
      return verdict;
    }).catch(function () { return null; });     // no verdict (no rules for it): no line
  }

  function init(app) {
    if (COMPLIANCE_LAYERS.length && app.config.planning.endpoints.compliance) {
      app.map.on("gisdb:feature", function (e) {
        if (COMPLIANCE_LAYERS.indexOf(e.feature.layer) >= 0) { complianceLine(app, e.element, e.feature); }
      });
    }
    var rules = app.config.planning.rules || [];
    if (!app.layersById[LAYER] || !rules.length) { return; }
    var panel = new Panel(app, rules);
    app.map.on("overlayadd overlayremove layeradd layerremove", function () { panel.show(); });
    GisdbI18n.onChange(function () {
      var ticked = panel.ticked();
      panel.render();
      panel.div.querySelectorAll("input").forEach(function (b) { b.checked = ticked.indexOf(b.value) >= 0; });
    });
    app.violations = panel;
  }

  return { init: init, ruleFilter: ruleFilter };
})();
