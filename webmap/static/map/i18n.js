/* Vietnamese / English interface of the planners' map.
 * Labels that come from the registry carry both texts (data-vi / data-en attributes);
 * the page's own words live in STRINGS. Switching language rewrites both in place and
 * keeps ?lang= in the address so a shared link opens in the same language. */
var GisdbI18n = (function () {
  "use strict";
  var STRINGS = {
    vi: {
      search_placeholder: "Tìm thửa đất, đường, phường, dự án…",
      search_none: "Không tìm thấy kết quả",
      search_error: "Không tìm được: ",
      identify_none: "Không có đối tượng nào tại đây trong các lớp đang bật",
      identify_error: "Không truy vấn được: ",
      identify_json: "Xem JSON",
      loading: "Đang tải…",
      legend: "Chú giải",
      legend_zoom: "phóng to để thấy (từ mức {z})",
      draw_title: "Trong vùng vẽ",
      draw_hint: "Vẽ đa giác, đường hoặc hình tròn để xem các đối tượng bên trong",
      draw_layer: "Lớp",
      draw_count: "Số lượng",
      draw_measure: "Tổng",
      draw_area: "Diện tích",
      draw_floor: "Diện tích sàn",
      draw_length: "Chiều dài trong vùng",
      draw_clear: "Xoá",
      draw_error: "Không truy vấn được: ",
      offline_base: "Không có internet: chuyển sang bản đồ nền ngoại tuyến",
      lang_button: "EN",
      lang_title: "Switch to English",
      permalink: "Liên kết tới khung nhìn này",
      tool_polyline: "Vẽ đường (đếm đối tượng dọc theo)",
      tool_polygon: "Vẽ đa giác để truy vấn",
      tool_rectangle: "Vẽ hình chữ nhật để truy vấn",
      tool_circle: "Vẽ hình tròn để truy vấn",
      tool_remove: "Xoá hình đã vẽ",
      copied: "Đã sao chép liên kết",
      panel_layers_short: "Lớp",
      panel_layers: "Hiện / ẩn danh sách lớp",
      panel_legend: "Hiện / ẩn chú giải"
    },
    en: {
      search_placeholder: "Find a parcel, street, ward, project…",
      search_none: "No results",
      search_error: "Search failed: ",
      identify_none: "Nothing here in the visible layers",
      identify_error: "Query failed: ",
      identify_json: "View JSON",
      loading: "Loading…",
      legend: "Legend",
      legend_zoom: "zoom in to see (from level {z})",
      draw_title: "Inside the drawn area",
      draw_hint: "Draw a polygon, line or circle to see what lies inside",
      draw_layer: "Layer",
      draw_count: "Count",
      draw_measure: "Total",
      draw_area: "Area",
      draw_floor: "Floor area",
      draw_length: "Length inside",
      draw_clear: "Clear",
      draw_error: "Query failed: ",
      offline_base: "No internet: switched to the offline base map",
      lang_button: "VI",
      lang_title: "Chuyển sang tiếng Việt",
      permalink: "Link to this view",
      tool_polyline: "Draw a line (count features along it)",
      tool_polygon: "Draw a polygon to query",
      tool_rectangle: "Draw a rectangle to query",
      tool_circle: "Draw a circle to query",
      tool_remove: "Delete drawn shapes",
      copied: "Link copied",
      panel_layers_short: "Layers",
      panel_layers: "Show or hide the layer list",
      panel_legend: "Show or hide the legend"
    }
  };
  var lang = "vi";
  var listeners = [];

  function t(key, params) {
    var text = (STRINGS[lang] && STRINGS[lang][key]) || STRINGS.en[key] || key;
    if (params) {
      Object.keys(params).forEach(function (k) { text = text.replace("{" + k + "}", params[k]); });
    }
    return text;
  }

  /* Rewrite every bilingual label and every [data-i18n] element under `root`. */
  function apply(root) {
    (root || document).querySelectorAll("[data-vi]").forEach(function (el) {
      el.textContent = el.getAttribute("data-" + lang);
    });
    (root || document).querySelectorAll("[data-i18n]").forEach(function (el) {
      el.textContent = t(el.getAttribute("data-i18n"));
    });
    (root || document).querySelectorAll("[data-i18n-placeholder]").forEach(function (el) {
      el.placeholder = t(el.getAttribute("data-i18n-placeholder"));
    });
    (root || document).querySelectorAll("[data-i18n-title]").forEach(function (el) {
      el.title = t(el.getAttribute("data-i18n-title"));
    });
  }

  function setLang(next, keepUrl) {
    if (!STRINGS[next]) { return; }
    lang = next;
    document.documentElement.lang = next;
    apply(document);
    if (!keepUrl && window.history && window.history.replaceState) {
      var url = new URL(window.location.href);
      url.searchParams.set("lang", next);
      window.history.replaceState(null, "", url.pathname + url.search + url.hash);
    }
    listeners.forEach(function (fn) { fn(next); });
  }

  /* The registry's bilingual text of an object with *_vi / *_en or vi / en keys. */
  function pick(obj, base) {
    if (!obj) { return ""; }
    var key = base ? base + "_" + lang : lang;
    var other = base ? base + "_" + (lang === "vi" ? "en" : "vi") : (lang === "vi" ? "en" : "vi");
    return obj[key] || obj[other] || "";
  }

  function span(vi, en) {
    var el = document.createElement("span");
    el.setAttribute("data-vi", vi);
    el.setAttribute("data-en", en);
    el.textContent = lang === "vi" ? vi : en;
    return el;
  }

  /* More strings ({vi: {...}, en: {...}}) from a module with its own file (edit_strings.js). */
  function add(more) {
    Object.keys(more).forEach(function (l) { Object.assign(STRINGS[l], more[l]); });
  }

  return {
    t: t, apply: apply, setLang: setLang, pick: pick, span: span, add: add,
    lang: function () { return lang; },
    onChange: function (fn) { listeners.push(fn); }
  };
})();
