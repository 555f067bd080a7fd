"""What a reviewer should look at before approving a field submission: one flag per problem.

The answers are checked by the type of their question in the form (a date, a count, a choice,
a position, a shape); the records the submission would write (its plan) are checked against
the areas they name. A flag never stops a review: the reviewer decides.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer

from landrelease.domain.codes import ActivityStatus
from landrelease.field import forms
from landrelease.field.mapping import (
    Fix,
    Planned,
    polygon_of,
    read_count,
    read_date,
    read_geopoint,
    read_geoshape,
)
from landrelease.field.submission import Submission


@dataclass(frozen=True)
class Flag:
    """One problem of a submission: what kind, at which question, said in one line."""

    code: str  # missing_geometry, too_few_points, self_crossing, poor_accuracy, future_date,
    # unknown_choice, outside_country, far_from_area, unreadable_value, missing_value; the
    # review adds unknown_ref and refused_edit (what the registry's checks would refuse)
    field: str  # the question name (repeat rows: "item[2]/item_location")
    message: str


# The forms ask for at least one of these rows; ODK cannot make a repeat itself required.
_AT_LEAST_ONE_ROW = {"eod_spot_task": ("item",), "accident": ("victim",)}
# Dates that schedule an activity that is not completed: those may lie ahead.
_SCHEDULE_DATES = {"clearance": ("start_date", "end_date")}
_GEOMETRY_TYPES = frozenset({"geopoint", "geoshape"})
# The one form of `relevant` the forms use: ${question} = 'code'.
_RELEVANT = re.compile(r"^\$\{(\w+)\}\s*=\s*'([^']*)'$")


@dataclass(frozen=True)
class _Form:
    """What the checks read of a form: its questions, choice lists and simple relevance."""

    questions: dict[str, forms.Question]
    choices: dict[str, frozenset[str]]
    relevant: dict[str, tuple[str, str]]  # question or repeat -> (question, code it needs)


@functools.cache
def _form(form_id: str) -> _Form:
    """Return what the checks read of a form; built once, as the forms change only by release."""
    questions = forms.questions(form_id)
    lists = {q.list_name for q in questions.values() if q.list_name}
    relevant = {}
    for row in forms.form_sheets(form_id)["survey"]:
        m = _RELEVANT.match(row.get("relevant", ""))
        if m:
            relevant[row["name"]] = (m.group(1), m.group(2))
    return _Form(
        questions,
        {name: frozenset(forms.choices(form_id, name)) for name in lists},
        relevant,
    )


def _is_relevant(form: _Form, sub: Submission, name: str | None) -> bool:
    """Return False when `name` is asked only after another answer, and that answer differs."""
    if name not in form.relevant:
        return True
    question, code = form.relevant[name]
    given = sub.values.get(question, "").strip()
    return not given or given == code


def _answers(form: _Form, sub: Submission) -> Iterator[tuple[forms.Question, str, str]]:
    """Yield (question, its path, raw answer) for each answer asked, rows of repeats 1-based."""
    for q in form.questions.values():
        if not (_is_relevant(form, sub, q.name) and _is_relevant(form, sub, q.repeat)):
            continue
        if q.repeat is None:
            yield q, q.name, sub.values.get(q.name, "").strip()
            continue
        for i, row in enumerate(sub.repeats.get(q.repeat, []), start=1):
            yield q, f"{q.repeat}[{i}]/{q.name}", row.get(q.name, "").strip()


def _where(fix: Fix) -> str:
    return f"latitude {fix.lat:.5f}, longitude {fix.lon:.5f}"


class _Checker:
    """Collects the flags of one submission."""

    def __init__(
        self,
        sub: Submission,
        *,
        today: dt.date,
        country: shapely.Geometry | None,
        accuracy_limit_m: float,
    ) -> None:
        self.sub = sub
        self.form = _form(sub.form_id)
        self.today = today
        self.country = country
        self.accuracy_limit_m = accuracy_limit_m
        self.found: list[Flag] = []

    def flag(self, code: str, field: str, message: str) -> None:
        self.found.append(Flag(code, field, message))

    def read(self, field: str, raw: str, reader: Callable[[str], Any]) -> Any:
        """Return `reader(raw)`, or None after flagging the value as unreadable."""
        try:
            return reader(raw)
        except ValueError as exc:
            self.flag("unreadable_value", field, str(exc))
            return None

    def answer(self, q: forms.Question, field: str, raw: str) -> None:
        """Flag what is wrong with one answer, by the type of its question."""
        if not raw:
            if q.required:
                what = "missing_geometry" if q.type in _GEOMETRY_TYPES else "missing_value"
                self.flag(what, field, f"{q.name} is required but was left empty")
            return
        if q.type == "date":
            self.date(q, field, raw)
        elif q.type == "integer":
            self.read(field, raw, read_count)
        elif q.type in ("select_one", "select_multiple") and q.list_name:
            self.choice(q, field, raw)
        elif q.type == "geopoint":
            fix = self.read(field, raw, read_geopoint)
            if fix is not None:
                self.positions(field, [fix])
        elif q.type == "geoshape":
            fixes = self.read(field, raw, read_geoshape)
            if fixes is not None:
                self.positions(field, fixes)
                self.polygon(field, fixes)

    def date(self, q: forms.Question, field: str, raw: str) -> None:
        day = self.read(field, raw, read_date)
        if day is None or day <= self.today:
            return
        status = self.sub.values.get("activity_status", "").strip()
        scheduled = q.name in _SCHEDULE_DATES.get(self.sub.form_id, ())
        if scheduled and status != ActivityStatus.COMPLETED.value:
            return
        self.flag("future_date", field, f"{day.isoformat()} is after today ({self.today})")

    def choice(self, q: forms.Question, field: str, raw: str) -> None:
        known = self.form.choices[q.list_name or ""]
        codes = raw.split() if q.type == "select_multiple" else [raw]
        for code in codes:
            if code not in known:
                self.flag(
                    "unknown_choice",
                    field,
                    f"{code!r} is not a choice of {q.name}; use one of {', '.join(sorted(known))}",
                )

    def positions(self, field: str, fixes: list[Fix]) -> None:
        """Flag the worst accuracy over the limit and the points outside the country."""
        rated = [(f.accuracy, i) for i, f in enumerate(fixes, start=1) if f.accuracy is not None]
        worst, at = max(rated, default=(None, 0))
        if worst is not None and worst > self.accuracy_limit_m:
            where = f" at point {at}" if len(fixes) > 1 else ""
            self.flag(
                "poor_accuracy",
                field,
                f"accuracy {worst:g} m{where} is worse than the {self.accuracy_limit_m:g} m limit",
            )
        if self.country is None:
            return
        points = shapely.points([(f.lon, f.lat) for f in fixes])
        outside = np.flatnonzero(~shapely.covers(self.country, points))
        if not len(outside):
            return
        first = fixes[int(outside[0])]
        if len(fixes) == 1:
            swapped = shapely.covers(self.country, shapely.Point(first.lat, first.lon))
            hint = "; are latitude and longitude swapped?" if swapped else ""
            message = f"position {_where(first)} lies outside the country{hint}"
        else:
            message = (
                f"{len(outside)} of {len(fixes)} points lie outside the country "
                f"(point {int(outside[0]) + 1}: {_where(first)})"
            )
        self.flag("outside_country", field, message)

    def polygon(self, field: str, fixes: list[Fix]) -> None:
        """Flag a polygon of fewer than 3 distinct points, or one that crosses itself."""
        polygon = polygon_of(fixes)
        if polygon is None:
            distinct = len({(f.lon, f.lat) for f in fixes})
            self.flag(
                "too_few_points",
                field,
                f"the shape has {distinct} distinct point(s); a polygon needs at least 3",
            )
        elif not polygon.is_valid:
            self.flag("self_crossing", field, _crossing(shapely.is_valid_reason(polygon)))


_AT = re.compile(r"^(?P<what>[^\[]+)\[(?P<x>[-\d.eE+]+) (?P<y>[-\d.eE+]+)")


def _crossing(reason: str) -> str:
    """Return what a field team understands of GEOS's reason a polygon is invalid, the place
    in latitude, longitude as their GPS shows it."""
    m = _AT.match(reason)
    if m is None:
        return f"the shape is not a valid polygon ({reason})"
    at = f"{float(m['y']):.6f} {float(m['x']):.6f}"
    if "self-intersection" in m["what"].lower():
        return (
            f"the boundary crosses itself near {at} (lat lon): were its corners recorded "
            "out of order?"
        )
    return f"the shape is not a valid polygon: {m['what'].strip().lower()} near {at} (lat lon)"


def _area_shape(check: _Checker) -> None:
    """Flag a new area without its shape (none drawn, no boundary point walked), a boundary
    said to be walked that came without its points, and a walked boundary that does not make
    a polygon. A survey of a stored area may keep its shape by drawing none."""
    sub = check.sub
    new = not sub.values.get("area_ref", "").strip()
    if sub.values.get("shape_method", "").strip() == "points":
        rows = sub.repeats.get("boundary", [])
        if not rows:
            check.flag(
                "missing_geometry",
                "boundary",
                "the boundary was to be walked point by point, but no boundary point came "
                "with the submission (a KoboToolbox CSV export carries no repeat groups: "
                "import its XLSX or JSON instead)",
            )
            return
        fixes = []
        for row in rows:
            try:
                fixes.append(read_geopoint(row.get("boundary_point", "")))
            except ValueError:
                continue  # flagged as missing or unreadable with its row
        if fixes:
            check.polygon("boundary", fixes)
    elif new and not sub.values.get("area_shape", "").strip():
        check.flag("missing_geometry", "area_shape", "the area's shape was not drawn")


def _metres_between(point: shapely.Point, shape: shapely.Geometry) -> float:
    """Return the distance from a lon/lat point to a lon/lat shape in metres.

    Measured in an azimuthal equidistant projection centred on the point: true to the metre
    at the distances a field team walks.
    """
    local = Transformer.from_crs(
        "EPSG:4326",
        f"+proj=aeqd +lat_0={point.y} +lon_0={point.x} +datum=WGS84 +units=m",
        always_xy=True,
    )

    def project(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(local.transform(xy[:, 0], xy[:, 1]))

    return float(shapely.distance(shapely.Point(0, 0), shapely.transform(shape, project)))


def _far_from_area(
    check: _Checker,
    planned: list[Planned],
    area_of: Callable[[str], shapely.Geometry | None],
    far_m: float,
) -> None:
    """Flag each item or accident lying more than `far_m` metres from the area it names."""
    items = 0
    for p in planned:
        if p.kind == "items":
            items += 1
            field = f"item[{items}]/item_location"
        elif p.kind == "accidents":
            field = "accident_location"
        else:
            continue
        ref = p.values.get("area_ref")
        area = area_of(ref) if ref and p.geometry is not None else None
        if area is None or shapely.is_empty(area):
            continue
        metres = _metres_between(p.geometry, area)
        if metres > far_m:
            check.flag(
                "far_from_area",
                field,
                f"lies {metres:,.0f} m from its area {ref}, over the {far_m:,.0f} m limit",
            )


def flags(
    sub: Submission,
    plan: list[Planned],
    *,
    today: dt.date,
    country: shapely.Geometry | None,
    accuracy_limit_m: float,
    area_of: Callable[[str], shapely.Geometry | None],
    far_m: float = 1000.0,
) -> list[Flag]:
    """Return the flags of `sub` given `plan`, the records approving it would write.

    The answers' flags come first, in form order; then those of the submission as a whole
    (a required repeat left empty, the surveyed area's shape), then items and accidents far
    from their area. `country` is the country's shape in lon/lat (None: not checked);
    `area_of` returns the stored shape of an area ref, or None when there is none.
    """
    check = _Checker(sub, today=today, country=country, accuracy_limit_m=accuracy_limit_m)
    for q, field, raw in _answers(check.form, sub):
        check.answer(q, field, raw)
    for repeat in _AT_LEAST_ONE_ROW.get(sub.form_id, ()):
        if not sub.repeats.get(repeat):
            check.flag("missing_value", repeat, f"at least one {repeat} must be recorded")
    if sub.form_id == "nts_survey":
        _area_shape(check)
    _far_from_area(check, plan, area_of, far_m)
    return check.found
