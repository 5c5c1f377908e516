/* A "History" tab in each feature of the identify popup: the feature's versions, newest
 * first (GET /collections/{layer}/items/{id}/history): when, what happened, who and
 * from where (API, command line, import, SQL), and each changed field as old -> new.
 * Loaded only when the tab is opened. */
var GisdbHistoryPopup = (function () {
  "use strict";
  var MAX_VALUE = 60;

  GisdbI18n.add({
    vi: {
      history_tab_attributes: "Thuộc tính",
      history_tab: "Lịch sử",
      history_none: "Không có lịch sử",
      history_error: "Không tải được lịch sử: ",
      history_op_I: "Tạo mới",
      history_op_U: "Sửa",
      history_op_D: "Xoá",
      history_by: "bởi",
      history_source_api: "API",
      history_source_cli: "dòng lệnh",
      history_source_import: "nhập tệp",
      history_source_sql: "SQL trực tiếp",
      history_source_baseline: "dữ liệu ban đầu",
      history_geometry: "hình học đã thay đổi",
      history_no_fields: "không đổi thuộc tính"
    },
    en: {
      history_tab_attributes: "Attributes",
      history_tab: "History",
      history_none: "No history",
      history_error: "Could not load the history: ",
      history_op_I: "Created",
      history_op_U: "Edited",
      history_op_D: "Deleted",
      history_by: "by",
      history_source_api: "API",
      history_source_cli: "command line",
      history_source_import: "import",
      history_source_sql: "direct SQL",
      history_source_baseline: "initial data",
      history_geometry: "geometry changed",
      history_no_fields: "no attribute changed"
    }
  });

  function node(tag, cls, key, text) {
    var el = document.createElement(tag);
    if (cls) { el.className = cls; }
    if (key) { el.setAttribute("data-i18n", key); el.textContent = GisdbI18n.t(key); }
    if (text !== undefined) { el.textContent = text; }
    return el;
  }

  function short(value) {
    if (value === null || value === undefined || value === "") { return "—"; }
    var text = typeof value === "object" ? JSON.stringify(value) : String(value);
    return text.length > MAX_VALUE ? text.slice(0, MAX_VALUE - 1) + "…" : text;
  }

  function fieldLabel(app, layerId, name) {
    var layer = app.layersById[layerId];
    var field = layer && layer.fields.filter(function (f) { return f.name === name; })[0];
    return field ? GisdbI18n.span(field.vi, field.en) : document.createTextNode(name);
  }

  function versionItem(app, layerId, v) {
    var li = node("li", "gisdb-history-version");
    li.setAttribute("data-op", v.op);
    var head = node("div", "gisdb-history-head");
    head.appendChild(node("b", "", "history_op_" + v.op));
    head.appendChild(document.createTextNode(" · " + new Date(v.from).toLocaleString(
      GisdbI18n.lang() === "vi" ? "vi-VN" : "en-GB") + " · "));
    head.appendChild(node("span", "", "history_by"));
    head.appendChild(document.createTextNode(" " + (v.actor || "?") + " ("));
    var source = "history_source_" + (v.source || "sql");
    head.appendChild(GisdbI18n.t(source) === source ? document.createTextNode(v.source) : node("span", "", source));
    head.appendChild(document.createTextNode(")"));
    li.appendChild(head);
    if (v.comment) { li.appendChild(node("div", "gisdb-history-comment", null, v.comment)); }
    var changes = v.changes || {};
    var names = Object.keys(changes);
    if (v.op === "U" && !names.length) { li.appendChild(node("div", "gisdb-history-same", "history_no_fields")); }
    var table = node("table", "gisdb-history-changes");
    names.forEach(function (name) {
      var tr = node("tr");
      tr.setAttribute("data-field", name);
      var th = node("th");
      th.appendChild(fieldLabel(app, layerId, name));
      var td = node("td");
      var pair = Array.isArray(changes[name]) ? changes[name] : [null, changes[name]];
      if (name === "geom" || name === "geometry") {
        td.appendChild(node("span", "", "history_geometry"));
      } else {
        td.textContent = (v.op === "I" ? "" : short(pair[0]) + " → ") + short(pair[1]);
      }
      tr.appendChild(th);
      tr.appendChild(td);
      table.appendChild(tr);
    });
    if (names.length) { li.appendChild(table); }
    return li;
  }

  function load(app, feature, pane) {
    var url = app.config.endpoints.history.replace("{layer}", encodeURIComponent(feature.layer))
      .replace("{id}", encodeURIComponent(feature.id)) + "?limit=50";
    pane.innerHTML = "";
    pane.appendChild(node("p", "gisdb-identify-message", "loading"));
    return app.getJSON(url).then(function (doc) {
      pane.innerHTML = "";
      var versions = doc.versions || [];
      if (!versions.length) { pane.appendChild(node("p", "gisdb-identify-message", "history_none")); }
      var list = node("ol", "gisdb-history");
      versions.forEach(function (v) { list.appendChild(versionItem(app, feature.layer, v)); });
      pane.appendChild(list);
    }).catch(function (err) {
      pane.innerHTML = "";
      var p = node("p", "gisdb-identify-message", "history_error");
      p.textContent += err.message;
      pane.appendChild(p);
    });
  }

  /* Put the feature's attributes under one tab and its history under another. */
  function decorate(app, box, feature) {
    var table = box.querySelector("table");
    if (!table || !app.config.endpoints.history) { return; }
    var tabs = node("div", "gisdb-tabs");
    var attrs = node("button", "gisdb-tab gisdb-tab-on", "history_tab_attributes");
    var hist = node("button", "gisdb-tab gisdb-history-tab", "history_tab");
    attrs.type = hist.type = "button";
    tabs.appendChild(attrs);
    tabs.appendChild(hist);
    var pane = node("div", "gisdb-history-pane");
    pane.style.display = "none";
    box.insertBefore(tabs, table);
    box.insertBefore(pane, table.nextSibling);
    var loaded = false;
    function show(history) {
      table.style.display = history ? "none" : "";
      pane.style.display = history ? "" : "none";
      attrs.classList.toggle("gisdb-tab-on", !history);
      hist.classList.toggle("gisdb-tab-on", history);
      if (history && !loaded) { loaded = true; load(app, feature, pane); }
    }
    L.DomEvent.on(attrs, "click", function (e) { L.DomEvent.stop(e); show(false); });
    L.DomEvent.on(hist, "click", function (e) { L.DomEvent.stop(e); show(true); });
  }

  function init(app) {
    app.featureHooks = app.featureHooks || [];
    app.featureHooks.push(function (box, feature) { decorate(app, box, feature); });
  }

  return { init: init };
})();
