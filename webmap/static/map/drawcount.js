/* Draw-to-count, the planning part: the panel of drawquery.js asks /query/within for
 * each layer's breakdown by category (land use, building use, road class) and for the
 * part of each ward inside the drawn shape (EPSG:5899 m², not the whole ward); this
 * module shows them under the counts and offers the features inside as CSV or XLSX
 * (POST /query/within?f=csv|xlsx with the same shape, built on the server). */
var GisdbDrawCount = (function () {
  "use strict";
  var BREAKDOWN_SHOWN = 6;

  var el = GisdbPlanningDom.el;

  var fmt = GisdbPlanningDom.fmt;

  /* The words of a coded value (value_labels), or the value itself. */
  function valueWords(app, layerId, field, value) {
    var labels = ((app.config.values || {})[layerId] || {})[field] || {};
    var words = labels[value];
    if (value === null || value === undefined) { return GisdbI18n.t("draw_other"); }
    return words ? (GisdbI18n.lang() === "vi" ? words[0] : words[1]) : String(value);
  }

  function breakdownRow(app, row, table) {
    var tr = table.querySelector('tr[data-layer="' + row.layer + '"]');
    if (!tr || !row.breakdown || !row.breakdown.length) { return; }
    var extra = document.createElement("tr");
    extra.className = "gisdb-draw-breakdown-row";
    extra.setAttribute("data-breakdown", row.layer);
    var td = el("td", "gisdb-draw-breakdown", extra);
    td.colSpan = 3;
    row.breakdown.slice(0, BREAKDOWN_SHOWN).forEach(function (b) {
      var item = el("span", "", td);
      item.setAttribute("data-value", b.value === null ? "" : b.value);
      item.setAttribute("data-count", b.count);
      item.textContent = valueWords(app, row.layer, row.breakdown_field, b.value) + ": " + fmt(b.count);
    });
    var rest = row.breakdown.slice(BREAKDOWN_SHOWN).reduce(function (s, b) { return s + b.count; }, 0);
    if (rest) { el("span", "", td).textContent = "… +" + fmt(rest); }
    tr.parentNode.insertBefore(extra, tr.nextSibling);
  }

  /* The wards' parts as rows of a grid (not a table: the panel holds one table, the
   * counts). */
  function wardTable(wards, panel, before) {
    var head = el("h4", "");
    head.setAttribute("data-i18n", "draw_wards");
    head.textContent = GisdbI18n.t("draw_wards");
    var box = el("div", "gisdb-draw-wards");
    box.id = "gisdb-draw-wards";
    var titles = el("div", "gisdb-draw-ward gisdb-draw-ward-head", box);
    ["", "draw_ward_part", "draw_ward_share"].forEach(function (key) {
      var cell = el("span", "", titles);
      if (key) { cell.setAttribute("data-i18n", key); cell.textContent = GisdbI18n.t(key); }
    });
    wards.forEach(function (w) {
      var row = el("div", "gisdb-draw-ward", box);
      row.setAttribute("data-ward", w.code);
      row.setAttribute("data-inside", w.inside_m2);
      el("span", "", row).textContent = w.name;
      el("span", "", row).textContent = w.inside_m2 >= 10000 ? fmt(w.inside_m2 / 10000, 2) + " ha"
        : fmt(w.inside_m2) + " m²";
      el("span", "", row).textContent = fmt(w.share * 100, 1) + " %";
    });
    panel.insertBefore(head, before);
    panel.insertBefore(box, before);
  }

  /* POST the drawn shape to /query/within?f=csv|xlsx and save the answer as a file. */
  function download(app, format) {
    var body = app.lastWithinBody;
    if (!body) { return Promise.resolve(null); }
    var url = app.config.planning.endpoints.within + "?f=" + format;
    return fetch(url, { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body) }).then(function (resp) {
      if (!resp.ok) { throw new Error("HTTP " + resp.status); }
      return resp.blob();
    }).then(function (blob) {
      var a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = "within." + format;
      document.body.appendChild(a);
      a.click();
      setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
      return format;
    }).catch(function (err) {
      app.notify(GisdbI18n.t("draw_error") + err.message);
      return null;
    });
  }

  function exportButtons(app, panel, before) {
    var box = el("div", "gisdb-draw-exports");
    [["csv", "draw_export_csv"], ["xlsx", "draw_export_xlsx"]].forEach(function (f) {
      var b = el("button", "", box);
      b.type = "button";
      b.name = "export-" + f[0];
      b.textContent = GisdbI18n.t(f[1]);
      L.DomEvent.on(b, "click", function () { download(app, f[0]); });
    });
    panel.insertBefore(box, before);
  }

  function init(app) {
    app.withinOptions = { breakdown: true, wards: true };
    app.map.on("gisdb:within", function (e) {
      var result = e.result, panel = e.panel;
      var table = panel.querySelector(".gisdb-draw-table");
      if (!table || !Array.isArray(result.layers)) { return; }
      result.layers.forEach(function (row) { breakdownRow(app, row, table); });
      var clear = panel.querySelector(".gisdb-draw-clear");
      if (result.wards && result.wards.length) { wardTable(result.wards, panel, clear); }
      if (app.lastWithinBody) { exportButtons(app, panel, clear); }
    });
    app.drawCount = { download: download };
  }

  return { init: init };
})();
