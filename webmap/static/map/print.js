/* The print layout: a sheet of paper (A4 or A3, landscape or portrait) holding the map
 * with a title, the date, a scale bar with the scale, a north arrow, the legend of the
 * visible layers and the source line (the attributions of the layers on the map), and
 * no button or control. The sheet is shown on screen as it will print; the browser's own
 * print dialog (or "Save as PDF") prints it on one page, the page size set by @page.
 * app.print.enter({paper, orientation, title}) and app.print.exit() are what the
 * toolbar button, the bar above the sheet and the tests call. */
var GisdbPrint = (function () {
  "use strict";
  var PAPERS = { A4: [210, 297], A3: [297, 420] };     // mm, short side first
  var MARGIN_MM = 0.5;                                 // keeps the sheet inside one page
  var SCALE_MAX_PX = 160;

  var el = GisdbPlanningDom.el;

  /* [width, height] in mm of a paper in an orientation. */
  function paperSize(paper, orientation) {
    var size = PAPERS[paper] || PAPERS.A4;
    return orientation === "portrait" ? [size[0], size[1]] : [size[1], size[0]];
  }

  /* A round length (1, 2 or 5 x 10^k metres) of at most `maxM`. */
  function niceLength(maxM) {
    var pow = Math.pow(10, Math.floor(Math.log(maxM) / Math.LN10));
    var steps = [5, 2, 1];
    for (var i = 0; i < steps.length; i += 1) {
      if (steps[i] * pow <= maxM) { return steps[i] * pow; }
    }
    return pow;
  }

  /* Metres per CSS pixel across the middle of the map. */
  function metresPerPixel(map) {
    var size = map.getSize(), y = size.y / 2;
    var a = map.containerPointToLatLng([0, y]), b = map.containerPointToLatLng([100, y]);
    return map.distance(a, b) / 100;
  }

  var fmtNumber = GisdbPlanningDom.fmt;

  /* The scale bar and the printed scale (1 CSS px = 0.2646 mm on paper). */
  function drawScale(box, map) {
    box.innerHTML = "";
    var mpp = metresPerPixel(map);
    var metres = niceLength(mpp * SCALE_MAX_PX);
    var bar = el("div", "gisdb-print-scalebar", box);
    bar.style.width = Math.round(metres / mpp) + "px";
    var label = el("span", "gisdb-print-scalelabel", box);
    label.textContent = metres >= 1000 ? fmtNumber(metres / 1000) + " km" : fmtNumber(metres) + " m";
    var ratio = Math.round(mpp * 96 / 0.0254);
    var digits = Math.pow(10, Math.max(0, String(ratio).length - 2));
    var ratioEl = el("div", "gisdb-print-ratio", box);
    ratioEl.textContent = GisdbI18n.t("print_scale", { n: fmtNumber(Math.round(ratio / digits) * digits) });
  }

  function northArrow(parent) {
    var box = el("div", "gisdb-print-north", parent);
    box.innerHTML = '<svg viewBox="0 0 40 56" width="30" height="42" aria-hidden="true">' +
      '<polygon points="20,4 34,48 20,38 6,48" fill="#222" stroke="#222" stroke-width="1"/>' +
      '<polygon points="20,4 20,38 6,48" fill="#fff" stroke="#222" stroke-width="1"/></svg>';
    var n = el("div", "gisdb-print-n", box);
    n.setAttribute("data-i18n", "print_north");
    n.textContent = GisdbI18n.t("print_north");
    return box;
  }

  function drawLegend(box, app) {
    box.innerHTML = "";
    var zoom = app.map.getZoom();
    app.visibleVectorLayers().forEach(function (id) {
      var entry = app.legend.entry(app.layersById[id], zoom);
      entry.querySelectorAll("details").forEach(function (d) { d.open = true; });
      entry.querySelectorAll(".gisdb-legend-hint").forEach(function (h) { h.remove(); });
      box.appendChild(entry);
    });
  }

  /* The attributions of what is on the map, as one line of text. */
  function sourceText(app) {
    var control = app.map.attributionControl;
    var text = control ? control.getContainer().textContent : "";
    return text.replace(/^\s*Leaflet\s*\|?\s*/, "").replace(/\s+/g, " ").trim();
  }

  function Printer(app) {
    this.app = app;
    this.active = false;
    this.options = { paper: "A4", orientation: "landscape", title: "" };
  }

  Printer.prototype.build = function () {
    var bar = this.bar = el("div", "gisdb-print-bar");
    bar.id = "gisdb-print-bar";
    var self = this;
    bar.innerHTML = '<label><span data-i18n="print_map_title"></span> <input name="title" size="36"></label>' +
      '<label><span data-i18n="print_paper"></span> <select name="paper"><option>A4</option><option>A3</option></select></label>' +
      '<label><span data-i18n="print_orientation"></span> <select name="orientation">' +
      '<option value="landscape" data-i18n="print_landscape"></option>' +
      '<option value="portrait" data-i18n="print_portrait"></option></select></label>' +
      '<button type="button" name="print" data-i18n="print_go"></button>' +
      '<button type="button" name="close" data-i18n="print_close"></button>';
    bar.addEventListener("change", function () { self.fromBar(); });
    bar.querySelector("input").addEventListener("input", function () { self.fromBar(); });
    bar.querySelector("[name=print]").addEventListener("click", function () { window.print(); });
    bar.querySelector("[name=close]").addEventListener("click", function () { self.exit(); });
    var sheet = this.sheet = el("div", "gisdb-print-sheet");
    sheet.id = "gisdb-print-sheet";
    var header = el("div", "gisdb-print-header", sheet);
    this.titleEl = el("h1", "gisdb-print-title", header);
    this.dateEl = el("div", "gisdb-print-date", header);
    this.mapBox = el("div", "gisdb-print-map", sheet);
    var footer = el("div", "gisdb-print-footer", sheet);
    this.legendEl = el("div", "gisdb-print-legend", footer);
    var marks = el("div", "gisdb-print-marks", footer);
    this.scaleEl = el("div", "gisdb-print-scale", marks);
    northArrow(marks);
    this.sourceEl = el("div", "gisdb-print-source", sheet);
    this.pageStyle = el("style", "", document.head);
  };

  Printer.prototype.fromBar = function () {
    var bar = this.bar;
    this.enter({ title: bar.querySelector("[name=title]").value,
      paper: bar.querySelector("[name=paper]").value,
      orientation: bar.querySelector("[name=orientation]").value });
  };

  /* Show the sheet (or re-lay it out with new options). */
  Printer.prototype.enter = function (options) {
    var app = this.app, o = this.options;
    Object.keys(options || {}).forEach(function (k) { if (options[k] !== undefined) { o[k] = options[k]; } });
    if (!this.sheet) { this.build(); }
    var container = app.map.getContainer();
    if (!this.active) {
      this.home = { parent: container.parentNode, next: container.nextSibling };
      document.body.insertBefore(this.sheet, document.body.firstChild);
      document.body.insertBefore(this.bar, this.sheet);
      this.mapBox.appendChild(container);
      document.body.classList.add("gisdb-printing");
      this.active = true;
    }
    var size = paperSize(o.paper, o.orientation);
    this.sheet.style.width = (size[0] - MARGIN_MM) + "mm";
    this.sheet.style.height = (size[1] - MARGIN_MM) + "mm";
    this.sheet.setAttribute("data-paper", o.paper + "-" + o.orientation);
    this.pageStyle.textContent = "@page { size: " + o.paper + " " + o.orientation + "; margin: 0; }";
    this.bar.querySelector("[name=title]").value = o.title;
    this.bar.querySelector("[name=paper]").value = o.paper;
    this.bar.querySelector("[name=orientation]").value = o.orientation;
    app.map.invalidateSize({ pan: false });
    this.refresh();
    return this;
  };

  /* Title, date, legend, scale and source for the current view and language. */
  Printer.prototype.refresh = function () {
    if (!this.active) { return; }
    var app = this.app;
    GisdbI18n.apply(this.bar);
    this.titleEl.textContent = this.options.title || GisdbI18n.t("print_heading");
    var today = new Date().toLocaleDateString(GisdbI18n.lang() === "vi" ? "vi-VN" : "en-GB",
      { year: "numeric", month: "long", day: "numeric" });
    this.dateEl.textContent = GisdbI18n.t("print_date", { d: today });
    drawLegend(this.legendEl, app);
    drawScale(this.scaleEl, app.map);
    GisdbI18n.apply(this.sheet);
    this.sourceEl.textContent = GisdbI18n.t("print_source") + sourceText(app);
  };

  Printer.prototype.exit = function () {
    if (!this.active) { return; }
    var container = this.app.map.getContainer();
    this.home.parent.insertBefore(container, this.home.next);
    this.sheet.remove();
    this.bar.remove();
    this.pageStyle.textContent = "";
    document.body.classList.remove("gisdb-printing");
    this.active = false;
    this.app.map.invalidateSize({ pan: false });
  };

  function addButton(app, printer) {
    var Button = L.Control.extend({
      options: { position: "topleft" },
      onAdd: function () {
        var button = L.DomUtil.create("button", "gisdb-print-button leaflet-bar");
        button.type = "button";
        button.id = "gisdb-print-button";
        button.setAttribute("data-i18n", "print_button");
        button.setAttribute("data-i18n-title", "print_title");
        button.textContent = GisdbI18n.t("print_button");
        L.DomEvent.disableClickPropagation(button);
        L.DomEvent.on(button, "click", function () { printer.enter(); });
        return button;
      }
    });
    new Button().addTo(app.map);
  }

  function init(app) {
    var printer = new Printer(app);
    addButton(app, printer);
    app.map.on("moveend zoomend overlayadd overlayremove layeradd layerremove", function () {
      printer.refresh();
    });
    app.map.on("gisdb:style", function () { printer.refresh(); });
    GisdbI18n.onChange(function () { printer.refresh(); });
    // the browser's own print command prints the layout too
    window.addEventListener("beforeprint", function () { if (!printer.active) { printer.enter(); } });
    app.print = printer;
  }

  return { init: init, paperSize: paperSize, niceLength: niceLength };
})();
