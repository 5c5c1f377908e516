/* Editing the city in the planners' map, for users signed in with an edit role
 * (edit_auth.js); everyone else sees no edit control at all.
 * - The identify popup of an editable layer gets "Edit" and "Delete".
 * - "Edit" opens a panel with the feature's attribute form (edit_form.js, built from
 *   /collections/{layer}/schema) and "Edit shape" (vertices, or "Move" the whole shape,
 *   snapping to parcels and roads: edit_geometry.js). Save = PATCH (JSON Merge Patch)
 *   with If-Match, the ETag of GET .../items/{id}.
 * - "New feature" (a control listing the layers the user may edit) draws a shape, then the
 *   same form; Save = POST .../items.
 * - "Delete" asks for a confirmation, then DELETE with If-Match.
 * - A 412 (someone saved the feature meanwhile) opens the conflict dialog
 *   (edit_dialogs.js): their values beside yours, keep theirs / overwrite with mine /
 *   cancel. A 422 is shown beside the field it names.
 * - After a save the layer's tiles are fetched anew (a new `v` in their URL, so the
 *   browser cannot show a stale tile) and the popup shows the saved values. */
var GisdbEdit = (function () {
  "use strict";
  var MERGE_PATCH = "application/merge-patch+json";
  var GEOJSON = "application/geo+json";

  function el(tag, cls, key) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (key) { node.setAttribute("data-i18n", key); node.textContent = GisdbI18n.t(key); }
    return node;
  }

  function button(cls, key, onClick) {
    var b = el("button", cls, key);
    b.type = "button";
    L.DomEvent.on(b, "click", function (e) { L.DomEvent.stop(e); onClick(); });
    return b;
  }

  function Editor(app) {
    this.app = app;
    this.auth = app.auth;
    this.schemas = {};
    this.session = null;
    this.tileVersion = 0;
  }

  Editor.prototype.itemUrl = function (layerId, id) {
    var url = this.app.config.edit.endpoints.items.replace("{layer}", encodeURIComponent(layerId));
    return id === null || id === undefined ? url : url + "/" + encodeURIComponent(id);
  };

  /* {status, ok, body, etag, location} of a request with the user's key. */
  Editor.prototype.call = function (method, url, body, headers) {
    var opts = { method: method, headers: Object.assign({ Accept: GEOJSON }, headers || {}) };
    if (body !== undefined) { opts.body = JSON.stringify(body); }
    return this.auth.request(url, opts).then(function (resp) {
      return resp.text().then(function (text) {
        var parsed = {};
        try { parsed = text ? JSON.parse(text) : {}; } catch (e) { parsed = {}; }
        return { status: resp.status, ok: resp.ok, body: parsed, etag: resp.headers.get("ETag"),
          location: resp.headers.get("Location") };
      });
    });
  };

  /* The feature and its ETag (what If-Match must name). */
  Editor.prototype.read = function (layerId, id) {
    return this.call("GET", this.itemUrl(layerId, id)).then(function (r) {
      if (!r.ok) { throw new Error(r.body.description || ("HTTP " + r.status)); }
      return { feature: r.body, etag: r.etag };
    });
  };

  Editor.prototype.schema = function (layerId) {
    var self = this;
    if (this.schemas[layerId]) { return Promise.resolve(this.schemas[layerId]); }
    var url = this.app.config.edit.endpoints.schema.replace("{layer}", encodeURIComponent(layerId));
    return this.call("GET", url, undefined, { Accept: "application/schema+json, application/json" })
      .then(function (r) {
        if (!r.ok) { throw new Error(r.body.description || ("HTTP " + r.status)); }
        self.schemas[layerId] = r.body;
        return r.body;
      });
  };

  /* The layer's tiles again, under a new URL (the server's ETags have changed too). */
  Editor.prototype.refreshTiles = function (layerId) {
    var overlay = this.app.overlays[layerId];
    if (!overlay) { return; }
    if (this.app.tileVersions) { this.app.tileVersions.refresh(); return; }   // tile_versions.js
    overlay._gisdbUrl = overlay._gisdbUrl || overlay._url;
    this.tileVersion += 1;
    overlay.setUrl(overlay._gisdbUrl + "?v=" + Date.now().toString(36) + this.tileVersion);
  };

  Editor.prototype.layerTitle = function (layerId) {
    var def = this.app.layersById[layerId] || { title_vi: layerId, title_en: layerId };
    return GisdbI18n.span(def.title_vi, def.title_en);
  };

  /* "Edit" and "Delete" under a feature of an editable layer in the identify popup. */
  Editor.prototype.decorate = function (e) {
    var self = this, f = e.feature;
    if (!this.auth.canEdit(f.layer)) { return; }
    var row = el("div", "gisdb-edit-actions");
    row.appendChild(button("gisdb-edit-open", "edit_edit", function () { self.open(f.layer, f.id, e.latlng); }));
    row.appendChild(button("gisdb-edit-delete", "edit_delete", function () { self.remove(f.layer, f.id, f.label, e.latlng); }));
    e.element.appendChild(row);
  };

  Editor.prototype.panel = function () {
    var panel = document.getElementById("gisdb-edit-panel");
    if (!panel) {
      panel = el("div", "gisdb-edit-panel");
      panel.id = "gisdb-edit-panel";
      L.DomEvent.disableClickPropagation(panel);
      L.DomEvent.disableScrollPropagation(panel);
      this.app.map.getContainer().appendChild(panel);
    }
    panel.innerHTML = "";
    panel.style.display = "block";
    return panel;
  };

  Editor.prototype.status = function (key, extra, kind) {
    var line = document.querySelector("#gisdb-edit-panel .gisdb-edit-status");
    if (!line) { this.app.notify(GisdbI18n.t(key) + (extra || "")); return; }
    line.textContent = (key ? GisdbI18n.t(key) : "") + (extra || "");
    line.className = "gisdb-edit-status " + (kind || "");
  };

  /* Open the editor on an existing feature. */
  Editor.prototype.open = function (layerId, id, latlng) {
    var self = this;
    this.close();
    this.app.map.closePopup();
    return Promise.all([this.schema(layerId), this.read(layerId, id)]).then(function (got) {
      var item = got[1];
      self.start({ layerId: layerId, id: id, latlng: latlng, etag: item.etag, schema: got[0],
        original: item.feature.properties || {}, geometry: item.feature.geometry,
        label: (item.feature.properties || {})[(self.app.layersById[layerId] || {}).label_field] });
    }).catch(function (err) { self.app.notify(GisdbI18n.t("edit_load_failed") + err.message); });
  };

  /* Show the panel of a session (an existing feature, or a new one with its shape). */
  Editor.prototype.start = function (session) {
    var self = this, panel = this.panel();
    this.session = session;
    this.app.toolActive = true;
    panel.setAttribute("data-layer", session.layerId);
    if (session.id !== null) { panel.setAttribute("data-id", session.id); } else { panel.removeAttribute("data-id"); }
    var title = el("h4");
    title.appendChild(el("span", null, session.id === null ? "edit_new_title" : "edit_title"));
    title.appendChild(document.createTextNode(" "));
    title.appendChild(this.layerTitle(session.layerId));
    if (session.label !== undefined && session.label !== null) { title.appendChild(document.createTextNode(": " + session.label)); }
    panel.appendChild(title);
    session.form = GisdbEditForm.build(this.app, session.layerId, session.schema, session.original);
    var form = el("form", "gisdb-edit-form");
    form.appendChild(session.form.element);
    L.DomEvent.on(form, "submit", function (e) { L.DomEvent.stop(e); self.save(); });
    panel.appendChild(form);
    panel.appendChild(this.shapeButtons(session));
    panel.appendChild(el("div", "gisdb-edit-status"));
    panel.appendChild(this.mainButtons(session));
  };

  Editor.prototype.shapeButtons = function (session) {
    var self = this, row = el("div", "gisdb-edit-shape");
    var move = button("gisdb-edit-move", "edit_move", function () {
      if (!session.shape) { return; }
      move.classList.toggle("gisdb-on", session.shape.toggleMove());
    });
    var shape = button("gisdb-edit-shape-start", "edit_shape", function () {
      if (session.shape) { return; }
      GisdbEditGeometry.edit(self.app, session.layerId, { id: session.id, geometry: session.geometry })
        .then(function (handle) { session.shape = handle; shape.classList.add("gisdb-on"); move.disabled = false; })
        .catch(function (err) { self.status("edit_load_failed", err.message, "gisdb-error"); });
    });
    move.disabled = !session.shape;
    if (session.shape) { shape.classList.add("gisdb-on"); }
    row.appendChild(shape);
    row.appendChild(move);
    return row;
  };

  Editor.prototype.mainButtons = function (session) {
    var self = this, row = el("div", "gisdb-edit-buttons");
    row.appendChild(button("gisdb-edit-save", "edit_save", function () { self.save(); }));
    row.appendChild(button("gisdb-edit-cancel", "edit_cancel", function () { self.close(); }));
    if (session.id !== null) {
      row.appendChild(button("gisdb-edit-delete", "edit_delete", function () {
        self.remove(session.layerId, session.id, session.label, session.latlng);
      }));
    }
    return row;
  };

  Editor.prototype.close = function () {
    var s = this.session;
    if (s && s.shape) { s.shape.finish(); }
    this.session = null;
    this.app.toolActive = false;
    var panel = document.getElementById("gisdb-edit-panel");
    if (panel) { panel.style.display = "none"; panel.innerHTML = ""; }
  };

  /* What a save sends: the changed properties and, when moved, the geometry. */
  Editor.prototype.patchOf = function (s) {
    var patch = {}, changes = s.form.changes();
    if (Object.keys(changes).length) { patch.properties = changes; }
    if (s.shape && s.shape.changed) { patch.geometry = s.shape.geometry(); }
    return patch;
  };

  Editor.prototype.save = function () {
    var s = this.session;
    if (!s || !s.form.validate()) { this.status("edit_check_fields", "", "gisdb-error"); return Promise.resolve(); }
    if (s.id === null) { return this.create(s); }
    var patch = this.patchOf(s);
    if (!Object.keys(patch).length) { this.status("edit_nothing", "", ""); return Promise.resolve(); }
    return this.sendPatch(s, patch);
  };

  Editor.prototype.sendPatch = function (s, patch) {
    var self = this;
    this.status("edit_saving", "", "");
    var headers = { "Content-Type": MERGE_PATCH };
    if (s.etag) { headers["If-Match"] = s.etag; }
    return this.call("PATCH", this.itemUrl(s.layerId, s.id), patch, headers)
      .then(function (r) {
        if (r.ok) { return self.saved(s, "edit_saved"); }
        if (r.status === 412) { return self.conflict(s, patch); }
        return self.failed(s, r);
      }).catch(function (err) { self.status("edit_failed", err.message, "gisdb-error"); });
  };

  Editor.prototype.create = function (s) {
    var self = this, values = s.form.values(), properties = {};
    Object.keys(values).forEach(function (k) { if (values[k] !== null) { properties[k] = values[k]; } });
    var feature = { type: "Feature", geometry: s.shape.geometry(), properties: properties };
    this.status("edit_saving", "", "");
    return this.call("POST", this.itemUrl(s.layerId), feature, { "Content-Type": GEOJSON })
      .then(function (r) {
        if (!r.ok) { return self.failed(s, r); }
        s.latlng = s.shape.shape.getCenter ? s.shape.shape.getCenter() : s.shape.shape.getLatLng();
        return self.saved(s, "edit_created");
      }).catch(function (err) { self.status("edit_failed", err.message, "gisdb-error"); });
  };

  /* After a save: new tiles, the popup with the saved values, a notice. */
  Editor.prototype.saved = function (s, key) {
    this.close();
    this.refreshTiles(s.layerId);
    this.app.notify(GisdbI18n.t(key));
    if (s.latlng && this.app.identify) { return this.app.identify(L.latLng(s.latlng)); }
  };

  /* A refused save: the server's message beside the field it names, else in the panel. */
  Editor.prototype.failed = function (s, r) {
    var body = r.body || {}, text = body.description || ("HTTP " + r.status);
    if (r.status === 401) { this.auth.signOut(); }
    var field = String(body.field || "").replace(/^\/?properties[./]/, "");
    if (field && s.form) {
      var byField = {};
      byField[field] = text;
      if (!Object.keys(s.form.showErrors(byField)).length) {
        this.status("edit_check_fields", "", "gisdb-error");
        return;
      }
    }
    this.status("edit_failed", text, "gisdb-error");
  };

  /* 412: show what the other person changed, then do what the user chooses. */
  Editor.prototype.conflict = function (s, patch) {
    var self = this;
    return this.read(s.layerId, s.id).then(function (current) {
      var theirs = current.feature.properties || {};
      var rows = self.conflictRows(s, theirs, current.feature.geometry);
      return GisdbEditDialogs.conflict(self.app, rows).then(function (choice) {
        if (choice === "mine") {
          s.etag = current.etag;
          s.original = theirs;
          s.geometry = current.feature.geometry;
          return self.sendPatch(s, patch);
        }
        if (choice === "theirs") { return self.saved(s, "edit_kept_theirs"); }
        self.status("edit_conflict_open", "", "gisdb-error");
      });
    });
  };

  /* The fields the other person changed since this form was loaded: theirs and yours. */
  Editor.prototype.conflictRows = function (s, theirs, geometry) {
    var rows = [], mine = s.form.values();
    s.form.fields.forEach(function (f) {
      if (!GisdbEditForm.sameValue(theirs[f.name], s.original[f.name])) {
        rows.push({ name: f.name, label: f.row.querySelector("label span").cloneNode(true),
          theirs: theirs[f.name], mine: f.readOnly ? s.original[f.name] : mine[f.name] });
      }
    });
    if (JSON.stringify(geometry) !== JSON.stringify(s.geometry)) {
      rows.push({ name: "geometry", label: GisdbI18n.span("Hình dạng", "Shape"), theirs: geometry,
        mine: s.shape && s.shape.changed ? s.shape.geometry() : s.geometry });
    }
    return rows;
  };

  /* Delete after a confirmation, with the ETag read just before asking. */
  Editor.prototype.remove = function (layerId, id, label, latlng) {
    var self = this;
    return this.read(layerId, id).then(function (item) {
      return GisdbEditDialogs.confirmDelete(self.app, self.layerTitle(layerId), label).then(function (yes) {
        if (!yes) { return; }
        return self.call("DELETE", self.itemUrl(layerId, id), undefined, item.etag ? { "If-Match": item.etag } : {})
          .then(function (r) {
            if (r.ok) { self.close(); self.app.map.closePopup(); self.refreshTiles(layerId); self.app.notify(GisdbI18n.t("edit_deleted")); return; }
            self.app.notify(GisdbI18n.t(r.status === 412 ? "edit_delete_conflict" : "edit_failed") + (r.status === 412 ? "" : (r.body.description || r.status)));
            if (r.status === 412 && latlng) { self.app.identify(L.latLng(latlng)); }
          });
      });
    }).catch(function (err) { self.app.notify(GisdbI18n.t("edit_failed") + err.message); });
  };

  /* Draw a new feature of `layerId`, then fill its form. */
  Editor.prototype.drawNew = function (layerId) {
    var self = this;
    this.close();
    this.app.map.closePopup();
    return Promise.all([this.schema(layerId), GisdbEditGeometry.draw(this.app, layerId)]).then(function (got) {
      if (!got[1]) { return; }
      self.start({ layerId: layerId, id: null, etag: null, schema: got[0], original: {},
        geometry: null, shape: got[1] });
    }).catch(function (err) { self.app.notify(GisdbI18n.t("edit_load_failed") + err.message); });
  };

  /* The "New feature" control: a list of the layers the user may edit and "Draw". */
  Editor.prototype.addTools = function () {
    var self = this;
    this.tools = GisdbAuth.boxControl(this.app, "gisdb-edit-tools", document.getElementById("gisdb-auth"));
    this.renderTools();
    this.auth.onChange(function () { self.close(); self.app.map.closePopup(); self.renderTools(); });
  };

  Editor.prototype.renderTools = function () {
    var self = this, box = this.tools, layers = this.auth.editableLayers();
    box.innerHTML = "";
    box.style.display = layers.length ? "flex" : "none";
    if (!layers.length) { return; }
    var select = el("select", "gisdb-edit-layer");
    select.setAttribute("data-i18n-title", "edit_layer_title");
    select.title = GisdbI18n.t("edit_layer_title");
    layers.forEach(function (id) {
      var def = self.app.layersById[id];
      var opt = el("option");
      opt.value = id;
      opt.setAttribute("data-vi", def.title_vi);
      opt.setAttribute("data-en", def.title_en);
      opt.textContent = GisdbI18n.lang() === "vi" ? def.title_vi : def.title_en;
      select.appendChild(opt);
    });
    box.appendChild(select);
    box.appendChild(button("gisdb-edit-draw", "edit_draw", function () { self.drawNew(select.value); }));
  };

  function init(app) {
    GisdbAuth.init(app);
    var editor = new Editor(app);
    app.editor = editor;
    editor.addTools();
    app.map.on("gisdb:feature", function (e) { editor.decorate(e); });
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && app.map.pm) { GisdbEditGeometry.stopDrawing(app); }
    });
  }

  return { init: init };
})();
