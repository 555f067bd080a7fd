"""The named checks every write must pass: one rule each, vectorised over a batch's columns.

A write path (an import, an edit, a revert) hands its rows over as columns: lists with one
value per row as `validate.prepare_columns` gives them (codes checked, text trimmed, dates in
ISO form, None for a missing value), "geometry" a numpy array of shapely geometries and, for
hazard areas, "geom_key" their geometry keys. What a rule needs to know of the stored records
comes with them as plain data (`Stored`), read by the caller, so that nothing here reads a
file or a database. Each check returns a `Problem(row, field, message)` per bad value; the
work is done over whole columns, and a Python loop runs only over the rows found bad.

`CHECKS`, at the end of this module, lists them all: the kinds of record each applies to and
the write paths that run it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import shapely

from landrelease.domain import lifecycle
from landrelease.domain.codes import HazardType, Status
from landrelease.domain.errors import IllegalTransition
from landrelease.domain.geometry import Problem
from landrelease.domain.records import (
    ACCIDENTS,
    ACTIVITIES,
    EORE,
    EVENTS,
    HAZARDS,
    ITEMS,
    KINDS,
    RecordKind,
)

WritePath = Literal["import", "edit", "revert"]
IMPORT: WritePath = "import"  # new records: a file, or records added through the API
EDIT: WritePath = "edit"  # changed fields of a stored record
REVERT: WritePath = "revert"  # an earlier version restored, as a correction

AUDIENCE = ("girls", "boys", "women", "men")  # the counts of a risk-education session
FAR_FROM_AREA_M = 1000.0  # an item or accident further than this from its area is warned of
_FEW = 32  # known values few enough to look for in the rows, rather than row by row


@dataclass(frozen=True)
class Stored:
    """What the checks need to know of the stored records, read beforehand as plain data.

    The caller fills in only what the checks it runs need (`Check.needs` names the fields).
    """

    refs: Mapping[str, str] = field(default_factory=dict)  # every stored ref -> its kind
    areas: Mapping[str, Any] = field(default_factory=dict)  # named hazard areas -> geometry
    activities: Collection[str] = frozenset()  # the named activities that are stored
    keys: Mapping[int, str] = field(default_factory=dict)  # the batch's keys stored -> ref
    profiles: Collection[str] = frozenset()  # the ids of the known device profiles


@dataclass(frozen=True)
class Batch:
    """The rows a write would store, as columns, with what is known of the stored records."""

    kind: RecordKind
    columns: Mapping[str, Any]
    stored: Stored = field(default_factory=Stored)
    keep_status: bool = False  # an import that keeps the statuses set by another system


def _objects(values: Sequence[Any]) -> np.ndarray:
    """Return the values as a numpy object array (one C loop, whatever they are)."""
    if isinstance(values, np.ndarray) and values.dtype == object:
        return values
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _among(values: Sequence[Any], known: Collection[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Return which rows have a value (not None), and which have one among `known`.

    Each distinct value is looked up once (refs, codes and ids repeat a lot); a few known
    values (the stored keys a batch shares, say) are looked for in the rows instead.
    """
    arr = _objects(values)
    if len(known) <= _FEW:
        wanted = _objects(list(known))  # object dtype: pandas would infer text and slow down
        return pd.notna(arr), pd.Series(arr, dtype=object).isin(wanted).to_numpy()
    codes, uniques = pd.factorize(arr)
    hit = np.zeros(len(uniques) + 1, dtype=bool)  # the last one: None (code -1)
    hit[:-1] = [u in known for u in uniques.tolist()]
    return codes >= 0, hit[codes]


def _unknown(values: Sequence[Any], known: Collection[Any]) -> np.ndarray:
    """Return the rows with a value (not None) that is not among `known`."""
    present, among = _among(values, known)
    return np.flatnonzero(present & ~among)


