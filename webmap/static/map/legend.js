/* The legend, generated from the registry's styles (the same colours the PNG tiles
 * use): one entry per visible layer, with its categories (land-use codes, building
 * uses, road classes) in Vietnamese or English, and a hint when the layer only draws
 * from a higher zoom level. */
var GisdbLegend = (function () {
  "use strict";

  function swatch(geometry, stroke, fill, style) {
    var el = document.createElement("span");
    el.className = "gisdb-swatch gisdb-swatch-" + (geometry.indexOf("Line") >= 0 ? "line"
      : geometry.indexOf("Point") >= 0 ? "point" : "area");
    el.style.borderColor = stroke || "#333";
    if (geometry.indexOf("Line") >= 0) {
      el.style.borderTopWidth = Math.max(2, Math.round(style.width || 2)) + "px";
      el.style.borderTopColor = stroke;
    } else {
      el.style.background = fill || "transparent";
      if (style.dash) { el.style.borderStyle = "dashed"; }
    }
    return el;
  }

  function layerEntry(layer, zoom) {
    var st = layer.style, box = document.createElement("div");
    box.className = "gisdb-legend-layer";
    box.setAttribute("data-layer", layer.id);
    var head = document.createElement("div");
    head.className = "gisdb-legend-head";
    head.appendChild(swatch(layer.geometry, st.stroke, st.categories.length ? null : st.fill, st));
    head.appendChild(GisdbI18n.span(layer.title_vi, layer.title_en));
    box.appendChild(head);
    if (zoom < layer.min_zoom) {
      var hint = document.createElement("div");
      hint.className = "gisdb-legend-hint";
      hint.textContent = GisdbI18n.t("legend_zoom", { z: layer.min_zoom });
      box.appendChild(hint);
    }
    if (st.categories.length) {
      var list = document.createElement("details");
      list.open = st.categories.length <= 8;
      var summary = document.createElement("summary");
      var field = (layer.fields || []).filter(function (f) { return f.name === st.category_field; })[0];
      summary.appendChild(field ? GisdbI18n.span(field.vi, field.en) : document.createTextNode(st.category_field));
      summary.appendChild(document.createTextNode(" (" + st.categories.length + ")"));
      list.appendChild(summary);
      st.categories.forEach(function (c) {
        var row = document.createElement("div");
        row.className = "gisdb-legend-cat";
        var isLine = layer.geometry.indexOf("Line") >= 0;
        row.appendChild(swatch(layer.geometry, isLine ? c[1] : st.stroke, c[1], st));
        // official codes (ODT, TMD, DGT) are shown; English words used as codes are not
        if (/^[A-Z]{2,4}$/.test(c[0])) {
          var code = document.createElement("code");
          code.textContent = c[0];
          row.appendChild(code);
        }
        row.appendChild(GisdbI18n.span(c[2], c[3]));
        list.appendChild(row);
      });
      box.appendChild(list);
    }
    return box;
  }

  function init(app) {
    var Legend = L.Control.extend({
      options: { position: "bottomleft" },
      onAdd: function () {
        var div = L.DomUtil.create("div", "gisdb-legend leaflet-bar");
        div.id = "gisdb-legend";
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        return div;
      }
    });
    var control = new Legend().addTo(app.map);
    var div = control.getContainer();

    function render() {
      div.innerHTML = "";
      var title = document.createElement("h4");
      title.setAttribute("data-i18n", "legend");
      title.textContent = GisdbI18n.t("legend");
      div.appendChild(title);
      var zoom = app.map.getZoom();
      app.visibleLayers().forEach(function (id) {
        if (app.layersById[id]) { div.appendChild(layerEntry(app.layersById[id], zoom)); }
      });
      div.style.display = app.visibleLayers().length ? "block" : "none";
    }
    app.map.on("overlayadd overlayremove zoomend", render);
    GisdbI18n.onChange(render);
    render();
    app.legend = { render: render, element: div, entry: layerEntry };
  }

  return { init: init };
})();
