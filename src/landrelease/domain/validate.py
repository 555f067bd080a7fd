"""Checks and normalises incoming attribute columns of a record kind, vectorised over rows.

Values are parsed once per distinct value (codes, dates and counts repeat a lot), so checking
100,000 rows costs little more than checking their distinct values.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from landrelease.domain import checks
from landrelease.domain.codes import ActivityStatus, HazardType, Status, code_key
from landrelease.domain.errors import LandreleaseError
from landrelease.domain.geometry import Problem
from landrelease.domain.records import (
    ACTIVITIES,
    EVENTS,
    HAZARDS,
    SYSTEM_FIELDS,
    FieldSpec,
    RecordKind,
)

_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}
_NON_NEGATIVE = {
    "quantity",
    "quantity_low",
    "quantity_best",
    "quantity_high",
    "killed_civilian",
    "injured_civilian",
    "killed_deminer",
    "injured_deminer",
    "cancelled_m2",
    "reduced_m2",
    "cleared_m2",
}


# How far past today a date may lie before it is refused: clocks and time zones differ (a
# record entered just after midnight in Kyiv is dated tomorrow on a server keeping UTC).
FUTURE_TOLERANCE = dt.timedelta(days=1)
FUTURE_TOLERANCE_ENV = "LANDRELEASE_FUTURE_DATE_TOLERANCE_DAYS"

# Dates of what happened (reported, emplaced, found, occurred, done) cannot lie in the future.
# A contamination event's emplaced_until closes the range of dates the devices were laid in:
# that too is past. Only an activity that is not completed has dates that describe the future:
# a planned one's start and end are its schedule, an open one's end when it should finish.
_SCHEDULE_FIELDS = {ACTIVITIES.name: ("start_date", "end_date")}
_DONE = ActivityStatus.COMPLETED.value


def today() -> dt.date:
    """Return today's date on this machine: the day future dates are measured from."""
    return dt.date.today()


def future_tolerance() -> dt.timedelta:
    """Return how far past `today()` a date of something that happened may lie.

    `FUTURE_TOLERANCE` (one day, for clocks), unless the environment variable
    LANDRELEASE_FUTURE_DATE_TOLERANCE_DAYS gives a whole number of days, 0 or more; it is
    read at each check. Any other value of it raises LandreleaseError.
    """
    raw = os.environ.get(FUTURE_TOLERANCE_ENV, "").strip()
    if not raw:
        return FUTURE_TOLERANCE
    try:
        days = int(raw)
    except ValueError:
        days = -1
    if days < 0:
        raise LandreleaseError(
            f"{FUTURE_TOLERANCE_ENV}={raw!r} is not a number of days; set it to a whole "
            f"number, 0 or more (default {FUTURE_TOLERANCE.days}), or unset it"
        )
    return dt.timedelta(days=min(days, dt.timedelta.max.days))


def _latest_iso(now: dt.date) -> str:
    """Return the latest date allowed, in ISO form (ISO dates compare as text)."""
    try:
        return (now + future_tolerance()).isoformat()
    except OverflowError:
        return dt.date.max.isoformat()


class _Bad(ValueError):
    pass


def _is_null(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    if v is pd.NaT or v is pd.NA:
        return True
    return isinstance(v, str) and not v.strip()


def _clean_text(v: Any) -> str | None:
    if isinstance(v, str):
        return v.strip() or None
    return None if _is_null(v) else str(v).strip() or None


def _text(v: Any) -> str:
    return str(v).strip()


def _int(v: Any) -> int:
    if isinstance(v, bool):
        raise _Bad(f"{v!r} is not a whole number")
    if isinstance(v, int | np.integer):
        return int(v)
    try:
        f = float(str(v).strip())
    except ValueError:
        raise _Bad(f"{v!r} is not a whole number") from None
    if not f.is_integer():
        raise _Bad(f"{v!r} is not a whole number")
    return int(f)


def _float(v: Any) -> float:
    try:
        f = float(str(v).strip()) if isinstance(v, str) else float(v)
    except (TypeError, ValueError):
        raise _Bad(f"{v!r} is not a number") from None
    if not math.isfinite(f):
        raise _Bad(f"{v!r} is not a finite number")
    return f


def _date(v: Any) -> str:
    if isinstance(v, dt.datetime | pd.Timestamp):
        return v.date().isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, np.datetime64):
        return str(v.astype("datetime64[D]"))
    s = str(v).strip()
    try:
        return dt.date.fromisoformat(s[:10]).isoformat()
    except ValueError:
        raise _Bad(f"{v!r} is not a date; write it as YYYY-MM-DD") from None