def _repeats(values: np.ndarray, rows: np.ndarray) -> tuple[list[int], list[int]]:
    """Return which of `rows` have a value an earlier one of them has, and that earlier row."""
    if not len(rows):
        return [], []
    codes, _ = pd.factorize(values[rows])  # numbered in order of first appearance
    seen = np.concatenate([[-1], np.maximum.accumulate(codes)[:-1]])
    first = codes > seen  # a value's first row: its code is new
    again = ~first
    first_row = rows[first]  # by code
    return rows[again].tolist(), first_row[codes[again]].tolist()


def _keys(batch: Batch) -> tuple[np.ndarray, np.ndarray]:
    """Return the batch's geometry keys as integers (0 where missing), and which it has."""
    keys = _objects(batch.columns["geom_key"])
    present = pd.notna(keys)
    out = np.zeros(len(keys), dtype=np.int64)
    out[present] = keys[present].tolist()  # integers hash faster than Python objects
    return out, present


def _numbers(values: Sequence[Any]) -> np.ndarray:
    """Return numbers as floats, NaN for None (which then compares false with anything)."""
    return np.array(values, dtype=float)


def _before(starts: Sequence[Any], ends: Sequence[Any]) -> list[int]:
    """Return the rows where both dates are given and the end (ISO text) is before the start."""
    a, b = _objects(starts), _objects(ends)
    both = np.flatnonzero(pd.notna(a) & pd.notna(b))
    return both[b[both] < a[both]].tolist()  # type: ignore[no-any-return]


# -- refs -----------------------------------------------------------------------------------


def ref_unique_in_batch(batch: Batch) -> list[Problem]:
    """Return a problem for each row whose ref an earlier row of the batch has."""
    refs = _objects(batch.columns["ref"])
    again, first = _repeats(refs, np.flatnonzero(pd.notna(refs)))
    return [
        Problem(i, "ref", f"ref {refs[i]} appears twice in this batch (rows {f + 1} and {i + 1})")
        for i, f in zip(again, first, strict=True)
    ]


def ref_not_stored(batch: Batch) -> list[Problem]:
    """Return a problem for each row whose ref names a stored record, of any kind."""
    taken = batch.stored.refs
    refs = batch.columns["ref"]
    if not taken:
        return []
    hits = np.flatnonzero(_among(refs, taken)[1])
    return [
        Problem(i, "ref", f"ref {refs[i]} is already in the registry ({taken[refs[i]]})")
        for i in hits.tolist()
    ]


# -- the records a record names -------------------------------------------------------------


def area_exists(batch: Batch) -> list[Problem]:
    """Return a problem for each row naming (area_ref) a hazard area the registry lacks."""
    names = batch.columns["area_ref"]
    return [
        Problem(i, "area_ref", f"no hazard area {names[i]} in the registry")
        for i in _unknown(names, batch.stored.areas.keys()).tolist()
    ]


def activity_exists(batch: Batch) -> list[Problem]:
    """Return a problem for each row naming (activity_ref) an activity the registry lacks."""
    names = batch.columns["activity_ref"]
    return [
        Problem(i, "activity_ref", f"no activity {names[i]} in the registry")
        for i in _unknown(names, batch.stored.activities).tolist()
    ]


def profile_known(batch: Batch) -> list[Problem]:
    """Return a problem for each contamination event naming an unknown device profile."""
    ids = batch.columns["profile_id"]
    return [
        Problem(
            i,
            "profile_id",
            f"unknown device profile {ids[i]!r}; see 'landrelease residual profiles'",
        )
        for i in _unknown(ids, batch.stored.profiles).tolist()
    ]


# -- values that must agree with each other --------------------------------------------------


def quantity_low_within_best(batch: Batch) -> list[Problem]:
    """Return a problem for each event whose quantity_low exceeds its quantity_best."""
    low, best = batch.columns["quantity_low"], batch.columns["quantity_best"]
    with np.errstate(invalid="ignore"):
        rows = np.flatnonzero(_numbers(low) > _numbers(best))
    return [
        Problem(i, "quantity_low", f"quantity_low {low[i]} exceeds quantity_best {best[i]}")
        for i in rows.tolist()
    ]


