/* The attribute form of one feature, built from its layer's JSON Schema
 * (GET /collections/{layer}/schema): a text, number, date or date-time input per
 * property, a select for an `enum` (labelled in Vietnamese / English from the registry's
 * coded values), yes/no for booleans, a mark on required fields, read-only ones
 * disabled. The checks mirror the schema (required, type, minimum/maximum, maxLength,
 * pattern, enum) so most mistakes are shown before a request is sent; the server's own
 * errors (422 naming a field and a rule) are shown beside the field the same way.
 * GisdbEditForm.build(app, layerId, schema, values) -> {element, values(), changes(),
 * validate(), showErrors(), setValues()}. */
var GisdbEditForm = (function () {
  "use strict";
  var INTEGER = /^[-+]?\d+$/;
  var NUMBER = /^[-+]?(\d+([.,]\d*)?|[.,]\d+)([eE][-+]?\d+)?$/;

  /* The schema's type of a property, without "null" (["integer", "null"] -> "integer"). */
  function baseType(prop) {
    var type = prop.type;
    if (Array.isArray(type)) { type = type.filter(function (t) { return t !== "null"; })[0]; }
    if (!type && prop.anyOf) { return baseType(prop.anyOf.filter(function (p) { return p.type !== "null"; })[0] || {}); }
    return type || "string";
  }

  function enumOf(prop) {
    if (prop["enum"]) { return prop["enum"].filter(function (v) { return v !== null; }); }
    var inner = (prop.anyOf || []).filter(function (p) { return p["enum"]; })[0];
    return inner ? inner["enum"] : null;
  }

  /* The field's label: the schema's titles, else the registry's, else its name. */
  function fieldLabel(app, layerId, name, prop) {
    var reg = ((app.layersById[layerId] || {}).fields || []).filter(function (f) { return f.name === name; })[0];
    var vi = prop["x-title-vi"] || (reg && reg.vi) || prop.title || name;
    var en = prop.title || (reg && reg.en) || name;
    return GisdbI18n.span(vi, en);
  }

  function option(value, vi, en) {
    var opt = document.createElement("option");
    opt.value = value;
    opt.setAttribute("data-vi", vi);
    opt.setAttribute("data-en", en);
    opt.textContent = GisdbI18n.lang() === "vi" ? vi : en;
    return opt;
  }

  /* [vi, en] label of a coded value: the schema's x-enum-titles, else the map's own table
   * of coded values, else the value itself. */
  function valueLabel(app, layerId, name, prop, value) {
    var titles = (prop["x-enum-titles"] || {})[value];
    if (titles) { return [titles.vi || value, titles.en || value]; }
    var labels = ((app.config.values || {})[layerId] || {})[name] || {};
    return labels[value] || [value, value];
  }

  function selectFor(app, layerId, name, prop, values, required) {
    var select = document.createElement("select");
    if (!required) { select.appendChild(option("", "—", "—")); }
    values.forEach(function (v) {
      var pair = valueLabel(app, layerId, name, prop, String(v));
      select.appendChild(option(String(v), pair[0], pair[1]));
    });
    return select;
  }

  function booleanSelect(required) {
    var select = document.createElement("select");
    if (!required) { select.appendChild(option("", "—", "—")); }
    select.appendChild(option("true", "Có", "Yes"));
    select.appendChild(option("false", "Không", "No"));
    return select;
  }

  function textInput(type, prop) {
    var input = document.createElement("input");
    var format = prop.readOnly ? null : prop.format;       // shown as the server wrote it
    input.type = format === "date" ? "date" : (format === "date-time" ? "datetime-local" : "text");
    if (type === "number" || type === "integer") { input.inputMode = type === "integer" ? "numeric" : "decimal"; }
    if (prop.maxLength) { input.maxLength = prop.maxLength; }
    return input;
  }

  function Field(app, layerId, name, prop, required) {
    this.name = name;
    this.prop = prop;
    this.type = baseType(prop);
    this.required = required;
    this.readOnly = !!prop.readOnly;
    var values = enumOf(prop);
    this.enumValues = values;
    if (values) { this.input = selectFor(app, layerId, name, prop, values, required); }
    else if (this.type === "boolean") { this.input = booleanSelect(required); }
    else { this.input = textInput(this.type, prop); }
    this.input.name = name;
    this.input.className = "gisdb-edit-input";
    this.input.disabled = this.readOnly;
    this.row = this.render(app, layerId);
  }

  Field.prototype.render = function (app, layerId) {
    var row = document.createElement("div");
    row.className = "gisdb-edit-field" + (this.readOnly ? " gisdb-readonly" : "");
    row.setAttribute("data-field", this.name);
    var label = document.createElement("label");
    label.appendChild(fieldLabel(app, layerId, this.name, this.prop));
    if (this.required && !this.readOnly) {
      var mark = document.createElement("abbr");
      mark.className = "gisdb-required";
      mark.textContent = " *";
      mark.setAttribute("data-i18n-title", "edit_required");
      mark.title = GisdbI18n.t("edit_required");
      label.appendChild(mark);
    }
    var id = "gisdb-edit-" + this.name;
    this.input.id = id;
    label.htmlFor = id;
    this.error = document.createElement("div");
    this.error.className = "gisdb-field-error";
    row.appendChild(label);
    row.appendChild(this.input);
    row.appendChild(this.error);
    return row;
  };

  Field.prototype.set = function (value) {
    if (value === null || value === undefined) { this.input.value = ""; return; }
    if (this.input.type === "datetime-local") { this.input.value = String(value).slice(0, 16); return; }
    this.input.value = String(value);
  };

  /* The typed value of the input (null when empty); a string that is no number stays text
   * for check() to name. */
  Field.prototype.get = function () {
    var raw = this.input.value.trim();
    if (raw === "") { return null; }
    if (this.type === "boolean") { return raw === "true"; }
    if ((this.type === "integer" && INTEGER.test(raw)) || (this.type === "number" && NUMBER.test(raw))) {
      return Number(raw.replace(",", "."));
    }
    return this.input.type === "datetime-local" ? new Date(raw).toISOString() : raw;
  };

  /* The message key (and its parameters) of what is wrong with the value, or null. */
  Field.prototype.check = function () {
    var v = this.get(), p = this.prop;
    if (v === null) { return this.required ? ["edit_err_required"] : null; }
    if (this.type === "integer" && typeof v !== "number") { return ["edit_err_integer"]; }
    if (this.type === "number" && typeof v !== "number") { return ["edit_err_number"]; }
    if (p.minimum !== undefined && v < p.minimum) { return ["edit_err_minimum", { n: p.minimum }]; }
    if (p.exclusiveMinimum !== undefined && v <= p.exclusiveMinimum) { return ["edit_err_exclusive_minimum", { n: p.exclusiveMinimum }]; }
    if (p.maximum !== undefined && v > p.maximum) { return ["edit_err_maximum", { n: p.maximum }]; }
    if (p.maxLength !== undefined && String(v).length > p.maxLength) { return ["edit_err_max_length", { n: p.maxLength }]; }
    if (p.pattern && !(new RegExp(p.pattern)).test(String(v))) { return ["edit_err_pattern"]; }
    if (this.enumValues && this.enumValues.map(String).indexOf(String(v)) < 0) { return ["edit_err_enum"]; }
    return null;
  };

  Field.prototype.showError = function (text) {
    this.error.textContent = text || "";
    this.row.classList.toggle("gisdb-invalid", !!text);
  };

  function sameValue(a, b) {
    if ((a === null || a === undefined || a === "") && (b === null || b === undefined || b === "")) { return true; }
    if (typeof a === "number" || typeof b === "number") { return Number(a) === Number(b); }
    return String(a) === String(b);
  }

  /* The schema of the properties: a Feature schema's `properties.properties`, or a plain
   * object schema. */
  function propertiesSchema(schema) {
    var inner = (schema.properties || {}).properties;
    return inner && inner.properties ? inner : schema;
  }

  function Form(app, layerId, featureSchema, values) {
    var self = this;
    var schema = propertiesSchema(featureSchema);
    var required = schema.required || [];
    this.fields = [];
    this.original = values || {};
    this.element = document.createElement("div");
    this.element.className = "gisdb-edit-fields";
    Object.keys(schema.properties || {}).forEach(function (name) {
      var prop = schema.properties[name];
      if (name === "geometry" || prop.format === "geometry" || prop["x-ogc-role"] === "primary-geometry") { return; }
      var field = new Field(app, layerId, name, prop, required.indexOf(name) >= 0);
      self.fields.push(field);
      self.element.appendChild(field.row);
    });
    this.setValues(this.original);
  }

  Form.prototype.setValues = function (values) {
    this.original = values || {};
    this.fields.forEach(function (f) { f.set(values ? values[f.name] : null); f.showError(""); });
  };

  /* Every writable field's typed value. */
  Form.prototype.values = function () {
    var out = {};
    this.fields.forEach(function (f) { if (!f.readOnly) { out[f.name] = f.get(); } });
    return out;
  };

  /* The writable fields whose value differs from `base` (default: the values loaded). */
  Form.prototype.changes = function (base) {
    var from = base || this.original, out = {};
    this.fields.forEach(function (f) {
      if (!f.readOnly && !sameValue(f.get(), from[f.name])) { out[f.name] = f.get(); }
    });
    return out;
  };

  /* Checks every field, shows the messages; true when all pass. */
  Form.prototype.validate = function () {
    var ok = true;
    this.fields.forEach(function (f) {
      var problem = f.check();
      f.showError(problem ? GisdbI18n.t(problem[0], problem[1]) : "");
      if (problem) { ok = false; }
    });
    return ok;
  };

  /* {field: message} from the server, beside their fields; the rest is returned. */
  Form.prototype.showErrors = function (byField) {
    var rest = {};
    Object.keys(byField).forEach(function (name) { rest[name] = byField[name]; });
    this.fields.forEach(function (f) {
      if (rest[f.name] !== undefined) { f.showError(rest[f.name]); delete rest[f.name]; }
    });
    return rest;
  };

  return {
    build: function (app, layerId, schema, values) { return new Form(app, layerId, schema, values); },
    sameValue: sameValue
  };
})();
