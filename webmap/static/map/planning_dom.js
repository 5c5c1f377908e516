/* Small DOM helpers the planning tools share: an element maker, numbers in the
 * interface language, and a map control that is a button opening a panel. */
var GisdbPlanningDom = (function () {
  "use strict";

  /* A new element with a class, appended to `parent` when given. */
  function el(tag, cls, parent) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (parent) { parent.appendChild(node); }
    return node;
  }

  /* A number with the separators of the interface language (vi-VN or en-GB). */
  function fmt(value, digits) {
    var lang = GisdbI18n.lang() === "vi" ? "vi-VN" : "en-GB";
    return Number(value || 0).toLocaleString(lang, { maximumFractionDigits: digits || 0 });
  }

  /* A control at `o.position`: a button (id `o.id`, words `o.label`, tooltip `o.title`)
   * that shows and hides the panel `o.build()` makes the first time it is pressed (at once
   * with `o.eager`). */
  function panelControl(app, o) {
    var Control = L.Control.extend({
      options: { position: o.position },
      onAdd: function () {
        var box = L.DomUtil.create("div", o.cls + " leaflet-bar");
        var button = L.DomUtil.create("button", "gisdb-panel-toggle", box);
        var panel = null;
        button.type = "button";
        button.id = o.id;
        button.setAttribute("data-i18n", o.label);
        button.setAttribute("data-i18n-title", o.title || o.label);
        button.textContent = GisdbI18n.t(o.label);
        L.DomEvent.disableClickPropagation(box);
        L.DomEvent.disableScrollPropagation(box);
        if (o.eager) {                      // built now, hidden until the button is pressed
          panel = box.appendChild(o.build());
          panel.hidden = true;
        }
        L.DomEvent.on(button, "click", function () {
          if (!panel) {
            panel = box.appendChild(o.build());
            GisdbI18n.apply(box);
          } else {
            panel.hidden = !panel.hidden;
          }
          button.setAttribute("aria-expanded", String(!panel.hidden));
        });
        return box;
      }
    });
    return new Control().addTo(app.map);
  }

  return { el: el, fmt: fmt, panelControl: panelControl };
})();