def _bool(v: Any) -> bool:
    if isinstance(v, bool | np.bool_):
        return bool(v)
    s = str(v).strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise _Bad(f"{v!r} is not true/false")


def _code_parser(spec: FieldSpec) -> Callable[[Any], str]:
    assert spec.codes is not None
    by_lower = {c.value.lower(): c.value for c in spec.codes}
    known = ", ".join(c.value for c in spec.codes)

    def parse(v: Any) -> str:
        key = code_key(v)
        if key in by_lower:
            return by_lower[key]
        raise _Bad(f"unknown {spec.name} code {v!r}; use one of {known}")

    return parse


def _codes_parser(spec: FieldSpec) -> Callable[[Any], str]:
    one = _code_parser(spec)

    def parse(v: Any) -> str:
        if isinstance(v, list | tuple | np.ndarray):
            parts = [str(p) for p in v]
        else:
            parts = str(v).replace(",", ";").split(";")
        codes = [one(p) for p in parts if p.strip()]
        return ";".join(dict.fromkeys(codes))  # keep order, drop repeats

    return parse


def parser_for(spec: FieldSpec) -> Callable[[Any], Any]:
    """Return the function that turns one raw value into the stored value of `spec`."""
    if spec.kind == "code":
        return _code_parser(spec)
    if spec.kind == "codes":
        return _codes_parser(spec)
    base = {"text": _text, "int": _int, "float": _float, "date": _date, "bool": _bool}[spec.kind]
    if spec.name in _NON_NEGATIVE:

        def non_negative(v: Any) -> Any:
            x: Any = base(v)
            if x < 0:
                raise _Bad(f"{v!r} is negative")
            return x

        return non_negative
    return base


@dataclass
class Prepared:
    """Normalised columns of a batch, with every problem found and the columns ignored."""

    columns: dict[str, list[Any]]
    problems: list[Problem] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    future: list[Problem] = field(default_factory=list)  # those of `problems` for future dates


