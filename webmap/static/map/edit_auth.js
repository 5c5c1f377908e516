/* Sign-in for editors: a control takes an API key (`gdk_...`), keeps it in this tab's
 * sessionStorage and sends it as `Authorization: Bearer` with every edit request; it asks
 * GET /auth/me who the key is and which layers it may edit, shows the user's name, and
 * "Sign out" forgets the key. Anonymous visitors see only the "Sign in" button.
 * app.auth: principal, canEdit(layerId), editableLayers(), request(url, options),
 * onChange(fn), signIn(key), signOut(). */
var GisdbAuth = (function () {
  "use strict";
  var STORE = "gisdb.apiKey";
  var EDIT_ROLES = ["edit", "admin"];

  function storedKey() {
    try { return window.sessionStorage.getItem(STORE); } catch (e) { return null; }
  }

  function storeKey(key) {
    try {
      if (key) { window.sessionStorage.setItem(STORE, key); } else { window.sessionStorage.removeItem(STORE); }
    } catch (e) { /* storage refused (private mode): the key lives until the page closes */ }
  }

  function Auth(app) {
    this.app = app;
    this.key = null;
    this.principal = null;
    this.listeners = [];
  }

  /* The role of the signed-in user on a layer ("read" | "edit" | "admin" | null). */
  Auth.prototype.roleFor = function (layerId) {
    var roles = (this.principal && this.principal.roles) || {};
    return roles[layerId] || roles["*"] || null;
  };

  /* True when the user may change the layer now (an edit role, and writes switched on). */
  Auth.prototype.canEdit = function (layerId) {
    return !!(this.principal && this.principal.writes !== false &&
      EDIT_ROLES.indexOf(this.roleFor(layerId)) >= 0);
  };

  Auth.prototype.editableLayers = function () {
    var self = this;
    return this.app.config.layers.map(function (l) { return l.id; })
      .filter(function (id) { return self.canEdit(id); });
  };

  /* fetch() with the key's Authorization header (and the caller's headers). */
  Auth.prototype.request = function (url, options) {
    var opts = Object.assign({ cache: "no-store" }, options || {});
    opts.headers = Object.assign({ "Accept": "application/json" }, opts.headers || {});
    if (this.key) { opts.headers.Authorization = "Bearer " + this.key; }
    return fetch(url, opts);
  };

  Auth.prototype.onChange = function (fn) { this.listeners.push(fn); };

  Auth.prototype.changed = function () {
    var self = this;
    this.listeners.forEach(function (fn) { fn(self.principal); });
  };

  /* Ask /auth/me about `key`; resolves to the principal, rejects with a message. */
  Auth.prototype.signIn = function (key) {
    var self = this;
    this.key = (key || "").trim();
    return this.request(this.app.config.edit.endpoints.me).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (body) {
        if (!resp.ok) { throw new Error(body.description || ("HTTP " + resp.status)); }
        self.principal = body;
        storeKey(self.key);
        self.changed();
        return body;
      });
    }).catch(function (err) {
      var was = self.principal;
      self.key = null;
      self.principal = null;
      storeKey(null);
      if (was) { self.changed(); }
      throw err;
    });
  };

  Auth.prototype.signOut = function () {
    this.key = null;
    this.principal = null;
    storeKey(null);
    this.changed();
  };

  function button(cls, key, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = cls;
    b.setAttribute("data-i18n", key);
    b.textContent = GisdbI18n.t(key);
    L.DomEvent.on(b, "click", function (e) { L.DomEvent.stop(e); onClick(); });
    return b;
  }

  /* The form that takes the key: a password field, "Sign in", and a line for errors. */
  function keyForm(auth, done) {
    var form = document.createElement("form");
    form.className = "gisdb-signin-form";
    var input = document.createElement("input");
    input.type = "password";
    input.autocomplete = "off";
    input.className = "gisdb-signin-key";
    input.setAttribute("data-i18n-placeholder", "auth_key_placeholder");
    input.placeholder = GisdbI18n.t("auth_key_placeholder");
    var submit = document.createElement("button");
    submit.type = "submit";
    submit.className = "gisdb-signin-submit";
    submit.setAttribute("data-i18n", "auth_sign_in");
    submit.textContent = GisdbI18n.t("auth_sign_in");
    var error = document.createElement("div");
    error.className = "gisdb-signin-error";
    form.appendChild(input);
    form.appendChild(submit);
    form.appendChild(error);
    L.DomEvent.on(form, "submit", function (e) {
      L.DomEvent.stop(e);
      error.textContent = "";
      auth.signIn(input.value).then(function () { input.value = ""; done(); })
        .catch(function (err) { error.textContent = GisdbI18n.t("auth_failed") + err.message; });
    });
    return form;
  }

  /* An empty box control in the top-right corner, placed after `after` (an element of
   * that corner) or first; clicks and scrolls inside stay out of the map. */
  function boxControl(app, id, after) {
    var Control = L.Control.extend({
      options: { position: "topright" },
      onAdd: function () {
        var div = L.DomUtil.create("div", id + " leaflet-bar");
        div.id = id;
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        return div;
      }
    });
    var box = new Control().addTo(app.map).getContainer();
    box.parentNode.insertBefore(box, after ? after.nextSibling : box.parentNode.firstChild);
    return box;
  }

  /* The control: "Sign in" (opens the key form) or "name · Sign out". */
  function addControl(app, auth) {
    var box = boxControl(app, "gisdb-auth", null);
    function render() {
      box.innerHTML = "";
      if (auth.principal) {
        var name = document.createElement("span");
        name.className = "gisdb-auth-name";
        name.textContent = auth.principal.name;
        box.appendChild(name);
        box.appendChild(button("gisdb-signout", "auth_sign_out", function () { auth.signOut(); }));
        return;
      }
      var form = keyForm(auth, render);
      form.style.display = "none";
      box.appendChild(button("gisdb-signin", "auth_sign_in", function () {
        form.style.display = form.style.display === "none" ? "flex" : "none";
        if (form.style.display !== "none") { form.querySelector("input").focus(); }
      }));
      box.appendChild(form);
    }
    auth.onChange(render);
    render();
  }

  function init(app) {
    var auth = new Auth(app);
    app.auth = auth;
    addControl(app, auth);
    var key = storedKey();
    if (key) { auth.signIn(key).catch(function () { /* expired or revoked: signed out */ }); }
    return auth;
  }

  return { init: init, boxControl: boxControl };
})();
