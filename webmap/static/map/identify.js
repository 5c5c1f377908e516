/* Identify: a click on the map asks the server what is there in the visible layers
 * (GET /query/identify) and shows each feature's attributes with Vietnamese / English
 * labels, a link to its JSON (/collections/{layer}/items/{id}) and its outline. */
var GisdbIdentify = (function () {
  "use strict";
  var TOLERANCE_PX = 4;

  function metresPerPixel(map, latlng) {
    return 40075016.686 * Math.cos(latlng.lat * Math.PI / 180) / Math.pow(2, map.getZoom() + 8);
  }

  /* Quantities get digit grouping in the interface language; codes and numbers that
   * identify something (parcel no., sheet no., year) are shown as they are. */
  var QUANTITY = /(_m2|_m|_vnd|_kmh|_pct|population|budget)$/;

  function formatValue(name, value) {
    if (value === null || value === undefined || value === "") { return "—"; }
    if (typeof value === "number" && QUANTITY.test(name)) {
      return value.toLocaleString(GisdbI18n.lang() === "vi" ? "vi-VN" : "en-GB");
    }
    if (typeof value === "boolean") { return value ? "✓" : "✗"; }
    return String(value);
  }

  /* A coded value (`residential`, `issued`, `ODT`) as its bilingual label from the
   * map's config (layers/value_labels.py), or null when the value is not coded. */
  function codedLabel(app, layerId, attr) {
    var fields = (app.config.values || {})[layerId] || {};
    var labels = fields[attr.name];
    var pair = labels && attr.value !== null && attr.value !== undefined ? labels[String(attr.value)] : null;
    if (!pair) { return null; }
    var el = GisdbI18n.span(pair[0], pair[1]);
    el.className = "gisdb-coded";
    return el;
  }

  function featureBlock(app, feature) {
    var box = document.createElement("section");
    box.className = "gisdb-feature";
    box.setAttribute("data-layer", feature.layer);
    box.setAttribute("data-id", feature.id);
    var head = document.createElement("h4");
    head.appendChild(GisdbI18n.span(feature.layer_title_vi, feature.layer_title_en));
    head.appendChild(document.createTextNode(": "));
    var label = document.createElement("b");
    label.className = "gisdb-feature-label";
    label.textContent = feature.label;
    head.appendChild(label);
    box.appendChild(head);
    var table = document.createElement("table");
    (feature.attributes || []).forEach(function (attr) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-field", attr.name);
      var th = document.createElement("th");
      th.appendChild(GisdbI18n.span(attr.vi, attr.en));
      var td = document.createElement("td");
      var coded = codedLabel(app, feature.layer, attr);
      if (coded) { td.appendChild(coded); } else { td.textContent = formatValue(attr.name, attr.value); }
      tr.appendChild(th);
      tr.appendChild(td);
      table.appendChild(tr);
    });
    box.appendChild(table);
    var link = document.createElement("a");
    link.className = "gisdb-json-link";
    link.href = app.config.endpoints.items.replace("{layer}", encodeURIComponent(feature.layer))
      .replace("{id}", encodeURIComponent(feature.id)) + "?f=json";
    link.target = "_blank";
    link.rel = "noopener";
    link.setAttribute("data-i18n", "identify_json");
    link.textContent = GisdbI18n.t("identify_json");
    box.appendChild(link);
    (app.featureHooks || []).forEach(function (hook) { hook(box, feature); });
    return box;
  }

  function message(key, extra) {
    var p = document.createElement("p");
    p.className = "gisdb-identify-message";
    p.setAttribute("data-i18n", key);
    p.textContent = GisdbI18n.t(key) + (extra || "");
    return p;
  }

  function init(app) {
    var popup = L.popup({ maxWidth: 360, maxHeight: 320, className: "gisdb-identify" });
    var outline = L.layerGroup().addTo(app.map);
    var seq = 0;

    function identifyAt(latlng) {
      var layers = app.visibleVectorLayers();
      var content = document.createElement("div");
      content.className = "gisdb-identify-body";
      content.appendChild(message("loading"));
      popup.setLatLng(latlng).setContent(content).openOn(app.map);
      outline.clearLayers();
      if (!layers.length) {
        content.innerHTML = "";
        content.appendChild(message("identify_none"));
        return Promise.resolve({ features: [] });
      }
      var tolerance = Math.min(200, Math.max(1, TOLERANCE_PX * metresPerPixel(app.map, latlng)));
      var url = app.config.endpoints.identify + "?lon=" + latlng.lng.toFixed(7) + "&lat=" +
        latlng.lat.toFixed(7) + "&layers=" + encodeURIComponent(layers.join(",")) +
        "&tolerance=" + tolerance.toFixed(1) + (app.timeQuery ? app.timeQuery() : "");
      var mine = ++seq;
      return app.getJSON(url).then(function (body) {
        if (mine !== seq) { return body; }
        content.innerHTML = "";
        var features = body.features || [];
        if (!features.length) { content.appendChild(message("identify_none")); }
        features.forEach(function (f) {
          var block = content.appendChild(featureBlock(app, f));
          app.map.fire("gisdb:feature", { element: block, feature: f, latlng: latlng });
          if (f.bbox && f.geometry_type.indexOf("Point") < 0) {
            L.rectangle([[f.bbox[1], f.bbox[0]], [f.bbox[3], f.bbox[2]]],
              { color: "#00bcd4", weight: 2, fill: false, interactive: false }).addTo(outline);
          }
        });
        popup.update();
        return body;
      }).catch(function (err) {
        content.innerHTML = "";
        content.appendChild(message("identify_error", err.message));
        return { features: [], error: err.message };
      });
    }

    app.map.on("click", function (e) {
      if (app.toolActive) { return; }
      identifyAt(e.latlng);
    });
    app.map.on("popupclose", function (e) { if (e.popup === popup) { outline.clearLayers(); } });
    GisdbI18n.onChange(function () { GisdbI18n.apply(popup.getElement() || document.createElement("div")); });
    app.identify = identifyAt;
  }

  return { init: init };
})();