def prepare_columns(kind: RecordKind, frame: pd.DataFrame) -> Prepared:
    """Return the batch's columns parsed and checked field by field (rows are 0-based).

    A date may not lie in the future: after `today()` plus `future_tolerance()` (one day
    for clocks, or the days in LANDRELEASE_FUTURE_DATE_TOLERANCE_DAYS), but for the start and
    end of an activity that is not completed (its schedule). Raises LandreleaseError when
    that variable is set to something other than a whole number of days, 0 or more.
    """
    n = len(frame)
    lower = {str(c).strip().lower(): c for c in frame.columns if c != "geometry"}
    out: dict[str, list[Any]] = {}
    problems: list[Problem] = []
    now = today()
    latest: str | None = None  # the latest date allowed, looked up once a date is present
    filled: dict[str, Sequence[int]] = {}  # field -> the rows given its default
    future: dict[str, np.ndarray] = {}  # field -> rows dated after `latest`
    for spec in kind.fields:
        if spec.name in SYSTEM_FIELDS:
            continue
        src = lower.pop(spec.name, None)
        if src is None and len(spec.name) > 10:  # a Shapefile cuts field names to 10 bytes
            src = lower.pop(spec.name[:10], None)
        default = spec.default
        if isinstance(default, tuple):
            default = ";".join(default) or None
        if src is None:
            if spec.required:
                problems.extend(Problem(i, spec.name, f"{spec.name} is required") for i in range(n))
            out[spec.name] = [default] * n
            filled[spec.name] = range(n)
            continue
        series = frame[src]
        if spec.kind == "text" and series.dtype == object:
            # Free text is mostly distinct: trim each value rather than parse distinct ones.
            out[spec.name] = [
                (v.strip() or None) if type(v) is str else _clean_text(v) for v in series.tolist()
            ]
            if spec.required:
                problems.extend(
                    Problem(i, spec.name, f"{spec.name} is required")
                    for i, v in enumerate(out[spec.name])
                    if v is None
                )
            continue
        codes_, uniques = pd.factorize(series, use_na_sentinel=True)
        parse = parser_for(spec)
        parsed: list[Any] = []
        errors: dict[int, str] = {}
        for j, v in enumerate(uniques):
            if _is_null(v):
                parsed.append(None)
                continue
            try:
                parsed.append(parse(v))
            except _Bad as exc:
                parsed.append(None)
                errors[j] = str(exc)
        if spec.kind == "date" and any(p is not None for p in parsed):
            latest = latest or _latest_iso(now)
            late = [j for j, p in enumerate(parsed) if p is not None and p > latest]
            if late:
                future[spec.name] = np.flatnonzero(np.isin(codes_, late))
        parsed.append(None)  # index -1: missing values
        values = [parsed[k] for k in codes_.tolist()]
        if errors:
            for i in np.flatnonzero(np.isin(codes_, list(errors))).tolist():
                problems.append(Problem(i, spec.name, errors[int(codes_[i])]))
        if spec.required or default is not None:
            missing = [i for i, v in enumerate(values) if v is None]
            for i in missing:
                if spec.required and int(codes_[i]) not in errors:
                    problems.append(Problem(i, spec.name, f"{spec.name} is required"))
                elif not spec.required:
                    values[i] = default
            if not spec.required:
                filled[spec.name] = missing
        out[spec.name] = values
    _follow_status(kind, out, filled)
    dated_later = _future_dates(kind, out, future, now)
    problems += dated_later
    ignored = [
        str(c)
        for k, c in lower.items()
        if k not in SYSTEM_FIELDS and k not in {"fid", "id", "updated_at", "geom_key"}
    ]
    return Prepared(out, problems, ignored, dated_later)


def _follow_status(
    kind: RecordKind, columns: dict[str, list[Any]], filled: dict[str, Sequence[int]]
) -> None:
    """Give a confirmed area left without a hazard type the type its status says: CHA."""
    if kind is not HAZARDS or not filled.get("hazard_type"):
        return
    status, hazard_type = columns["status"], columns["hazard_type"]
    for i in filled["hazard_type"]:
        if status[i] == Status.CONFIRMED.value:
            hazard_type[i] = HazardType.CHA.value


def _future_dates(
    kind: RecordKind, columns: dict[str, list[Any]], future: dict[str, np.ndarray], now: dt.date
) -> list[Problem]:
    """Return a problem for each future date, but an unfinished activity's schedule."""
    problems = []
    for name, rows in future.items():
        if name in _SCHEDULE_FIELDS.get(kind.name, ()):
            status = np.asarray(columns["status"], dtype=object)[rows]
            rows = rows[status == _DONE]
        values = columns[name]
        problems += [
            Problem(
                i, name, f"{name} {values[i]} lies in the future (today is {now}); check the date"
            )
            for i in rows.tolist()
        ]
    return problems


def check_event_ranges(columns: dict[str, list[Any]]) -> list[Problem]:
    """Return problems with contamination events' low <= best <= high and date order.

    The three rules of `domain.checks` (quantity_low, quantity_high, emplaced dates) together.
    """
    batch = checks.Batch(EVENTS, columns)
    return sorted(
        [
            *checks.quantity_low_within_best(batch),
            *checks.quantity_high_within_best(batch),
            *checks.emplaced_in_order(batch),
        ],
        key=lambda p: p.row,
    )


def check_activity_dates(columns: dict[str, list[Any]]) -> list[Problem]:
    """Return problems where an activity ends before it starts (one rule of `domain.checks`)."""
    return checks.activity_dates_in_order(checks.Batch(ACTIVITIES, columns))
