/* CDN-safe overlay tiles: each overlay's PNG URL carries its layer's data version
 * (/tiles/v{version}/{layer}/{z}/{x}/{y}.png, see tiles/url_version.py), which the server
 * and any CDN keep forever ("immutable"). The page is built with the versions of its
 * moment; every minute, and at once after an edit (refresh()), the map asks
 * /tiles/versions (a 304 while nothing changed) and moves each overlay whose layer
 * changed to its new URL, so planners see each other's edits without reloading.
 * An overlay drawn as of a past instant (time.js, `as_of=` in its URL) keeps its URL: the
 * instant names its data; the URL time.js restores afterwards is moved instead. */
var GisdbTileVersions = (function () {
  "use strict";
  var PERIOD_MS = 60000;
  var VERSIONED = /\/tiles\/v\d+\//;

  function moved(url, version) {
    return url.replace(VERSIONED, "/tiles/v" + version + "/");
  }

  function TileVersions(app) {
    this.app = app;
    this.pending = null;
  }

  /* Move the overlays to the versions of `versions` ({layer id: version}). */
  TileVersions.prototype.apply = function (versions) {
    var overlays = this.app.overlays;
    Object.keys(overlays).forEach(function (id) {
      var layer = overlays[id], version = versions[id];
      if (version === undefined || !layer || !layer.setUrl || !VERSIONED.test(layer._url || "")) { return; }
      if (layer.options.gisdbUrl) { layer.options.gisdbUrl = moved(layer.options.gisdbUrl, version); }
      if (layer._url.indexOf("as_of=") >= 0) { return; }
      var next = moved(layer._url, version);
      if (next !== layer._url) { layer.setUrl(next); }
    });
  };

  /* Ask the server for the current versions (one request at a time). */
  TileVersions.prototype.refresh = function () {
    var self = this;
    if (this.pending) { return this.pending; }
    this.pending = fetch("/tiles/versions", { headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (doc) { if (doc && doc.versions) { self.apply(doc.versions); } })
      .catch(function () { /* offline for a moment: the next round tries again */ })
      .then(function () { self.pending = null; });
    return this.pending;
  };

  function init(app) {
    var versions = new TileVersions(app);
    app.tileVersions = versions;
    window.setInterval(function () { versions.refresh(); }, PERIOD_MS);
  }

  return { init: init, moved: moved };
})();
