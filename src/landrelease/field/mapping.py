"""What an approved field submission would write: the records it plans, one per kind and row.

`plan` reads a submission's raw ODK text into python values and registry field names. It never
raises on a value it cannot read: that value is left out of the plan, and `flags` reports it.
The readers of ODK's text encoding (`read_date`, `read_count`, `read_geopoint`,
`read_geoshape`) live here so that the plan and its flags read a value the same way.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import shapely
from pyproj import Geod

from landrelease.domain.codes import ActivityStatus, ActivityType, HazardType, Status
from landrelease.domain.errors import ValidationError
from landrelease.field.submission import Submission

_WGS84 = Geod(ellps="WGS84")
_YES_NO = {"yes": True, "no": False}


@dataclass(frozen=True)
class Planned:
    """One record an approval would write."""

    kind: str  # "hazards" | "activities" | "items" | "accidents" | "eore"
    ref: str | None  # an existing record to edit, or None for a new one
    values: dict[str, Any]  # field name -> python value (date, int, tuple of codes...)
    geometry: Any  # shapely geometry in EPSG:4326 (lon/lat) or None
    link: str | None = None  # "activity": activity_ref is the new activity planned beside it


@dataclass(frozen=True)
class Fix:
    """One GNSS position as ODK records it: longitude, latitude and accuracy in metres."""

    lon: float
    lat: float
    accuracy: float | None

    @property
    def point(self) -> shapely.Point:
        return shapely.Point(self.lon, self.lat)


# -- ODK's text encoding ----------------------------------------------------------------------


def read_date(text: str) -> dt.date:
    """Return an ODK date (``YYYY-MM-DD``) as a date; ValueError names what is wrong."""
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def read_count(text: str) -> int:
    """Return an ODK integer that counts something (0 or more); ValueError otherwise."""
    try:
        n = int(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a whole number") from None
    if n < 0:
        raise ValueError(f"{n} is not a count (0 or more)")
    return n


def read_geopoint(text: str) -> Fix:
    """Return an ODK geopoint (``"lat lon [alt [acc]]"``) as a fix in lon/lat order.

    ValueError when the text is not two to four numbers or the latitude or longitude lies
    outside the globe.
    """
    parts = text.split()
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        numbers = []
    if not 2 <= len(numbers) <= 4 or not all(math.isfinite(n) for n in numbers):
        raise ValueError(f"{text!r} is not a position (latitude longitude altitude accuracy)")
    lat, lon = numbers[0], numbers[1]
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"{text!r} lies outside the globe (latitude {lat}, longitude {lon})")
    return Fix(lon, lat, numbers[3] if len(numbers) == 4 else None)


def read_geoshape(text: str) -> list[Fix]:
    """Return the points of an ODK geoshape (geopoints joined by ``";"``), in order."""
    return [read_geopoint(p) for p in text.split(";") if p.strip()]


def polygon_of(fixes: list[Fix]) -> shapely.Polygon | None:
    """Return the polygon walked through `fixes` (closed), or None below 3 distinct points."""
    coords = [(f.lon, f.lat) for f in fixes]
    if len(set(coords)) < 3:
        return None
    if coords[0] != coords[-1]:
        coords.append(coords[0])
    return shapely.Polygon(coords)


def area_m2(polygon: shapely.Polygon) -> float:
    """Return a polygon's area in m2 on the WGS84 ellipsoid."""
    area, _ = _WGS84.geometry_area_perimeter(polygon)
    return round(abs(area), 1)


# -- reading one set of answers ---------------------------------------------------------------


class _Answers:
    """The answers of a submission or of one repeat row, read as python values.

    Every reader gives None for an answer that is empty or cannot be read.
    """

    def __init__(self, raw: dict[str, str]) -> None:
        self.raw = raw

    def _read(self, name: str, reader: Callable[[str], Any]) -> Any:
        text = self.raw.get(name, "").strip()
        if not text:
            return None
        try:
            return reader(text)
        except ValueError:
            return None

    def text(self, name: str) -> str | None:
        return self.raw.get(name, "").strip() or None

    def date(self, name: str) -> dt.date | None:
        return self._read(name, read_date)

    def count(self, name: str) -> int | None:
        return self._read(name, read_count)

    def codes(self, name: str) -> tuple[str, ...] | None:
        return tuple(self.raw[name].split()) if self.text(name) else None

    def yes_no(self, name: str) -> bool | None:
        return _YES_NO.get(self.text(name) or "")

    def day(self, name: str) -> dt.date | None:
        """Return the day of a timestamp answer (the `start` and `end` metadata)."""
        return self._read(name, lambda t: read_date(t[:10]))

    def fix(self, name: str) -> Fix | None:
        return self._read(name, read_geopoint)

    def point(self, name: str) -> shapely.Point | None:
        fix = self.fix(name)
        return None if fix is None else fix.point

    def shape(self, name: str) -> shapely.Polygon | None:
        fixes = self._read(name, read_geoshape)
        return None if fixes is None else polygon_of(fixes)


