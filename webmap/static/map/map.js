/* The planners' map: wires folium's Leaflet map to the page's tools.
 * GisdbMap.start(map, config) is called once by the page (see webmap/map_build.py).
 * It keeps the view and the visible layers in the address (#z/lat/lon/layers/base),
 * adds the language switch, falls back to the offline base map when online bases
 * cannot load, and starts the legend, identify, search and draw-to-query modules. */
var GisdbMap = (function () {
  "use strict";
  var OFFLINE_AFTER_ERRORS = 4;

  function layerIdOf(layer) {
    return layer && layer.options ? layer.options.gisdbLayer : undefined;
  }

  function App(map, config) {
    this.map = map;
    this.config = config;
    this.overlays = {};
    this.bases = {};
    this.toolActive = false;
    var self = this;
    Object.keys(config.overlays).forEach(function (id) { self.overlays[id] = window[config.overlays[id]]; });
    Object.keys(config.bases).forEach(function (id) { self.bases[id] = window[config.bases[id]]; });
    this.layersById = {};
    config.layers.forEach(function (l) { self.layersById[l.id] = l; });
  }

  /* Ids of the overlays switched on, in registry order. */
  App.prototype.visibleLayers = function () {
    var map = this.map, overlays = this.overlays;
    return Object.keys(overlays).filter(function (id) { return map.hasLayer(overlays[id]); });
  };

  /* Registry layers switched on (rasters excluded): what identify and draw ask about. */
  App.prototype.visibleVectorLayers = function () {
    var byId = this.layersById;
    return this.visibleLayers().filter(function (id) { return byId[id]; });
  };

  App.prototype.currentBase = function () {
    var map = this.map, bases = this.bases;
    return Object.keys(bases).filter(function (id) { return map.hasLayer(bases[id]); })[0];
  };

  App.prototype.setVisible = function (ids) {
    var map = this.map, overlays = this.overlays;
    Object.keys(overlays).forEach(function (id) {
      var on = ids.indexOf(id) >= 0;
      if (on && !map.hasLayer(overlays[id])) { map.addLayer(overlays[id]); }
      if (!on && map.hasLayer(overlays[id])) { map.removeLayer(overlays[id]); }
    });
  };

  App.prototype.setBase = function (id) {
    var map = this.map, bases = this.bases;
    if (!bases[id]) { return; }
    Object.keys(bases).forEach(function (other) {
      if (other !== id && map.hasLayer(bases[other])) { map.removeLayer(bases[other]); }
    });
    if (!map.hasLayer(bases[id])) { map.addLayer(bases[id]); bases[id].bringToBack(); }
  };

  /* "#z/lat/lon/layer1,layer2/base" */
  App.prototype.permalink = function () {
    var c = this.map.getCenter(), z = this.map.getZoom();
    var prec = Math.max(0, Math.ceil(Math.log(z + 1) / Math.LN2));
    return "#" + [z, c.lat.toFixed(prec + 1), c.lng.toFixed(prec + 1),
      this.visibleLayers().join(","), this.currentBase() || ""].join("/");
  };

  App.prototype.applyHash = function (hash) {
    var view = viewOfHash(hash);
    if (!view) { return false; }
    var parts = hash.replace(/^#/, "").split("/");
    this.applying = true;
    if (parts.length > 3) {
      var known = this.overlays;
      this.setVisible(parts[3].split(",").filter(function (id) { return known[id]; }));
    }
    if (parts.length > 4 && parts[4]) { this.setBase(parts[4]); }
    this.map.setView(view.center, view.zoom);
    this.applying = false;
    return true;
  };

  App.prototype.updateHash = function () {
    if (this.applying || !window.history || !window.history.replaceState) { return; }
    var url = window.location.pathname + window.location.search + this.permalink();
    window.history.replaceState(null, "", url);
  };

  /* Online bases fail without internet: after a few errors and no loaded tile, use
   * the project's own base so the map keeps working. */
  App.prototype.watchOnlineBases = function () {
    var self = this;
    Object.keys(this.bases).forEach(function (id) {
      var base = self.bases[id];
      if (!base.options.gisdbOnline) { return; }
      var errors = 0, loaded = 0;
      base.on("tileload", function () { loaded += 1; });
      base.on("tileerror", function () {
        errors += 1;
        if (errors >= OFFLINE_AFTER_ERRORS && loaded === 0 && self.map.hasLayer(base)) {
          self.setBase(self.config.offline_base);
          self.notify(GisdbI18n.t("offline_base"));
        }
      });
    });
  };

  App.prototype.notify = function (text) {
    var box = document.getElementById("gisdb-notice");
    if (!box) {
      box = L.DomUtil.create("div", "gisdb-notice", this.map.getContainer());
      box.id = "gisdb-notice";
    }
    box.textContent = text;
    box.style.display = "block";
    clearTimeout(this._noticeTimer);
    this._noticeTimer = setTimeout(function () { box.style.display = "none"; }, 5000);
  };

  App.prototype.addLanguageSwitch = function () {
    var Switch = L.Control.extend({
      options: { position: "topright" },
      onAdd: function () {
        var button = L.DomUtil.create("button", "gisdb-lang leaflet-bar");
        button.type = "button";
        button.setAttribute("data-i18n", "lang_button");
        button.setAttribute("data-i18n-title", "lang_title");
        button.textContent = GisdbI18n.t("lang_button");
        button.title = GisdbI18n.t("lang_title");
        L.DomEvent.disableClickPropagation(button);
        L.DomEvent.on(button, "click", function () {
          GisdbI18n.setLang(GisdbI18n.lang() === "vi" ? "en" : "vi");
        });
        return button;
      }
    });
    new Switch().addTo(this.map);
  };

  /* Identify must not fire while a drawing or measuring tool owns the clicks. */
  App.prototype.trackTools = function () {
    var self = this;
    this.map.on("draw:drawstart measurestart", function () { self.toolActive = true; });
    this.map.on("draw:drawstop measurefinish", function () {
      setTimeout(function () { self.toolActive = false; }, 0);
    });
  };

  App.prototype.getJSON = function (url, options) {
    return fetch(url, options || {}).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (body) {
        if (!resp.ok) {
          var err = new Error(body.description || ("HTTP " + resp.status));
          err.status = resp.status;
          throw err;
        }
        return body;
      });
    });
  };

  /* "#z/lat/lon/..." -> {zoom, center}, or null. */
  function viewOfHash(hash) {
    var parts = (hash || "").replace(/^#/, "").split("/");
    var z = parseInt(parts[0], 10), lat = parseFloat(parts[1]), lon = parseFloat(parts[2]);
    if (parts.length < 3 || !isFinite(z) || !isFinite(lat) || !isFinite(lon)) { return null; }
    return { zoom: z, center: [lat, lon] };
  }

  /* A shared link opens at its own view before any tile is requested at the default one. */
  L.Map.addInitHook(function () {
    var view = viewOfHash(window.location.hash);
    if (view) { this.setView(view.center, view.zoom, { animate: false }); }
  });

  function start(map, config) {
    var app = new App(map, config);
    GisdbI18n.setLang(config.lang, true);
    app.addLanguageSwitch();
    L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);
    app.trackTools();
    app.watchOnlineBases();
    app.applyHash(window.location.hash);
    map.on("moveend overlayadd overlayremove baselayerchange layeradd layerremove", function (e) {
      if (e.type === "layeradd" || e.type === "layerremove") {
        if (!layerIdOf(e.layer) && !(e.layer.options && e.layer.options.gisdbBase)) { return; }
        GisdbI18n.apply(map.getContainer());   // the layer control rebuilt its labels
      }
      app.updateHash();
    });
    window.addEventListener("hashchange", function () { app.applyHash(window.location.hash); });
    [window.GisdbPluginI18n, window.GisdbLegend, window.GisdbIdentify, window.GisdbSearch,
      window.GisdbDraw, window.GisdbPanels, window.GisdbHistoryPopup, window.GisdbTime,
      window.GisdbStationChart, window.GisdbEdit, window.GisdbTileVersions, window.GisdbPrint,
      window.GisdbLayerStyle, window.GisdbDrawCount, window.GisdbViolations, window.GisdbCorridor].forEach(
      function (mod) { if (mod) { mod.init(app); } });
    GisdbI18n.apply(document);
    app.updateHash();
    return app;
  }

  return { start: start, layerIdOf: layerIdOf };
})();
