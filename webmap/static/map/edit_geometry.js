/* Geometry tools of the editors: move a feature's vertices or the whole shape, and draw a
 * new feature, with snapping to the neighbouring parcels and roads. Leaflet-Geoman (npm,
 * served by the app) is loaded only when an editor first needs it, in "opt-in" mode, so
 * the map's other layers (identify outlines, draw-to-query shapes) are never editable.
 * The features of the snap layers in view come from /collections/{layer}/items?bbox=
 * and are drawn as faint outlines while a tool is active. */
var GisdbEditGeometry = (function () {
  "use strict";
  var SNAP_DISTANCE_PX = 15;
  var SNAP_MIN_ZOOM = 15;
  var SNAP_LIMIT = 2000;
  var SHAPES = { MultiPolygon: "Polygon", Polygon: "Polygon", MultiLineString: "Line",
    LineString: "Line", Point: "Marker", MultiPoint: "Marker" };
  var EDIT_STYLE = { color: "#e65100", weight: 3, fillOpacity: 0.15 };
  var SNAP_STYLE = { color: "#7b1fa2", weight: 1, opacity: 0.6, fill: false, dashArray: "3 3" };
  var loading = null;

  /* Geoman's texts in Vietnamese (it ships none); English is its own. */
  var GEOMAN_VI = {
    tooltips: { placeMarker: "Nhấp để đặt điểm", placeMarkerTouch: "Chạm để đặt điểm",
      firstVertex: "Nhấp để đặt đỉnh đầu tiên", continueLine: "Nhấp để vẽ tiếp",
      finishLine: "Nhấp vào một đỉnh đã có để kết thúc", finishPoly: "Nhấp vào đỉnh đầu để kết thúc",
      finishRect: "Nhấp để kết thúc" },
    actions: { finish: "Xong", cancel: "Huỷ", removeLastVertex: "Xoá đỉnh cuối" }
  };

  function addStyle(href) {
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = href;
    document.head.appendChild(link);
  }

  function setLanguage(map) {
    if (map.pm) { map.pm.setLang(GisdbI18n.lang() === "vi" ? "vi" : "en", GisdbI18n.lang() === "vi" ? GEOMAN_VI : undefined, "en"); }
  }

  /* Loads Leaflet-Geoman once; resolves when map.pm is ready. */
  function load(app) {
    if (loading) { return loading; }
    loading = new Promise(function (resolve, reject) {
      addStyle(app.config.edit.library.style);
      var script = document.createElement("script");
      script.src = app.config.edit.library.script;
      script.onload = function () {
        L.PM.setOptIn(true);
        if (!app.map.pm) { app.map.pm = new L.PM.Map(app.map); }
        app.map.pm.setGlobalOptions({ snappable: true, snapDistance: SNAP_DISTANCE_PX });
        setLanguage(app.map);
        GisdbI18n.onChange(function () { setLanguage(app.map); });
        resolve(app.map.pm);
      };
      script.onerror = function () { loading = null; reject(new Error("Leaflet-Geoman")); };
      document.head.appendChild(script);
    });
    return loading;
  }

  /* Faint outlines of the snap layers' features in view (none below SNAP_MIN_ZOOM, where
   * a view holds too many); `skip` is [layerId, id] of the feature being edited. Resolves
   * to the group once they are on the map (Geoman lists what to snap to when a tool starts). */
  function snapTargets(app, skip) {
    var group = L.featureGroup().addTo(app.map);
    app.editSnaps = group;
    if (app.map.getZoom() < SNAP_MIN_ZOOM) { return Promise.resolve(group); }
    var bbox = app.map.getBounds().pad(0.2).toBBoxString();
    return Promise.all(app.config.edit.snap_layers.filter(function (id) { return app.layersById[id]; })
      .map(function (layerId) {
        var url = app.config.edit.endpoints.items.replace("{layer}", layerId) +
          "?bbox=" + bbox + "&limit=" + SNAP_LIMIT;
        return app.getJSON(url, { headers: { Accept: "application/geo+json" } }).then(function (fc) {
          L.geoJSON(fc, {
            style: SNAP_STYLE, interactive: false, snapIgnore: false,
            filter: function (f) { return !(skip && skip[0] === layerId && String(f.id) === String(skip[1])); }
          }).eachLayer(function (l) { l.addTo(group); });
        }).catch(function () { /* no snapping to this layer */ });
      })).then(function () { return group; });
  }

  /* A geometry as the layer stores it (a drawn Polygon becomes a MultiPolygon). */
  function asLayerType(geometry, layerType) {
    if (layerType && layerType.indexOf("Multi") === 0 && geometry.type.indexOf("Multi") !== 0) {
      return { type: layerType, coordinates: [geometry.coordinates] };
    }
    return geometry;
  }

  /* The one Leaflet layer that holds the shape (L.geoJSON wraps it in a group). */
  function shapeOf(group) {
    var found = null;
    group.eachLayer(function (l) { found = found || l; });
    return found;
  }

  /* Editing handle of `shape` (on the map): vertices editable, optional whole-shape move,
   * geometry() in the layer's type, changed, finish() removes everything. */
  function Handle(app, layerType, shape, snaps) {
    this.app = app;
    this.layerType = layerType;
    this.shape = shape;
    this.snaps = snaps;
    this.changed = false;
    this.moving = false;
    var self = this;
    shape.on("pm:edit pm:dragend pm:markerdragend", function () { self.changed = true; });
    this.editVertices();
  }

  Handle.prototype.options = function () {
    return { snappable: true, snapDistance: SNAP_DISTANCE_PX, allowSelfIntersection: false,
      draggable: false, preventMarkerRemoval: false };
  };

  Handle.prototype.editVertices = function () {
    if (this.shape.pm.layerDragEnabled && this.shape.pm.layerDragEnabled()) { this.shape.pm.disableLayerDrag(); }
    this.shape.pm.enable(this.options());
    this.moving = false;
  };

  /* Switch between moving vertices and moving the whole shape. */
  Handle.prototype.toggleMove = function () {
    if (this.moving) { this.editVertices(); return false; }
    this.shape.pm.disable();
    this.shape.pm.enableLayerDrag();
    this.moving = true;
    return true;
  };

  Handle.prototype.geometry = function () {
    return asLayerType(this.shape.toGeoJSON(false).geometry, this.layerType);   // full precision
  };

  Handle.prototype.finish = function () {
    if (this.shape.pm) { this.shape.pm.disable(); }
    this.app.map.removeLayer(this.shape);
    this.app.map.removeLayer(this.snaps);
  };

  /* Start editing a feature's geometry (GeoJSON). */
  function edit(app, layerId, feature) {
    var def = app.layersById[layerId] || {};
    return load(app).then(function () {
      return snapTargets(app, [layerId, feature.id]);
    }).then(function (snaps) {
      var group = L.geoJSON(feature.geometry, {
        pmIgnore: false, snapIgnore: true, style: EDIT_STYLE,
        pointToLayer: function (f, latlng) { return L.marker(latlng, { pmIgnore: false, snapIgnore: true }); }
      }).addTo(app.map);
      var shape = shapeOf(group);
      app.map.removeLayer(group);
      shape.addTo(app.map);
      return new Handle(app, def.geometry, shape, snaps);
    });
  }

  /* Draw a new feature of the layer: resolves to a Handle when the shape is finished,
   * to null when the drawing is cancelled. */
  function draw(app, layerId) {
    var def = app.layersById[layerId] || {};
    return load(app).then(function () {
      return snapTargets(app, null);
    }).then(function (snaps) {
      var pm = app.map.pm;
      return new Promise(function (resolve) {
        function created(e) {
          done();
          e.layer.setStyle && e.layer.setStyle(EDIT_STYLE);
          var handle = new Handle(app, def.geometry, e.layer, snaps);
          handle.changed = true;
          resolve(handle);
        }
        function stopped() { setTimeout(function () { if (!finished) { done(); app.map.removeLayer(snaps); resolve(null); } }, 0); }
        var finished = false;
        function done() {
          finished = true;
          app.map.off("pm:create", created);
          app.map.off("pm:drawend", stopped);
          app.toolActive = false;
        }
        app.map.on("pm:create", created);
        app.map.on("pm:drawend", stopped);
        app.toolActive = true;
        pm.enableDraw(SHAPES[def.geometry] || "Polygon", { snappable: true, snapDistance: SNAP_DISTANCE_PX,
          allowSelfIntersection: false, pathOptions: Object.assign({ pmIgnore: false, snapIgnore: true }, EDIT_STYLE),
          markerStyle: { pmIgnore: false, snapIgnore: true } });
      });
    });
  }

  /* Leave any drawing mode (Escape, a closed panel). */
  function stopDrawing(app) {
    if (app.map.pm) { app.map.pm.disableDraw(); }
  }

  return { load: load, edit: edit, draw: draw, stopDrawing: stopDrawing, asLayerType: asLayerType };
})();
