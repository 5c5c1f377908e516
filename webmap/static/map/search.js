/* Search box: parcel numbers (ward + sheet + parcel), street, ward and project names,
 * with or without Vietnamese diacritics, through GET /search?q=. Choosing a result
 * zooms the map to it and switches its layer on. */
var GisdbSearch = (function () {
  "use strict";
  var DEBOUNCE_MS = 250;
  var LIMIT = 10;

  function resultsOf(body) {
    return body.results || body.features || body.items || [];
  }

  function bboxOf(result) {
    if (result.bbox && result.bbox.length === 4) { return result.bbox; }
    var g = result.geometry;
    if (g && g.type === "Point") {
      return [g.coordinates[0], g.coordinates[1], g.coordinates[0], g.coordinates[1]];
    }
    return null;
  }

  function labelOf(result) {
    var p = result.properties || {};
    return result.label || result.title || p.label || String(result.id);
  }

  function init(app) {
    var Search = L.Control.extend({
      options: { position: "topleft" },
      onAdd: function () {
        var div = L.DomUtil.create("div", "gisdb-search leaflet-bar");
        div.id = "gisdb-search";
        var input = L.DomUtil.create("input", "gisdb-search-input", div);
        input.type = "search";
        input.autocomplete = "off";
        input.setAttribute("aria-label", "search");
        input.setAttribute("data-i18n-placeholder", "search_placeholder");
        input.placeholder = GisdbI18n.t("search_placeholder");
        L.DomUtil.create("ul", "gisdb-search-results", div);
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        return div;
      }
    });
    var control = new Search().addTo(app.map);
    var div = control.getContainer();
    var input = div.querySelector("input");
    var list = div.querySelector("ul");
    var timer = null, seq = 0, current = [];

    function choose(result) {
      var box = bboxOf(result);
      var layer = result.layer || (result.properties || {}).layer;
      if (layer && app.overlays[layer] && !app.map.hasLayer(app.overlays[layer])) {
        app.map.addLayer(app.overlays[layer]);
      }
      var def = app.layersById[layer];
      var minZoom = def ? def.min_zoom : 0;
      if (box) {
        var bounds = L.latLngBounds([box[1], box[0]], [box[3], box[2]]);
        var zoom = Math.max(minZoom, Math.min(app.map.getBoundsZoom(bounds), 18));
        app.map.setView(bounds.getCenter(), zoom);
      }
      list.innerHTML = "";
      input.value = labelOf(result);
    }

    function show(results) {
      current = results;
      list.innerHTML = "";
      if (!results.length) {
        var none = document.createElement("li");
        none.className = "gisdb-search-none";
        none.setAttribute("data-i18n", "search_none");
        none.textContent = GisdbI18n.t("search_none");
        list.appendChild(none);
        return;
      }
      results.forEach(function (r, i) {
        var li = document.createElement("li");
        li.className = "gisdb-search-result";
        li.tabIndex = 0;
        li.setAttribute("data-layer", r.layer || "");
        li.setAttribute("data-index", i);
        var label = document.createElement("span");
        label.className = "gisdb-search-label";
        label.textContent = labelOf(r);
        li.appendChild(label);
        if (r.detail) {
          var detail = document.createElement("span");
          detail.className = "gisdb-search-detail";
          detail.textContent = " · " + r.detail;
          li.appendChild(detail);
        }
        var def = app.layersById[r.layer];
        if (def) {
          var kind = GisdbI18n.span(def.title_vi, def.title_en);
          kind.className = "gisdb-search-kind";
          li.appendChild(kind);
        }
        // stop the click here: choose() empties the list, so by the time the event
        // reached the map the detached item would have no parent marked by
        // disableClickPropagation, and the map would identify at that spot
        L.DomEvent.on(li, "click", function (e) { L.DomEvent.stop(e); choose(r); });
        L.DomEvent.on(li, "keydown", function (e) { if (e.key === "Enter") { choose(r); } });
        list.appendChild(li);
      });
    }

    function search(q) {
      var mine = ++seq;
      if (q.trim().length < 2) { list.innerHTML = ""; return Promise.resolve([]); }
      var url = app.config.endpoints.search + "?q=" + encodeURIComponent(q.trim()) + "&limit=" + LIMIT;
      return app.getJSON(url).then(function (body) {
        var results = resultsOf(body);
        if (mine === seq) { show(results); }
        return results;
      }).catch(function (err) {
        if (mine === seq) {
          list.innerHTML = "";
          var li = document.createElement("li");
          li.className = "gisdb-search-none";
          li.textContent = GisdbI18n.t("search_error") + err.message;
          list.appendChild(li);
        }
        return [];
      });
    }

    L.DomEvent.on(input, "input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { search(input.value); }, DEBOUNCE_MS);
    });
    L.DomEvent.on(input, "keydown", function (e) {
      if (e.key === "Enter" && current.length) { choose(current[0]); }
      if (e.key === "Escape") { list.innerHTML = ""; }
      if (e.key === "ArrowDown" && list.firstChild && list.firstChild.focus) { list.firstChild.focus(); }
    });
    app.search = { run: search, choose: choose };
  }

  return { init: init };
})();
