"""What a refused feature is told: the importer's reason codes (and the database's own
constraint errors, the last line of defence) as the system's exceptions, each naming
the field and the rule: 400 malformed, 409 natural key taken or still referenced, 422
against the layer's rules."""
from __future__ import annotations

from sqlalchemy import exc as sa_exc

from ..errors import FeatureConflict, InvalidFeature, UnprocessableFeature, WriteRejected
from ..importing.target import ImportTarget
from ..importing.validate import REASONS

GEOMETRY_REASONS = ("geometry_missing", "geometry_unreadable", "empty_geometry",
                    "invalid_geometry_rejected", "wrong_geometry_type", "outside_region")
UNPROCESSABLE = ("outside_region", "value_not_allowed", "unknown_reference")
CONFLICT = ("natural_key_taken", "duplicate_key", "already_in_layer")


def _check_columns(target: ImportTarget, name: str) -> str:
    for check, _, used in target.checks:
        if check == name:
            return ",".join(sorted(used))
    return name


def refusal(target: ImportTarget, reason: str, index: int) -> WriteRejected:
    """The exception for the first reason a feature was refused for."""
    rule, _, detail = reason.partition(":")
    words = REASONS.get(rule, rule.replace("_", " "))
    if rule in GEOMETRY_REASONS:
        field = "geometry"
    elif rule == "value_not_allowed":
        field = _check_columns(target, detail)
    elif rule in CONFLICT:
        field = ",".join(target.natural_key)
    else:
        field = detail or None
    message = f"{target.layer_id}: {words}" + (f" ({field})" if field else "")
    kind = (FeatureConflict if rule in CONFLICT else
            UnprocessableFeature if rule in UNPROCESSABLE else InvalidFeature)
    return kind(message, field=field, rule=rule, action=index)


def _columns_of(target: ImportTarget, constraint: str | None) -> str | None:
    table = target.table
    for c in table.constraints:
        if c.name == constraint:
            return ",".join(col.name for col in c.columns) or _check_columns(target, constraint)
    for fk in table.foreign_keys:
        if fk.constraint is not None and fk.constraint.name == constraint:
            return fk.parent.name
    return None


def integrity_refusal(target: ImportTarget, exc: sa_exc.IntegrityError, op: str,
                      index: int | None) -> WriteRejected:
    """A constraint error of the write (two features of one transaction with the same
    natural key, a feature still referenced) as a refusal naming the field."""
    diag = getattr(getattr(exc, "orig", None), "diag", None)
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    constraint = getattr(diag, "constraint_name", None)
    field = _columns_of(target, constraint)
    if sqlstate == "23505":
        return FeatureConflict(f"{target.layer_id}: {REASONS['natural_key_taken']}", field=field,
                               rule="natural_key_taken", action=index)
    if sqlstate == "23503" and op == "delete":
        return FeatureConflict(f"{target.layer_id}: the feature is still referenced by other "
                               "features", field="id", rule="still_referenced", action=index)
    if sqlstate == "23503":
        return UnprocessableFeature(f"{target.layer_id}: {REASONS['unknown_reference']}",
                                    field=field, rule="unknown_reference", action=index)
    return UnprocessableFeature(f"{target.layer_id}: {REASONS['value_not_allowed']}", field=field,
                                rule="value_not_allowed", action=index)