def quantity_high_within_best(batch: Batch) -> list[Problem]:
    """Return a problem for each event whose quantity_high is below its quantity_best."""
    high, best = batch.columns["quantity_high"], batch.columns["quantity_best"]
    with np.errstate(invalid="ignore"):
        rows = np.flatnonzero(_numbers(high) < _numbers(best))
    return [
        Problem(i, "quantity_high", f"quantity_high {high[i]} is below quantity_best {best[i]}")
        for i in rows.tolist()
    ]


def emplaced_in_order(batch: Batch) -> list[Problem]:
    """Return a problem for each event whose emplaced_until is before its emplaced_on."""
    on, until = batch.columns["emplaced_on"], batch.columns["emplaced_until"]
    return [
        Problem(i, "emplaced_until", f"emplaced_until {until[i]} is before emplaced_on {on[i]}")
        for i in _before(on, until)
    ]


def activity_dates_in_order(batch: Batch) -> list[Problem]:
    """Return a problem for each activity that ends before it starts."""
    start, end = batch.columns["start_date"], batch.columns["end_date"]
    return [
        Problem(i, "end_date", f"end_date {end[i]} is before start_date {start[i]}")
        for i in _before(start, end)
    ]


def audience_not_negative(batch: Batch) -> list[Problem]:
    """Return a problem for each negative audience count of a risk-education session."""
    out = []
    for name in AUDIENCE:
        counts = batch.columns[name]
        with np.errstate(invalid="ignore"):
            rows = np.flatnonzero(_numbers(counts) < 0)
        out += [Problem(i, name, f"{name} {counts[i]} is negative") for i in rows.tolist()]
    return sorted(out, key=lambda p: p.row)


# -- hazard areas -----------------------------------------------------------------------------


def new_area_status(batch: Batch) -> list[Problem]:
    """Return a problem for each new hazard area whose status the lifecycle cannot start in.

    None when the batch keeps the statuses set by another system (a migration).
    """
    if batch.keep_status:
        return []
    status = _objects(batch.columns["status"])
    evidence = pd.notna(_objects(batch.columns["evidence"])).astype(np.int64)
    codes, uniques = pd.factorize(status)  # a handful of distinct statuses
    needs: dict[int, str] = {}  # case (status code * 2 + has evidence) -> what it lacks
    known = {s.value for s in Status}
    for j, value in enumerate(uniques.tolist()):
        if value not in known:
            continue  # an unknown code: the field values check names it
        for has in (0, 1):
            try:
                lifecycle.check_new("", Status(value), "stated" if has else None)
            except IllegalTransition as exc:
                needs[j * 2 + has] = exc.needs
    if not needs:
        return []
    case = codes * 2 + evidence
    rows = np.flatnonzero((codes >= 0) & np.isin(case, list(needs)))
    return [
        Problem(
            i,
            "status",
            f"a new area cannot be {status[i]!r}: {needs[int(case[i])]} (to migrate records "
            "whose status was set in another system, import with --keep-status)",
        )
        for i in rows.tolist()
    ]


def confirmed_is_cha(batch: Batch) -> list[Problem]:
    """Return a problem for each confirmed area recorded as a suspected hazardous area (SHA):
    confirmation is direct evidence, which makes it a CHA."""
    status = _objects(batch.columns["status"])
    hazard_type = _objects(batch.columns["hazard_type"])
    rows = np.flatnonzero(
        (status == Status.CONFIRMED.value) & (hazard_type == HazardType.SHA.value)
    )
    return [
        Problem(
            i,
            "hazard_type",
            "a confirmed area is a CHA (confirmed hazardous area), not an SHA: set hazard_type "
            "to CHA, or leave it out and it follows the status",
        )
        for i in rows.tolist()
    ]


