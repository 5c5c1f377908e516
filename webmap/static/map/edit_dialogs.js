/* The edit tools' modal dialogs, drawn inside the map (so they work in full screen and on
 * a phone): the confirmation before a delete, and the conflict dialog after a 412, which
 * lists what the other person changed (theirs beside yours) and offers "keep theirs",
 * "overwrite with mine" and "cancel". Each returns a Promise of the choice. */
var GisdbEditDialogs = (function () {
  "use strict";

  function el(tag, cls, key) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (key) { node.setAttribute("data-i18n", key); node.textContent = GisdbI18n.t(key); }
    return node;
  }

  /* A modal box with a title, a body and buttons [[choice, key, class]]; resolves to the
   * choice clicked (Escape: the last button's). */
  function modal(app, titleKey, body, buttons, cls) {
    return new Promise(function (resolve) {
      var shade = el("div", "gisdb-modal-shade");
      var box = el("div", "gisdb-modal " + (cls || ""));
      box.setAttribute("role", "dialog");
      box.setAttribute("aria-modal", "true");
      box.appendChild(el("h4", null, titleKey));
      box.appendChild(body);
      var row = el("div", "gisdb-modal-buttons");
      function close(choice) {
        document.removeEventListener("keydown", onKey);
        shade.parentNode.removeChild(shade);
        resolve(choice);
      }
      function onKey(e) { if (e.key === "Escape") { close(buttons[buttons.length - 1][0]); } }
      buttons.forEach(function (b) {
        var button = el("button", "gisdb-modal-" + b[0] + " " + (b[2] || ""), b[1]);
        button.type = "button";
        L.DomEvent.on(button, "click", function (e) { L.DomEvent.stop(e); close(b[0]); });
        row.appendChild(button);
      });
      box.appendChild(row);
      shade.appendChild(box);
      L.DomEvent.disableClickPropagation(shade);
      L.DomEvent.disableScrollPropagation(shade);
      document.addEventListener("keydown", onKey);
      app.map.getContainer().appendChild(shade);
      row.lastChild.focus();
    });
  }

  /* "Delete <label>?" -> true when confirmed. */
  function confirmDelete(app, layerTitle, label) {
    var p = el("p", "gisdb-modal-text");
    p.appendChild(document.createTextNode(GisdbI18n.t("edit_delete_question") + " "));
    p.appendChild(layerTitle);
    var b = el("b");
    b.textContent = " " + (label || "");
    p.appendChild(b);
    p.appendChild(document.createTextNode("?"));
    return modal(app, "edit_delete_title", p,
      [["delete", "edit_delete_confirm", "gisdb-danger"], ["cancel", "edit_cancel"]], "gisdb-confirm")
      .then(function (choice) { return choice === "delete"; });
  }

  function show(value) {
    if (value === null || value === undefined || value === "") { return "—"; }
    if (typeof value === "object") { return GisdbI18n.t("edit_geometry_value"); }
    return String(value);
  }

  /* The table of the fields the other person changed: field | theirs | yours. */
  function conflictTable(rows) {
    var table = el("table", "gisdb-conflict-table");
    var head = el("tr");
    ["edit_field", "edit_theirs", "edit_yours"].forEach(function (k) { head.appendChild(el("th", null, k)); });
    table.appendChild(head);
    rows.forEach(function (r) {
      var tr = el("tr");
      tr.setAttribute("data-field", r.name);
      var name = el("td");
      name.appendChild(r.label);
      var theirs = el("td", "gisdb-theirs");
      theirs.textContent = show(r.theirs);
      var yours = el("td", "gisdb-yours");
      yours.textContent = show(r.mine);
      tr.appendChild(name);
      tr.appendChild(theirs);
      tr.appendChild(yours);
      table.appendChild(tr);
    });
    return table;
  }

  /* rows: [{name, label (element), theirs, mine}] -> "theirs" | "mine" | "cancel". */
  function conflict(app, rows, who) {
    var body = el("div");
    var text = el("p", "gisdb-modal-text");
    text.textContent = GisdbI18n.t(rows.length ? "edit_conflict_text" : "edit_conflict_same",
      { who: who || GisdbI18n.t("edit_someone") });
    body.appendChild(text);
    if (rows.length) { body.appendChild(conflictTable(rows)); }
    return modal(app, "edit_conflict_title", body,
      [["theirs", "edit_keep_theirs"], ["mine", "edit_overwrite"], ["cancel", "edit_cancel"]],
      "gisdb-conflict");
  }

  return { confirmDelete: confirmDelete, conflict: conflict, modal: modal };
})();
