/* Vietnamese for the strings the Leaflet plugins write themselves: the measure tool
 * (leaflet-measure ships no Vietnamese and builds its strings in), leaflet-draw's
 * tooltips and action buttons, the zoom, mini map, full-screen and locate buttons.
 * Each entry is an [English, Vietnamese] pair; whatever the plugins add to the controls
 * or the popup pane is rewritten into the interface language as it appears (a
 * MutationObserver), and again on every language switch. The page's own elements carry
 * their own texts (data-vi / data-i18n) and are left alone. */
var GisdbPluginI18n = (function () {
  "use strict";
  var PHRASES = [
    // Leaflet
    ["Zoom in", "Phóng to"], ["Zoom out", "Thu nhỏ"], ["Layers", "Lớp bản đồ"],
    ["A JavaScript library for interactive maps", "Thư viện JavaScript cho bản đồ tương tác"],
    // mini map, full screen, locate
    ["Hide MiniMap", "Ẩn bản đồ nhỏ"], ["Show MiniMap", "Hiện bản đồ nhỏ"],
    ["Full screen", "Toàn màn hình"], ["Exit full screen", "Thoát toàn màn hình"],
    ["Show my location", "Vị trí của tôi"],
    // leaflet-measure
    ["Measure", "Đo"], ["Measure distances and areas", "Đo khoảng cách và diện tích"],
    ["Create a new measurement", "Tạo phép đo mới"],
    ["Start creating a measurement by adding points to the map",
      "Chọn các điểm trên bản đồ để bắt đầu đo"],
    ["Cancel", "Huỷ"], ["Finish measurement", "Kết thúc phép đo"], ["Last point", "Điểm cuối"],
    ["Path distance", "Chiều dài"], ["Area", "Diện tích"], ["Area measurement", "Đo diện tích"],
    ["Linear measurement", "Đo chiều dài"], ["Point location", "Vị trí điểm"],
    ["Center on this area", "Đưa vùng này vào giữa"], ["Center on this line", "Đưa đường này vào giữa"],
    ["Center on this location", "Đưa điểm này vào giữa"], ["Delete", "Xoá"],
    // leaflet-draw
    ["Draw a polyline", "Vẽ đường"], ["Draw a polygon", "Vẽ đa giác"],
    ["Draw a rectangle", "Vẽ hình chữ nhật"], ["Draw a circle", "Vẽ hình tròn"],
    ["Draw a marker", "Đặt điểm"], ["Draw a circlemarker", "Vẽ điểm tròn"],
    ["Edit layers", "Sửa hình đã vẽ"], ["No layers to edit", "Không có hình để sửa"],
    ["Delete layers", "Xoá hình đã vẽ"],
    ["Cancel drawing", "Huỷ vẽ"], ["Finish", "Xong"], ["Finish drawing", "Hoàn tất hình vẽ"],
    ["Delete last point", "Xoá điểm cuối"], ["Delete last point drawn", "Xoá điểm vừa vẽ"],
    ["Click to start drawing shape.", "Nhấp để bắt đầu vẽ hình."],
    ["Click to continue drawing shape.", "Nhấp để vẽ tiếp."],
    ["Click first point to close this shape.", "Nhấp vào điểm đầu để khép hình."],
    ["Click to start drawing line.", "Nhấp để bắt đầu vẽ đường."],
    ["Click to continue drawing line.", "Nhấp để vẽ tiếp đường."],
    ["Click last point to finish line.", "Nhấp vào điểm cuối để kết thúc đường."],
    ["Click and drag to draw circle.", "Nhấp và kéo để vẽ hình tròn."],
    ["Click and drag to draw rectangle.", "Nhấp và kéo để vẽ hình chữ nhật."],
    ["Release mouse to finish drawing.", "Thả chuột để kết thúc."],
    ["Error:", "Lỗi:"], ["shape edges cannot cross!", "các cạnh không được cắt nhau!"],
    ["Save changes", "Lưu thay đổi"], ["Save", "Lưu"],
    ["Cancel editing, discards all changes", "Huỷ, bỏ mọi thay đổi"],
    ["Clear all layers", "Xoá mọi hình đã vẽ"], ["Clear All", "Xoá hết"],
    ["No layers to delete", "Không có hình để xoá"],
    ["Click on a feature to remove.", "Nhấp vào hình để xoá."]
  ];
  // texts with a value inside: [English pattern, English template, Vietnamese pattern, template]
  var PATTERNS = [
    [/^(.+) Perimeter$/, "$1 Perimeter", /^Chu vi (.+)$/, "Chu vi $1"],
    [/^Radius: (.+)$/, "Radius: $1", /^Bán kính: (.+)$/, "Bán kính: $1"],
    // the measure tool's degrees-minutes-seconds: N / E are B (Bắc) / Đ (Đông)
    [/^(.+") N$/, "$1 N", /^(.+") B$/, "$1 B"],
    [/^(.+") E$/, "$1 E", /^(.+") Đ$/, "$1 Đ"]
  ];
  // unit names inside the measure tool's results (longest first)
  var UNITS = [["Sq Meters", "mét vuông"], ["Kilometers", "ki-lô-mét"], ["Hectares", "héc-ta"],
    ["Meters", "mét"]];
  var OWN = ".gisdb-identify, .gisdb-legend, .gisdb-search, .gisdb-draw-panel, [data-vi], [data-i18n]";
  var ATTRIBUTES = ["title", "aria-label"];
  var toVi = {}, toEn = {};
  PHRASES.forEach(function (p) { toVi[p[0]] = p[1]; toEn[p[1]] = p[0]; });

  function convert(text, lang) {
    var trimmed = text.trim();
    if (!trimmed) { return text; }
    var table = lang === "vi" ? toVi : toEn;
    if (table[trimmed]) { return text.replace(trimmed, table[trimmed]); }
    var out = text;
    PATTERNS.forEach(function (p) {
      var from = lang === "vi" ? p[0] : p[2], template = lang === "vi" ? p[3] : p[1];
      var m = out.trim().match(from);
      if (m) {
        out = out.match(/^\s*/)[0] + template.replace("$1", convert(m[1], lang)) + out.match(/\s*$/)[0];
      }
    });
    UNITS.forEach(function (u) {
      out = lang === "vi" ? out.replace(new RegExp("\\b" + u[0] + "\\b", "g"), u[1])
        : out.split(u[1]).join(u[0]);
    });
    return out;
  }

  function skip(el) { return !el || (el.closest && el.closest(OWN)); }

  /* Rewrite the plugin texts under `root` into `lang`. */
  function translate(root, lang) {
    if (!root || skip(root.nodeType === 3 ? root.parentElement : root)) { return; }
    if (root.nodeType === 3) {
      var next = convert(root.nodeValue, lang);
      if (next !== root.nodeValue) { root.nodeValue = next; }
      return;
    }
    if (root.nodeType !== 1) { return; }
    ATTRIBUTES.forEach(function (name) {
      var value = root.getAttribute(name);
      if (value) {
        var next = convert(value, lang);
        if (next !== value) { root.setAttribute(name, next); }
      }
    });
    Array.prototype.forEach.call(root.childNodes, function (child) { translate(child, lang); });
  }

  /* Watch the controls and the popup pane of `map`; translate now and on each change. */
  function init(app) {
    var map = app.map;
    var roots = [map.getContainer().querySelector(".leaflet-control-container"),
      map.getPanes().popupPane].filter(Boolean);
    var observer = new MutationObserver(function (records) {
      var lang = GisdbI18n.lang();
      records.forEach(function (r) {
        if (r.type === "childList") {
          Array.prototype.forEach.call(r.addedNodes, function (n) { translate(n, lang); });
        } else {
          translate(r.target, lang);
        }
      });
    });
    roots.forEach(function (root) {
      translate(root, GisdbI18n.lang());
      observer.observe(root, { childList: true, subtree: true, characterData: true,
        attributes: true, attributeFilter: ATTRIBUTES });
    });
    GisdbI18n.onChange(function (lang) { roots.forEach(function (root) { translate(root, lang); }); });
    app.pluginI18n = { translate: translate, convert: convert };
  }

  return { init: init, convert: convert };
})();