def geometry_not_stored(batch: Batch) -> list[Problem]:
    """Return a problem for each area with the geometry of another stored area (probably the
    same area entered twice); a stored record keeping its own geometry is no duplicate."""
    stored = batch.stored.keys
    if not stored or "geom_key" not in batch.columns:
        return []
    keys, present = _keys(batch)
    refs = batch.columns["ref"]
    hits = np.flatnonzero(present & np.isin(keys, list(stored))).tolist()
    return [
        Problem(
            i,
            "geometry",
            f"probable duplicate: the same geometry is already stored as {stored[int(keys[i])]}",
        )
        for i in hits
        if stored[int(keys[i])] != refs[i]
    ]


def geometry_unique_in_batch(batch: Batch) -> list[Problem]:
    """Return a problem for each area with the geometry of an earlier row of the batch.

    Rows whose geometry is a stored area's are left out: that is said once, by
    `geometry_not_stored`.
    """
    if "geom_key" not in batch.columns:
        return []
    keys, present = _keys(batch)
    if batch.stored.keys:
        present &= ~np.isin(keys, list(batch.stored.keys))
    again, first = _repeats(keys, np.flatnonzero(present))
    return [
        Problem(
            i, "geometry", f"probable duplicate: the same geometry as row {f + 1} of this batch"
        )
        for i, f in zip(again, first, strict=True)
    ]


# -- warnings -------------------------------------------------------------------------------


def near_their_area(batch: Batch) -> list[Problem]:
    """Return a warning for each item or accident lying over 1 km from the area it names."""
    names = _objects(batch.columns["area_ref"])
    codes, uniques = pd.factorize(names)
    if not len(uniques):
        return []
    shape_of = np.empty(len(uniques) + 1, dtype=object)  # the last one: no area named
    shape_of[:-1] = [batch.stored.areas.get(r) for r in uniques.tolist()]  # per distinct area
    shapes = shape_of[codes]
    points = np.asarray(batch.columns["geometry"], dtype=object)
    rows = np.flatnonzero(~shapely.is_missing(shapes) & ~shapely.is_missing(points))
    if not len(rows):
        return []
    # Metres from degrees at the point's latitude: ample for a 1 km warning.
    lat = np.radians(shapely.get_y(points[rows]))
    nearest = shapely.shortest_line(points[rows], shapes[rows])
    (x0, y0), (x1, y1) = (shapely.get_coordinates(shapely.get_point(nearest, k)).T for k in (0, 1))
    metres = np.hypot((x1 - x0) * 111_320 * np.cos(lat), (y1 - y0) * 110_574)
    far = np.flatnonzero(metres > FAR_FROM_AREA_M)
    return [
        Problem(int(i), "geometry", f"lies {m / 1000:.1f} km from its area {names[i]}")
        for i, m in zip(rows[far].tolist(), metres[far].tolist(), strict=True)
    ]


