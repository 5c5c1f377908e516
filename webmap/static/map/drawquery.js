/* Draw to query: a polygon, rectangle, line or circle drawn with leaflet-draw is sent to
 * POST /query/within; a panel lists per visible layer the count of features inside and
 * the measure that matters to planners (parcel area, building floor area, road length).
 * Tests and other code call app.drawQuery.run(layer, type): the same path as a drawing. */
var GisdbDraw = (function () {
  "use strict";

  var LINE_CORRIDOR_M = 10;
  var MEASURES = [
    ["area_m2", "draw_area", " m²"],
    ["floor_area_m2", "draw_floor", " m²"],
    ["length_inside_m", "draw_length", " m"]
  ];

  /* POST /query/within body of a drawn area: GeoJSON polygon, or a circle's centre and
   * radius (the server measures it exactly on the spheroid). */
  function withinBody(layer, type, layers) {
    if (type === "circle") {
      var c = layer.getLatLng();
      return { circle: { lon: c.lng, lat: c.lat, radius: layer.getRadius() }, layers: layers };
    }
    return { geometry: layer.toGeoJSON().geometry, layers: layers };
  }

  function fmt(value, unit) {
    var lang = GisdbI18n.lang() === "vi" ? "vi-VN" : "en-GB";
    return Number(value).toLocaleString(lang, { maximumFractionDigits: 1 }) + (unit || "");
  }

  function summaryRows(result) {
    if (Array.isArray(result.layers)) { return result.layers; }
    if (result.layers && typeof result.layers === "object") {
      return Object.keys(result.layers).map(function (id) {
        var row = result.layers[id];
        row.layer = row.layer || id;
        return row;
      });
    }
    return result.summary || result.results || [];
  }

  /* Tool tips of leaflet-draw's buttons in the interface language. */
  function translateToolbar(container) {
    ["polyline", "polygon", "rectangle", "circle"].forEach(function (kind) {
      container.querySelectorAll(".leaflet-draw-draw-" + kind).forEach(function (a) {
        a.title = GisdbI18n.t("tool_" + kind);
      });
    });
    container.querySelectorAll(".leaflet-draw-edit-remove").forEach(function (a) {
      a.title = GisdbI18n.t("tool_remove");
    });
  }

  function init(app) {
    var drawn = L.featureGroup().addTo(app.map);
    var Panel = L.Control.extend({
      options: { position: "topleft" },
      onAdd: function () {
        var div = L.DomUtil.create("div", "gisdb-draw-panel leaflet-bar");
        div.id = "gisdb-draw-panel";
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        return div;
      }
    });
    var panel = new Panel().addTo(app.map).getContainer();
    panel.style.display = "none";

    function clear() {
      drawn.clearLayers();
      panel.innerHTML = "";
      panel.style.display = "none";
    }

    function render(result) {
      panel.innerHTML = "";
      panel.style.display = "block";
      var title = document.createElement("h4");
      title.setAttribute("data-i18n", "draw_title");
      title.textContent = GisdbI18n.t("draw_title");
      panel.appendChild(title);
      var table = document.createElement("table");
      table.className = "gisdb-draw-table";
      var head = document.createElement("tr");
      ["draw_layer", "draw_count", "draw_measure"].forEach(function (key) {
        var th = document.createElement("th");
        th.setAttribute("data-i18n", key);
        th.textContent = GisdbI18n.t(key);
        head.appendChild(th);
      });
      table.appendChild(head);
      summaryRows(result).forEach(function (row) {
        var def = app.layersById[row.layer] || { title_vi: row.layer, title_en: row.layer };
        var tr = document.createElement("tr");
        tr.setAttribute("data-layer", row.layer);
        var name = document.createElement("td");
        name.appendChild(GisdbI18n.span(def.title_vi, def.title_en));
        var count = document.createElement("td");
        count.className = "gisdb-count";
        count.setAttribute("data-count", row.count);
        count.textContent = fmt(row.count);
        var measure = document.createElement("td");
        MEASURES.forEach(function (m) {
          if (row[m[0]] !== undefined && row[m[0]] !== null) {
            var line = document.createElement("div");
            line.setAttribute("data-measure", m[0]);
            line.textContent = GisdbI18n.t(m[1]) + ": " + fmt(row[m[0]], m[2]);
            measure.appendChild(line);
          }
        });
        tr.appendChild(name);
        tr.appendChild(count);
        tr.appendChild(measure);
        table.appendChild(tr);
      });
      panel.appendChild(table);
      var button = document.createElement("button");
      button.type = "button";
      button.className = "gisdb-draw-clear";
      button.setAttribute("data-i18n", "draw_clear");
      button.textContent = GisdbI18n.t("draw_clear");
      L.DomEvent.on(button, "click", clear);
      panel.appendChild(button);
      app.map.fire("gisdb:within", { result: result, panel: panel });
    }

    function postJSON(url, body) {
      return app.getJSON(url, {
        method: "POST",
        headers: { "Content-Type": "application/json", "Accept": "application/json" },
        body: JSON.stringify(body)
      });
    }

    /* A line has no inside: count what lies within a narrow corridor along it, one
     * POST /query/near per layer (numberMatched only, no features sent back). */
    function alongLine(layer, layers) {
      var geometry = layer.toGeoJSON().geometry;
      return Promise.all(layers.map(function (id) {
        return postJSON(app.config.endpoints.near, { layer: id, geometry: geometry,
          distance: LINE_CORRIDOR_M, limit: 1, include_geometry: false })
          .then(function (r) { return { layer: id, count: r.numberMatched }; });
      })).then(function (rows) {
        return { query: { type: "LineString", corridor_m: LINE_CORRIDOR_M }, layers: rows };
      });
    }

    function run(layer, type) {
      drawn.clearLayers();
      drawn.addLayer(layer);
      var layers = app.visibleVectorLayers();
      if (!layers.length) { layers = Object.keys(app.layersById); }
      panel.style.display = "block";
      panel.innerHTML = "";
      panel.appendChild(document.createTextNode(GisdbI18n.t("loading")));
      app.lastWithinBody = type === "polyline" ? null
        : Object.assign(withinBody(layer, type, layers), app.withinOptions || {});
      var request = type === "polyline" ? alongLine(layer, layers) : postJSON(
        app.config.endpoints.within, app.lastWithinBody);
      return request.then(function (result) {
        render(result);
        app.lastWithin = result;
        return result;
      }).catch(function (err) {
        panel.innerHTML = "";
        panel.appendChild(document.createTextNode(GisdbI18n.t("draw_error") + err.message));
        return { error: err.message };
      });
    }

    app.map.on("draw:created", function (e) { if (!app.drawClaimed) { run(e.layer, e.layerType); } });
    translateToolbar(app.map.getContainer());
    GisdbI18n.onChange(function () {
      translateToolbar(app.map.getContainer());
      if (app.lastWithin && panel.style.display !== "none") { render(app.lastWithin); }
    });
    app.drawQuery = { run: run, clear: clear, layer: drawn };
  }

  return { init: init };
})();
