/* Collapsible panels: the layer list and the legend each get a button that opens and
 * closes them. On a small screen (a phone, at most 640 px wide) both start closed, the
 * mini map is left out and the other panels shrink to the screen (map.css), so the map
 * keeps most of the screen; on a wider screen they start open. The state is a class on
 * the map's container: gisdb-hide-layers, gisdb-hide-legend. */
var GisdbPanels = (function () {
  "use strict";
  var SMALL = "(max-width: 640px)";
  var PANELS = [
    { id: "layers", position: "topright", key: "panel_layers", label: "panel_layers_short" },
    { id: "legend", position: "bottomleft", key: "panel_legend", label: "legend" }
  ];

  function isSmall() {
    return !!(window.matchMedia && window.matchMedia(SMALL).matches);
  }

  function toggleButton(app, panel) {
    var container = app.map.getContainer();
    var Toggle = L.Control.extend({
      options: { position: panel.position },
      onAdd: function () {
        var button = L.DomUtil.create("button", "gisdb-panel-toggle leaflet-bar");
        button.type = "button";
        button.id = "gisdb-toggle-" + panel.id;
        button.setAttribute("data-i18n", panel.label);
        button.setAttribute("data-i18n-title", panel.key);
        button.textContent = GisdbI18n.t(panel.label);
        button.title = GisdbI18n.t(panel.key);
        L.DomEvent.disableClickPropagation(button);
        L.DomEvent.on(button, "click", function (e) {
          L.DomEvent.stop(e);
          set(app, panel.id, container.classList.contains("gisdb-hide-" + panel.id));
        });
        return button;
      }
    });
    return new Toggle().addTo(app.map).getContainer();
  }

  /* Open (true) or close (false) the panel `id`. */
  function set(app, id, open) {
    var container = app.map.getContainer();
    container.classList.toggle("gisdb-hide-" + id, !open);
    var button = document.getElementById("gisdb-toggle-" + id);
    if (button) { button.setAttribute("aria-expanded", open ? "true" : "false"); }
  }

  function init(app) {
    var container = app.map.getContainer();
    var small = isSmall();
    container.classList.toggle("gisdb-small", small);
    PANELS.forEach(function (panel) {
      toggleButton(app, panel);
      set(app, panel.id, !small);
    });
    // the layer list is the first control of its corner: keep its button above it
    var corner = container.querySelector(".leaflet-top.leaflet-right");
    var layers = corner && corner.querySelector(".leaflet-control-layers");
    var button = document.getElementById("gisdb-toggle-layers");
    if (layers && button) { corner.insertBefore(button, layers); }
    app.panels = {
      open: function (id) { set(app, id, true); },
      close: function (id) { set(app, id, false); },
      isOpen: function (id) { return !container.classList.contains("gisdb-hide-" + id); },
      small: small
    };
  }

  return { init: init };
})();