# -- the list of checks -----------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One named rule: what it refuses, the kinds of record it applies to, the paths running it.

    `run` takes a batch and returns its problems. The checks made as the values are read
    have no `run`: `by` names the function doing them, which also returns the parsed values
    or the checked geometries. On an edit, a problem refuses the change when its field was
    changed or when the rule `reads` a field that was (lowering quantity_best below the
    stored quantity_low, say). `needs` names the fields of `Stored` the rule looks at.
    """

    name: str
    rule: str
    kinds: tuple[RecordKind, ...]
    paths: frozenset[WritePath]
    run: Callable[[Batch], list[Problem]] | None = None
    by: str = ""
    reads: tuple[str, ...] = ()
    needs: frozenset[str] = frozenset()
    warning: bool = False


_EVERY_KIND = tuple(KINDS.values())
_SHAPED = tuple(k for k in _EVERY_KIND if k.geometry)
_POLYGONS = tuple(k for k in _EVERY_KIND if k.geometry == "polygon")
_IN_AN_AREA = tuple(k for k in _EVERY_KIND if "area_ref" in k.field_names)
_NEW: frozenset[WritePath] = frozenset({IMPORT})
_WRITTEN: frozenset[WritePath] = frozenset({IMPORT, EDIT})
_ALL: frozenset[WritePath] = frozenset({IMPORT, EDIT, REVERT})
_READ = "validate.prepare_columns"
_SHAPE = "geometry.check_geometries"

FIELD_VALUES = Check(
    "field values",
    "codes from their lists, whole and non-negative numbers, dates, required fields",
    _EVERY_KIND,
    _WRITTEN,
    by=_READ,
)
FUTURE_DATES = Check(
    "future dates",
    "no date of what happened after today (an unfinished activity's schedule may be)",
    _EVERY_KIND,
    _WRITTEN,
    by=_READ,
    reads=("status",),  # completing an activity makes its schedule dates past ones
)
GEOMETRY_TYPE = Check(
    "geometry present and of its type",
    "a Polygon or MultiPolygon, or a Point, as the kind keeps; present where required",
    _SHAPED,
    _ALL,
    by=_SHAPE,
)
GEOMETRY_FINITE = Check(
    "coordinates are numbers",
    "no NaN or infinite coordinate",
    _SHAPED,
    _ALL,
    by=_SHAPE,
)
GEOMETRY_IN_COUNTRY = Check(
    "geometry in the country",
    "inside the registry's country (its boundary, or its bounding box); swapped lat/lon named",
    _SHAPED,
    _ALL,
    by=_SHAPE,
)
GEOMETRY_VALID = Check(
    "geometry valid",
    "no self-intersection, no ring of fewer than 3 points (an import may --repair them)",
    _SHAPED,
    _ALL,
    by=_SHAPE,
)
VERTEX_JUMPS = Check(
    "vertex jumps",
    "warns of a vertex over 5 km from its neighbour: a mistyped coordinate?",
    _POLYGONS,
    _NEW,
    by=_SHAPE,
    warning=True,
)
REF_UNIQUE_IN_BATCH = Check(
    "ref unique in the batch",
    "no two rows of a batch with the same ref",
    _EVERY_KIND,
    _NEW,
    run=ref_unique_in_batch,
)
REF_NOT_STORED = Check(
    "ref not stored",
    "a ref names one record in the registry, of whatever kind",
    _EVERY_KIND,
    _NEW,
    run=ref_not_stored,
    needs=frozenset({"refs"}),
)
AREA_EXISTS = Check(
    "area exists",
    "the hazard area a record names (area_ref) is in the registry",
    _IN_AN_AREA,
    _ALL,
    run=area_exists,
    needs=frozenset({"areas"}),
)
ACTIVITY_EXISTS = Check(
    "activity exists",
    "the activity an item names (activity_ref) is in the registry",
    (ITEMS,),
    _ALL,
    run=activity_exists,
    needs=frozenset({"activities"}),
)
PROFILE_KNOWN = Check(
    "device profile known",
    "a contamination event names a device profile of 'landrelease residual profiles'",
    (EVENTS,),
    _ALL,
    run=profile_known,
    needs=frozenset({"profiles"}),
)
QUANTITY_LOW = Check(
    "quantity_low within quantity_best",
    "quantity_low <= quantity_best",
    (EVENTS,),
    _WRITTEN,
    run=quantity_low_within_best,
    reads=("quantity_best",),
)
QUANTITY_HIGH = Check(
    "quantity_high within quantity_best",
    "quantity_high >= quantity_best",
    (EVENTS,),
    _WRITTEN,
    run=quantity_high_within_best,
    reads=("quantity_best",),
)
EMPLACED_IN_ORDER = Check(
    "emplaced dates in order",
    "emplaced_until on or after emplaced_on",
    (EVENTS,),
    _WRITTEN,
    run=emplaced_in_order,
    reads=("emplaced_on",),
)
ACTIVITY_DATES_IN_ORDER = Check(
    "activity dates in order",
    "end_date on or after start_date",
    (ACTIVITIES,),
    _WRITTEN,
    run=activity_dates_in_order,
    reads=("start_date",),
)
AUDIENCE_NOT_NEGATIVE = Check(
    "audience counts not negative",
    "girls, boys, women and men of a risk-education session are 0 or more",
    (EORE,),
    _ALL,
    run=audience_not_negative,
)
NEW_AREA_STATUS = Check(
    "new area status",
    "a new area starts suspected, or confirmed with its evidence (unless --keep-status)",
    (HAZARDS,),
    _NEW,
    run=new_area_status,
)
CONFIRMED_IS_CHA = Check(
    "confirmed area is a CHA",
    "an area of status confirmed has hazard_type CHA (left out, it follows the status)",
    (HAZARDS,),
    _WRITTEN,
    run=confirmed_is_cha,
    reads=("status",),
)
GEOMETRY_NOT_STORED = Check(
    "geometry not another area's",
    "no hazard area with the very geometry of another current one (a probable duplicate)",
    (HAZARDS,),
    _ALL,
    run=geometry_not_stored,
    needs=frozenset({"keys"}),
)
GEOMETRY_UNIQUE_IN_BATCH = Check(
    "geometry unique in the batch",
    "no two areas of a batch with the same geometry",
    (HAZARDS,),
    _NEW,
    run=geometry_unique_in_batch,
    needs=frozenset({"keys"}),
)
NEAR_THEIR_AREA = Check(
    "near their area",
    "warns of an item or accident lying over 1 km from the area it names",
    (ITEMS, ACCIDENTS),
    _NEW,
    run=near_their_area,
    needs=frozenset({"areas", "area_shapes"}),
    warning=True,
)
OVERLAPS = Check(
    "overlaps",
    "warns of hazard areas overlapping each other or a stored one by 1 m2 or more",
    (HAZARDS,),
    _NEW,
    by="geometry.overlaps, on a worker while the import writes",
    warning=True,
)

# Every check a write runs, in the order their problems are reported on an edit.
CHECKS: tuple[Check, ...] = (
    FIELD_VALUES,
    FUTURE_DATES,
    GEOMETRY_TYPE,
    GEOMETRY_FINITE,
    GEOMETRY_IN_COUNTRY,
    GEOMETRY_VALID,
    VERTEX_JUMPS,
    REF_UNIQUE_IN_BATCH,
    REF_NOT_STORED,
    AREA_EXISTS,
    ACTIVITY_EXISTS,
    PROFILE_KNOWN,
    QUANTITY_LOW,
    QUANTITY_HIGH,
    EMPLACED_IN_ORDER,
    ACTIVITY_DATES_IN_ORDER,
    AUDIENCE_NOT_NEGATIVE,
    NEW_AREA_STATUS,
    CONFIRMED_IS_CHA,
    GEOMETRY_NOT_STORED,
    GEOMETRY_UNIQUE_IN_BATCH,
    NEAR_THEIR_AREA,
    OVERLAPS,
)


def checks_for(kind: RecordKind, path: WritePath) -> list[Check]:
    """Return the checks that `path` runs on records of `kind`, in the order of CHECKS."""
    return [c for c in CHECKS if kind in c.kinds and path in c.paths]


def findings(batch: Batch, path: WritePath) -> list[tuple[Check, Problem]]:
    """Return every problem (not warning) the runnable checks of `path` find, with its check."""
    return [
        (check, p)
        for check in checks_for(batch.kind, path)
        if check.run is not None and not check.warning
        for p in check.run(batch)
    ]


def warnings(batch: Batch, path: WritePath) -> list[Problem]:
    """Return every warning the runnable checks of `path` give, by row."""
    found = [
        p
        for check in checks_for(batch.kind, path)
        if check.run is not None and check.warning
        for p in check.run(batch)
    ]
    return sorted(found, key=lambda p: p.row)


def blame(check: Check, problem: Problem, changed: Collection[str]) -> str | None:
    """Return the changed field an edit's `problem` is due to, or None if none is.

    The problem's own field when it was changed; else the first field the check compares it
    with that was. A problem in fields the edit left alone was there before: not the edit's.
    """
    if problem.field in changed:
        return problem.field
    return next((f for f in check.reads if f in changed), None)