def _present(**values: Any) -> dict[str, Any]:
    """Return the values that were given: an empty answer never blanks a stored field."""
    return {k: v for k, v in values.items() if v is not None}


# -- one planner per form ---------------------------------------------------------------------


def _informants(rows: list[dict[str, str]]) -> str | None:
    """Return a short summary of the informants heard: how many, their roles, what they said."""
    if not rows:
        return None
    roles = [r.get("informant_role", "").strip() or "unknown" for r in rows]
    lines = [f"Informants: {len(rows)} ({', '.join(roles)})."]
    lines += [
        f"- {role}: {r['informant_statement'].strip()}"
        for role, r in zip(roles, rows, strict=True)
        if r.get("informant_statement", "").strip()
    ]
    return "\n".join(lines)


def _nts_survey(sub: Submission) -> list[Planned]:
    a = _Answers(sub.values)
    ref = a.text("area_ref")
    if a.text("shape_method") == "points":
        rows = [_Answers(row).fix("boundary_point") for row in sub.repeats.get("boundary", [])]
        polygon = polygon_of([fix for fix in rows if fix is not None])
    else:
        polygon = a.shape("area_shape")
    notes = "\n\n".join(
        n for n in (a.text("notes"), _informants(sub.repeats.get("informant", []))) if n
    )
    hazard_type = a.text("hazard_type")
    # A new area with direct evidence starts confirmed; an existing one changes status only
    # through the lifecycle, never by an edit.
    confirmed = ref is None and hazard_type == HazardType.CHA.value
    # A survey of a stored area keeps when and by whom the area was first reported: its own
    # date and organisation head its notes (which an approval adds to the area's).
    if ref is not None:
        said = f"Non-technical survey of {a.text('reported_on') or 'an unknown date'}"
        said += f" by {a.text('organisation') or 'an unnamed organisation'}."
        notes = "\n".join(n for n in (said, notes) if n)
    values = _present(
        name=a.text("name"),
        status=Status.CONFIRMED.value if confirmed else None,
        hazard_type=hazard_type,
        contamination=a.codes("contamination"),
        land_use=a.text("land_use"),
        evidence=a.text("evidence"),
        reported_on=a.date("reported_on") if ref is None else None,
        source_org=a.text("organisation") if ref is None else None,
        admin_area=a.text("admin_area"),
        notes=notes or None,
    )
    return [Planned("hazards", ref, values, polygon)]


def _items(
    sub: Submission,
    area_ref: str | None,
    found_on: dt.date | None,
    *,
    notes: str | None = None,
    activity_ref: str | None = None,
    link: str | None = None,
) -> list[Planned]:
    """Return one item per row of the `item` repeat, found by the activity named or linked."""
    planned = []
    for row in sub.repeats.get("item", []):
        r = _Answers(row)
        values = _present(
            area_ref=area_ref,
            activity_ref=activity_ref,
            category=r.text("item_category"),
            description=r.text("item_description"),
            quantity=r.count("item_quantity"),
            state=r.text("item_state"),
            found_on=found_on,
            notes=notes,
        )
        planned.append(Planned("items", None, values, r.point("item_location"), link))
    return planned


def _eod_spot_task(sub: Submission) -> list[Planned]:
    a = _Answers(sub.values)
    area_ref, task_date = a.text("area_ref"), a.date("task_date")
    if area_ref is None:  # no activity to keep the task's notes: the items keep them
        return _items(sub, None, task_date, notes=a.text("notes"))
    activity = Planned(
        "activities",
        None,
        _present(
            area_ref=area_ref,
            activity_type=ActivityType.EOD.value,
            status=ActivityStatus.COMPLETED.value,
            organisation=a.text("organisation"),
            start_date=task_date,
            end_date=task_date,
            notes=a.text("notes"),
        ),
        None,
    )
    return [activity, *_items(sub, area_ref, task_date, link="activity")]


