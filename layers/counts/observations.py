"""A batch of observations pushed by the IOC for one station, checked before anything is
written: a JSON object `{"observations": [{"time", "motorbikes", "cars", "trucks",
"buses", "avg_speed_kmh"}, ...]}`, or CSV text with those columns (a header line first).

Rules, each failure naming the observation's index (from 0) and its field:
- `time` is RFC 3339 with a UTC offset (`Z` or `+07:00`), on the hour (the counts are
  hourly), and not more than an hour ahead of now; one time per station in a batch;
- the four counts are whole numbers from 0 to MAX_COUNT; `avg_speed_kmh` is a number
  from 0 to MAX_SPEED or null/absent;
- no other member; at most MAX_OBSERVATIONS per batch (a year of hours is 8,760).
One bad observation rejects the whole batch (nothing is written)."""
from __future__ import annotations

import csv
import datetime as dt
import io
import math
from dataclasses import dataclass

from gisdb.errors import InvalidParameter, WriteRejected

from .buckets import VEHICLES

FIELDS = ("time", *VEHICLES, "avg_speed_kmh")
MAX_OBSERVATIONS = 10_000
MAX_COUNT = 1_000_000                 # vehicles in one hour at one station
MAX_SPEED = 300.0


class InvalidObservation(WriteRejected, InvalidParameter):
    """One observation of a batch breaks a rule (a 400): `field` names it
    (observations[i].name), `rule` the rule (required, type, minimum, maximum, format,
    unique, unknown) and `action` its index."""

    code = "InvalidObservation"

    def __init__(self, index: int | None, name: str | None, rule: str, message: str):
        where = "observations" + (f"[{index}]" if index is not None else "") + (f".{name}" if name else "")
        super().__init__(f"{where}: {message}; nothing was written", field=where, rule=rule, action=index)


@dataclass(frozen=True)
class Observation:
    """One checked hour of counts (time in UTC)."""

    time: dt.datetime
    motorbikes: int
    cars: int
    trucks: int
    buses: int
    avg_speed_kmh: float | None

    def as_json(self) -> dict:
        """The record bound into the upsert (json_to_recordset)."""
        return {"time": self.time.isoformat(), **{n: getattr(self, n) for n in FIELDS[1:]}}


def _time(index: int, raw, now: dt.datetime) -> dt.datetime:
    if not isinstance(raw, str) or not 20 <= len(raw) <= 35:
        raise InvalidObservation(index, "time", "format", "an RFC 3339 time such as 2026-03-02T08:00:00+07:00")
    try:
        value = dt.datetime.fromisoformat(raw.replace("z", "Z"))
    except ValueError:
        raise InvalidObservation(index, "time", "format", f"{raw[:35]!r} is not an RFC 3339 time") from None
    if value.tzinfo is None:
        raise InvalidObservation(index, "time", "format", "the time needs a UTC offset (Z or +07:00)")
    value = value.astimezone(dt.timezone.utc)
    if value.minute or value.second or value.microsecond:
        raise InvalidObservation(index, "time", "format", "counts are hourly: the time must be on the hour")
    if value > now + dt.timedelta(hours=1):
        raise InvalidObservation(index, "time", "maximum", "the time is in the future")
    return value


def _count(index: int, name: str, raw) -> int:
    if raw is None:
        raise InvalidObservation(index, name, "required", "is required")
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise InvalidObservation(index, name, "type", "must be a whole number")
    if raw < 0:
        raise InvalidObservation(index, name, "minimum", "must not be negative")
    if raw > MAX_COUNT:
        raise InvalidObservation(index, name, "maximum", f"must be at most {MAX_COUNT:,}")
    return raw


def _speed(index: int, raw) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
        raise InvalidObservation(index, "avg_speed_kmh", "type", "must be a number or null")
    if not 0 <= raw <= MAX_SPEED:
        raise InvalidObservation(index, "avg_speed_kmh", "maximum" if raw > 0 else "minimum",
                                 f"must be from 0 to {MAX_SPEED:g} km/h")
    return round(float(raw), 1)


def observation(index: int, raw, now: dt.datetime) -> Observation:
    """One observation checked against the rules (InvalidObservation otherwise)."""
    if not isinstance(raw, dict):
        raise InvalidObservation(index, None, "type", "each observation must be an object")
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise InvalidObservation(index, str(unknown[0])[:40], "unknown",
                                 "unknown field (allowed: " + ", ".join(FIELDS) + ")")
    if "time" not in raw:
        raise InvalidObservation(index, "time", "required", "is required")
    return Observation(_time(index, raw["time"], now),
                       *(_count(index, n, raw.get(n)) for n in VEHICLES),
                       _speed(index, raw.get("avg_speed_kmh")))


def batch(items, now: dt.datetime | None = None) -> list[Observation]:
    """The checked observations of a batch (a list), none repeating a time."""
    if not isinstance(items, list) or not items:
        raise InvalidObservation(None, None, "required", "a non-empty list of observations is required")
    if len(items) > MAX_OBSERVATIONS:
        raise InvalidObservation(None, None, "maximum", f"at most {MAX_OBSERVATIONS:,} observations per batch")
    now = now or dt.datetime.now(dt.timezone.utc)
    checked, seen = [], {}
    for index, raw in enumerate(items):
        obs = observation(index, raw, now)
        if obs.time in seen:
            raise InvalidObservation(index, "time", "unique",
                                     f"the same hour as observations[{seen[obs.time]}]")
        seen[obs.time] = index
        checked.append(obs)
    return checked


def from_json(body) -> list[Observation]:
    """A decoded JSON body `{"observations": [...]}` as checked observations."""
    if not isinstance(body, dict):
        raise InvalidParameter('the request body must be a JSON object {"observations": [...]}')
    unknown = sorted(set(body) - {"observations"})
    if unknown:
        raise InvalidParameter("unknown member(s) in the body: " + ", ".join(unknown)[:200])
    return batch(body.get("observations"))


def _csv_value(text: str, name: str):
    """A CSV cell as the JSON value the rules check: counts as integers, the speed as
    a number, empty as null, anything else left as text (and refused by the rules)."""
    text = text.strip()
    if name == "time" or text == "":
        return text or None
    try:
        return int(text) if name in VEHICLES else float(text)
    except ValueError:
        return text


def from_csv(raw: bytes) -> list[Observation]:
    """CSV text (UTF-8, a header naming the columns) as checked observations."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidParameter("the CSV body must be UTF-8") from None
    reader = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(reader, [])]
    unknown = sorted(set(header) - set(FIELDS))
    if unknown or len(set(header)) != len(header):
        raise InvalidParameter("CSV columns must be among " + ", ".join(FIELDS) + ", each once")
    items = []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header) or len(items) > MAX_OBSERVATIONS:
            raise InvalidObservation(len(items), None, "format" if len(row) != len(header) else "maximum",
                                     f"expected {len(header)} cells" if len(row) != len(header)
                                     else f"at most {MAX_OBSERVATIONS:,} observations per batch")
        items.append({name: _csv_value(cell, name) for name, cell in zip(header, row)})
    return batch(items)