def _released_m2(a: _Answers, cleared: shapely.Polygon | None) -> dict[str, float]:
    """Return the land a clearance cleared, or a completed survey without evidence reduced.

    The registry keeps the figures the operator reports and computes none: the form's
    cleared shape is that report. A survey that found evidence reduces nothing.
    """
    if cleared is None or not cleared.is_valid:
        return {}
    kind = a.text("activity_type")
    if kind == ActivityType.CLEARANCE.value:
        return {"cleared_m2": area_m2(cleared)}
    done = a.text("activity_status") == ActivityStatus.COMPLETED.value
    if kind == ActivityType.TS.value and done and a.yes_no("evidence_found") is False:
        return {"reduced_m2": area_m2(cleared)}
    return {}


def _clearance(sub: Submission) -> list[Planned]:
    a = _Answers(sub.values)
    area_ref, activity_ref = a.text("area_ref"), a.text("activity_ref")
    cleared = a.shape("cleared_shape")
    end_date = a.date("end_date")
    activity = Planned(
        "activities",
        activity_ref,
        _present(
            area_ref=area_ref,
            activity_type=a.text("activity_type"),
            status=a.text("activity_status"),
            organisation=a.text("organisation"),
            start_date=a.date("start_date"),
            end_date=end_date,
            evidence_found=a.yes_no("evidence_found"),
            notes=a.text("notes"),
            **_released_m2(a, cleared),
        ),
        cleared,
    )
    # Items are dated by the activity's end, or else by the day the form was filled in.
    found_on = end_date or a.day("end")
    if activity_ref is None:
        return [activity, *_items(sub, area_ref, found_on, link="activity")]
    return [activity, *_items(sub, area_ref, found_on, activity_ref=activity_ref)]


def _common(values: list[str | None]) -> str:
    """Return the value all victims share, "mixed" when they differ, "unknown" when none."""
    given = {v for v in values if v}
    if not given:
        return "unknown"
    return given.pop() if len(given) == 1 else "mixed"


def _accident(sub: Submission) -> list[Planned]:
    a = _Answers(sub.values)
    victims = [_Answers(r) for r in sub.repeats.get("victim", [])]
    counts = {
        f"{outcome}_{group}": sum(
            1
            for v in victims
            if v.text("victim_outcome") == outcome and v.text("victim_group") == group
        )
        for outcome in ("killed", "injured")
        for group in ("civilian", "deminer")
    }
    values = _present(
        area_ref=a.text("area_ref"),
        occurred_on=a.date("occurred_on"),
        device_category=a.text("device_category"),
        **counts,
        age_group=_common([v.text("victim_age_group") for v in victims]),
        sex=_common([v.text("victim_sex") for v in victims]),
        notes=a.text("notes"),
    )
    return [Planned("accidents", None, values, a.point("accident_location"))]


def _risk_education(sub: Submission) -> list[Planned]:
    a = _Answers(sub.values)
    values = _present(
        organisation=a.text("organisation"),
        held_on=a.date("held_on"),
        method=a.text("method"),
        admin_area=a.text("admin_area"),
        girls=a.count("girls"),
        boys=a.count("boys"),
        women=a.count("women"),
        men=a.count("men"),
        notes=a.text("notes"),
    )
    return [Planned("eore", None, values, a.point("session_location"))]


_PLANNERS: dict[str, Callable[[Submission], list[Planned]]] = {
    "nts_survey": _nts_survey,
    "eod_spot_task": _eod_spot_task,
    "clearance": _clearance,
    "accident": _accident,
    "risk_education": _risk_education,
}


def plan(sub: Submission) -> list[Planned]:
    """Return the records approving `sub` would write, in the order they must be written.

    Raises ValidationError only for a form landrelease does not know.
    """
    try:
        planner = _PLANNERS[sub.form_id]
    except KeyError:
        raise ValidationError(
            sub.source,
            "landrelease_form",
            f"unknown form {sub.form_id!r}; use one of {', '.join(_PLANNERS)}",
        ) from None
    return planner(sub)
