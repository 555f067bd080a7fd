"""One set of checks for every write: each named check of `domain.checks`, through each path
that runs it (import, edit, revert), refuses the same bad value with the same message.

A case names a check, a good record of a kind and the bad values; the import is given the
record with them, the edit changes a stored good record to them, and the revert is asked to
restore a version holding them (written past the checks, as an older release or another
program could have) after a correction. `CHECKS` says which path runs which check: the last
test holds the cases to it, so that a check added there comes with its tests.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely

from fixtures import KYIV, bow_tie, hazard, polygon, snapshot, write_geojson
from landrelease.domain import checks
from landrelease.domain.checks import EDIT, IMPORT, REVERT, Batch, Check, Stored
from landrelease.domain.errors import ValidationError
from landrelease.domain.geometry import Problem
from landrelease.domain.records import EVENTS, HAZARDS, KINDS
from landrelease.registry import Registry
from landrelease.store import UNCHANGED, now_utc

ACTOR = "tester"
NOWHERE = "UA-2024-99999"  # a hazard area ref the registry does not have


def good(kind: str, refs: dict[str, str], i: int = 40) -> dict[str, Any]:
    """Return a valid new record of `kind`, naming the template's Kyiv area where it may."""
    area = refs["kyiv"]
    centre = polygon(0).centroid  # inside the Kyiv area
    return {
        "hazards": lambda: hazard(i),
        "events": lambda: {
            "area_ref": area,
            "profile_id": "persistent-ap-mine",
            "quantity_low": 5,
            "quantity_best": 10,
            "quantity_high": 20,
            "emplaced_on": "2022-03-01",
        },
        "activities": lambda: {
            "area_ref": area,
            "activity_type": "ts",
            "status": "completed",
            "start_date": "2024-05-01",
            "end_date": "2024-06-01",
            "geometry": polygon(i),
        },
        "items": lambda: {
            "area_ref": area,
            "category": "uxo",
            "state": "live",
            "found_on": "2024-04-01",
            "geometry": centre,
        },
        "accidents": lambda: {
            "area_ref": area,
            "occurred_on": "2024-01-01",
            "geometry": centre,
        },
        "eore": lambda: {
            "organisation": "Demining NGO",
            "held_on": "2024-03-01",
            "method": "interpersonal",
            "girls": 12,
            "boys": 9,
            "geometry": centre,
        },
    }[kind]()


def nan_polygon() -> shapely.Polygon:
    x, y = KYIV
    return shapely.Polygon([(x, y), (x + 0.01, math.nan), (x + 0.01, y + 0.01), (x, y)])


@dataclass
class Case:
    """A check, a kind, and bad values it refuses (naming `field`, saying `says`)."""

    check: Check
    kind: str
    bad: dict[str, Any]
    field: str
    says: str
    paths: frozenset[str] = frozenset()  # the paths to try it on; default: the check's

    @property
    def id(self) -> str:
        return f"{self.check.name}-{self.kind}-{'-'.join(self.bad)}"

    def runs_on(self) -> frozenset[str]:
        return self.paths or self.check.paths


CASES = [
    Case(checks.FIELD_VALUES, "hazards", {"land_use": "moon base"}, "land_use", "unknown land_use"),
    Case(checks.FIELD_VALUES, "events", {"quantity_best": -3}, "quantity_best", "is negative"),
    Case(checks.FIELD_VALUES, "items", {"quantity": "many"}, "quantity", "not a whole number"),
    Case(checks.FIELD_VALUES, "accidents", {"occurred_on": "yesterday"}, "occurred_on", "date"),
    Case(checks.FUTURE_DATES, "items", {"found_on": "2099-01-01"}, "found_on", "in the future"),
    Case(
        checks.FUTURE_DATES,
        "activities",
        {"end_date": "2099-01-01"},
        "end_date",
        "in the future",
    ),
    Case(checks.GEOMETRY_TYPE, "hazards", {"geometry": None}, "geometry", "missing or empty"),
    Case(checks.GEOMETRY_TYPE, "items", {"geometry": None}, "geometry", "missing or empty"),
    Case(
        checks.GEOMETRY_TYPE,
        "hazards",
        {"geometry": shapely.Point(KYIV)},
        "geometry",
        "geometry is a Point; expected a Polygon",
        paths=frozenset({IMPORT, EDIT}),  # the store itself refuses a Point in a polygon layer
    ),
    Case(checks.GEOMETRY_FINITE, "hazards", {"geometry": nan_polygon()}, "geometry", "finite"),
    Case(
        checks.GEOMETRY_IN_COUNTRY,
        "hazards",
        {"geometry": polygon(0, (10.0, 10.0))},
        "geometry",
        "lies outside Ukraine",
    ),
    Case(
        checks.GEOMETRY_IN_COUNTRY,
        "accidents",
        {"geometry": shapely.Point(KYIV[1], KYIV[0])},
        "geometry",
        "swapped lat/lon",
    ),
    Case(checks.GEOMETRY_VALID, "hazards", {"geometry": bow_tie()}, "geometry", "self-intersects"),
    Case(checks.GEOMETRY_VALID, "activities", {"geometry": bow_tie()}, "geometry", "intersects"),
    *(
        Case(checks.AREA_EXISTS, k, {"area_ref": NOWHERE}, "area_ref", f"no hazard area {NOWHERE}")
        for k in ("events", "activities", "items", "accidents")
    ),
    Case(
        checks.ACTIVITY_EXISTS,
        "items",
        {"activity_ref": "UA-ACT-2024-99999"},
        "activity_ref",
        "no activity UA-ACT-2024-99999 in the registry",
    ),
    Case(
        checks.PROFILE_KNOWN,
        "events",
        {"profile_id": "no-such-device"},
        "profile_id",
        "unknown device profile 'no-such-device'",
    ),
    Case(
        checks.QUANTITY_LOW,
        "events",
        {"quantity_low": 50},
        "quantity_low",
        "quantity_low 50 exceeds quantity_best 10",
    ),
    Case(
        checks.QUANTITY_HIGH,
        "events",
        {"quantity_high": 5},
        "quantity_high",
        "quantity_high 5 is below quantity_best 10",
    ),
    Case(
        checks.EMPLACED_IN_ORDER,
        "events",
        {"emplaced_until": "2021-01-01"},
        "emplaced_until",
        "emplaced_until 2021-01-01 is before emplaced_on 2022-03-01",
    ),
    Case(
        checks.ACTIVITY_DATES_IN_ORDER,
        "activities",
        {"end_date": "2024-04-01"},
        "end_date",
        "end_date 2024-04-01 is before start_date 2024-05-01",
    ),
    Case(checks.AUDIENCE_NOT_NEGATIVE, "eore", {"boys": -4}, "boys", "boys -4 is negative"),
    Case(
        checks.CONFIRMED_IS_CHA,
        "hazards",
        {"status": "confirmed", "hazard_type": "SHA"},
        "hazard_type",
        "a confirmed area is a CHA",
        paths=frozenset({IMPORT}),  # an edit does not change a status: the test below
    ),
]

# The checks some test below runs explicitly on a path, besides the cases.
EXPLICIT: set[tuple[str, str]] = set()


def explicitly(check: Check, *paths: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Mark a test as the one running `check` through `paths`."""
    EXPLICIT.update((check.name, p) for p in paths)
    return lambda fn: fn


def imported(reg: Registry, kind: str, record: dict[str, Any]) -> ValidationError:
    """Return the error refusing `record` as an import, which must land nothing."""
    with pytest.raises(ValidationError) as info:
        reg.add_records(kind, [record], actor=ACTOR)
    return info.value


def added(reg: Registry, kind: str, record: dict[str, Any]) -> str:
    [ref] = reg.add_records(kind, [record], actor=ACTOR)
    return ref


def unchecked(reg: Registry, kind: str, ref: str, changes: dict[str, Any]) -> None:
    """Write a version of `ref` past every check: as an older release or another program did."""
    k = KINDS[kind]
    values = dict(changes)
    geometry = values.pop("geometry", UNCHANGED)
    with reg.store.unit_of_work(write=True) as uow:
        version = uow.records(k).get(ref)["version"]
        uow.records(k).update(
            ref,
            values,
            geometry=geometry,
            expected_version=version,
            action="update",
            at=now_utc(),
            actor="elsewhere",
            reason="written past the checks",
        )


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_a_check_refuses_the_same_bad_value_on_every_path(
    reg: Registry, registry_path: Path, refs: dict[str, str], case: Case
) -> None:
    record = good(case.kind, refs)
    before = snapshot(registry_path)
    said = imported(reg, case.kind, {**record, **case.bad})
    assert (said.record, said.field) == ("row 1", case.field)
    assert case.says in said.message
    assert snapshot(registry_path) == before

    ref = added(reg, case.kind, record)
    before = snapshot(registry_path)
    if EDIT in case.runs_on():
        with pytest.raises(ValidationError) as edit:
            reg.update_record(case.kind, ref, case.bad, actor=ACTOR)
        assert (edit.value.record, edit.value.field) == (ref, case.field)
        assert edit.value.message == said.message
        assert snapshot(registry_path) == before

    if REVERT in case.runs_on():
        unchecked(reg, case.kind, ref, case.bad)  # version 2, bad
        fix = {f: record.get(f) for f in case.bad}
        reg.update_record(case.kind, ref, fix, actor=ACTOR)  # version 3, a correction
        before = snapshot(registry_path)
        with pytest.raises(ValidationError) as revert:
            reg.revert(ref, 2, actor=ACTOR)
        assert (revert.value.record, revert.value.field) == (ref, case.field)
        assert revert.value.message == f"cannot revert to version 2: {said.message}"
        assert snapshot(registry_path) == before
        assert reg.revert(ref, 1, actor=ACTOR).version == 4  # a good version comes back


# -- the five an edit used to accept ----------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"quantity_low": 50}, "quantity_low", "quantity_low 50 exceeds quantity_best 10"),
        ({"emplaced_until": "2021-01-01"}, "emplaced_until", "is before emplaced_on"),
        ({"area_ref": NOWHERE}, "area_ref", f"no hazard area {NOWHERE} in the registry"),
        ({"profile_id": "no-such-device"}, "profile_id", "unknown device profile"),
    ],
)
def test_an_edit_refuses_what_the_review_found_it_accepted(
    reg: Registry,
    registry_path: Path,
    refs: dict[str, str],
    changes: dict[str, Any],
    field: str,
    says: str,
) -> None:
    ev = added(reg, "events", good("events", refs))
    before = snapshot(registry_path)
    with pytest.raises(ValidationError) as info:
        reg.update_record("events", ev, changes, actor=ACTOR)
    assert (info.value.record, info.value.field) == (ev, field)
    assert says in info.value.message
    assert snapshot(registry_path) == before


@explicitly(checks.GEOMETRY_NOT_STORED, IMPORT, EDIT, REVERT)
def test_a_geometry_of_another_area_is_refused_on_every_path(
    reg: Registry, registry_path: Path, refs: dict[str, str]
) -> None:
    kyiv = refs["kyiv"]
    says = f"probable duplicate: the same geometry is already stored as {kyiv}"
    before = snapshot(registry_path)
    said = imported(reg, "hazards", hazard(40, geometry=polygon(0)))
    assert (said.field, said.message) == ("geometry", says)

    with pytest.raises(ValidationError) as edit:
        reg.update_record("hazards", refs["forest"], {"geometry": polygon(0)}, actor=ACTOR)
    assert (edit.value.record, edit.value.field, edit.value.message) == (
        refs["forest"],
        "geometry",
        says,
    )
    assert snapshot(registry_path) == before

    # An area moves away from its first shape; another area then takes that shape: going
    # back to the first version would make two areas of one.
    moved = added(reg, "hazards", hazard(41))
    reg.update_record("hazards", moved, {"geometry": polygon(42)}, actor=ACTOR)
    other = added(reg, "hazards", hazard(43, geometry=polygon(41)))
    before = snapshot(registry_path)
    with pytest.raises(ValidationError) as revert:
        reg.revert(moved, 1, actor=ACTOR)
    assert (revert.value.record, revert.value.field) == (moved, "geometry")
    assert revert.value.message == (
        "cannot revert to version 1: probable duplicate: the same geometry is already stored "
        f"as {other}"
    )
    assert snapshot(registry_path) == before


def test_an_area_keeping_its_own_geometry_is_no_duplicate(
    reg: Registry, refs: dict[str, str]
) -> None:
    area = refs["kyiv"]
    same = reg.hazard(area).geometry
    assert reg.update_record("hazards", area, {"geometry": same}, actor=ACTOR).version == 2
    assert reg.update_record("hazards", area, {"notes": "fenced"}, actor=ACTOR).version == 3
    assert reg.revert(area, 1, actor=ACTOR).version == 4


# -- an edit: the record as it would be, the edit's own problems -----------------------------


def test_lowering_quantity_best_below_the_stored_quantity_low_is_refused(
    reg: Registry, refs: dict[str, str]
) -> None:
    ev = added(reg, "events", good("events", refs))  # low 5, best 10, high 20
    with pytest.raises(ValidationError) as info:
        reg.update_record("events", ev, {"quantity_best": 3}, actor=ACTOR)
    assert (info.value.record, info.value.field) == (ev, "quantity_best")
    assert info.value.message == "quantity_low 5 exceeds quantity_best 3"
    with pytest.raises(ValidationError, match="quantity_high 20 is below quantity_best 30"):
        reg.update_record("events", ev, {"quantity_best": 30}, actor=ACTOR)
    reg.update_record("events", ev, {"emplaced_until": "2022-06-01"}, actor=ACTOR)
    with pytest.raises(ValidationError) as info:
        reg.update_record("events", ev, {"emplaced_on": "2023-01-01"}, actor=ACTOR)
    assert (info.value.field, info.value.message) == (
        "emplaced_on",
        "emplaced_until 2022-06-01 is before emplaced_on 2023-01-01",
    )
    # together, the changes agree: the record after them is checked, not each on its own
    back = reg.update_record("events", ev, {"quantity_best": 3, "quantity_low": 1}, actor=ACTOR)
    assert (back.quantity_low, back.quantity_best) == (1, 3)


def test_moving_an_activity_start_after_its_end_names_the_start(
    reg: Registry, refs: dict[str, str]
) -> None:
    act = added(reg, "activities", good("activities", refs))
    with pytest.raises(ValidationError) as info:
        reg.update_record("activities", act, {"start_date": "2024-07-01"}, actor=ACTOR)
    assert (info.value.field, info.value.message) == (
        "start_date",
        "end_date 2024-06-01 is before start_date 2024-07-01",
    )


def test_completing_an_activity_makes_its_planned_dates_past_ones(
    reg: Registry, refs: dict[str, str]
) -> None:
    planned = {**good("activities", refs), "status": "planned", "end_date": "2099-01-01"}
    act = added(reg, "activities", planned)
    with pytest.raises(ValidationError) as info:
        reg.update_record("activities", act, {"status": "completed"}, actor=ACTOR)
    # the status is what changed; the message names the date it makes wrong
    assert info.value.field == "status"
    assert info.value.message.startswith("end_date 2099-01-01 lies in the future")
    done = reg.update_record(
        "activities", act, {"status": "completed", "end_date": "2024-06-01"}, actor=ACTOR
    )
    assert done.status == "completed"


def test_a_stored_problem_the_edit_leaves_alone_is_not_the_edits(
    reg: Registry, refs: dict[str, str]
) -> None:
    ev = added(reg, "events", good("events", refs))
    unchecked(reg, "events", ev, {"quantity_low": 50, "profile_id": "gone-device"})
    assert reg.update_record("events", ev, {"notes": "seen"}, actor=ACTOR).notes == "seen"
    with pytest.raises(ValidationError, match="quantity_low 50 exceeds quantity_best 12"):
        reg.update_record("events", ev, {"quantity_best": 12}, actor=ACTOR)
    fixed = reg.update_record("events", ev, {"quantity_low": 2}, actor=ACTOR)
    assert fixed.quantity_low == 2


# -- a revert: a correction, outside the lifecycle -------------------------------------------


def test_a_revert_restores_any_earlier_status(
    reg: Registry, registry_path: Path, refs: dict[str, str]
) -> None:
    area = refs["kyiv"]
    reg.add_records(
        "activities",
        [{"area_ref": area, "activity_type": "nts", "status": "completed"}],
        actor=ACTOR,
    )
    reg.set_status(area, "cancelled", actor=ACTOR)
    back = reg.revert(area, 1, actor=ACTOR)  # cancelled -> suspected: no lifecycle rule
    assert (back.status, back.version) == ("suspected", 3)


def test_a_refused_revert_is_one_line_and_exit_2_in_the_cli(
    reg: Registry, registry_path: Path, refs: dict[str, str], run_cli: Any
) -> None:
    item = added(reg, "items", good("items", refs))
    unchecked(reg, "items", item, {"area_ref": NOWHERE})
    reg.update_record("items", item, {"area_ref": refs["kyiv"]}, actor=ACTOR)
    code, out, err = run_cli(["revert", item, "--to-version", "2", "--db", registry_path])
    assert code == 2, (out, err)
    assert err == (
        f"error: {item}: area_ref: cannot revert to version 2: no hazard area {NOWHERE} in the "
        "registry\n"
    )


# -- import only: a batch of new records --------------------------------------------------------


@explicitly(checks.REF_UNIQUE_IN_BATCH, IMPORT)
def test_a_ref_twice_in_a_batch_is_refused(reg: Registry) -> None:
    said = imported_many(reg, [hazard(40, ref="UA-X-1"), hazard(41, ref="UA-X-1")])
    assert (said.field, said.message) == (
        "ref",
        "ref UA-X-1 appears twice in this batch (rows 1 and 2)",
    )


@explicitly(checks.REF_NOT_STORED, IMPORT)
def test_a_ref_of_a_stored_record_of_any_kind_is_refused(
    reg: Registry, refs: dict[str, str]
) -> None:
    said = imported(reg, "activities", {**good("activities", refs), "ref": refs["forest"]})
    assert (said.field, said.message) == (
        "ref",
        f"ref {refs['forest']} is already in the registry (hazards)",
    )


@explicitly(checks.NEW_AREA_STATUS, IMPORT)
@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"status": "cleared"}, "a new area cannot be 'cleared': a new hazardous area starts"),
        ({"status": "confirmed", "evidence": None}, "needs its direct evidence"),
    ],
)
def test_a_new_area_starts_as_the_lifecycle_says(
    reg: Registry, fields: dict[str, Any], says: str
) -> None:
    said = imported(reg, "hazards", hazard(40, **fields))
    assert said.field == "status" and says in said.message and "--keep-status" in said.message
    [ref] = reg.add_records("hazards", [hazard(40, **fields)], actor=ACTOR, keep_status=True)
    assert reg.hazard(ref).status == fields["status"]


@explicitly(checks.CONFIRMED_IS_CHA, EDIT)
def test_a_confirmed_area_stays_a_cha(reg: Registry, registry_path: Path) -> None:
    [ref] = reg.add_records("hazards", [hazard(40, status="confirmed")], actor=ACTOR)
    assert reg.hazard(ref).hazard_type == "CHA"  # left out, the type follows the status
    before = snapshot(registry_path)
    with pytest.raises(ValidationError) as info:
        reg.update_record("hazards", ref, {"hazard_type": "SHA"}, actor=ACTOR)
    assert (info.value.record, info.value.field) == (ref, "hazard_type")
    assert "a confirmed area is a CHA" in info.value.message
    assert snapshot(registry_path) == before
    # an edit of another field of an area stored as SHA (by an older release) is not refused
    unchecked(reg, "hazards", ref, {"hazard_type": "SHA"})
    assert reg.update_record("hazards", ref, {"notes": "fenced"}, actor=ACTOR).notes == "fenced"
    # a suspected area may be either (a CHA re-opened as suspected keeps its type); a
    # confirmed one whose type is missing from a column of others' types gets CHA
    batch = [hazard(41, hazard_type="CHA"), hazard(42, status="confirmed", hazard_type=None)]
    assert [reg.hazard(r).hazard_type for r in reg.add_records("hazards", batch, actor=ACTOR)] == [
        "CHA",
        "CHA",
    ]


@explicitly(checks.GEOMETRY_UNIQUE_IN_BATCH, IMPORT)
def test_two_areas_of_one_geometry_in_a_batch_are_refused(reg: Registry) -> None:
    said = imported_many(reg, [hazard(40), hazard(41, geometry=polygon(40))])
    assert (said.record, said.field, said.message) == (
        "row 2",
        "geometry",
        "probable duplicate: the same geometry as row 1 of this batch",
    )


def imported_many(reg: Registry, records: list[dict[str, Any]]) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        reg.add_records("hazards", records, actor=ACTOR)
    return info.value


@explicitly(checks.VERTEX_JUMPS, IMPORT)
def test_a_vertex_jump_lands_with_a_warning(reg: Registry, tmp_path: Path) -> None:
    x, y = KYIV[0] + 0.5, KYIV[1]
    jumpy = shapely.Polygon([(x, y), (x + 0.001, y), (x + 0.001, y + 0.1), (x, y + 0.001)])
    src = write_geojson(tmp_path / "jump.geojson", [hazard(40, geometry=jumpy)])
    report = reg.import_file(src, actor=ACTOR)
    assert report.imported == 1
    assert [w for w in report.warnings if "km from its neighbour" in w]


@explicitly(checks.NEAR_THEIR_AREA, IMPORT)
def test_an_item_far_from_its_area_lands_with_a_warning(
    reg: Registry, refs: dict[str, str], tmp_path: Path
) -> None:
    inside = polygon(0).centroid
    far = shapely.Point(inside.x + 0.05, inside.y)  # about 3.5 km east
    src = tmp_path / "items.geojson"
    gpd.GeoDataFrame(
        {"area_ref": [refs["kyiv"]] * 2, "category": ["uxo"] * 2, "state": ["live"] * 2},
        geometry=[inside, far],
        crs="EPSG:4326",
    ).to_file(src)
    report = reg.import_file(src, "items", actor=ACTOR)
    assert report.imported == 2
    [warning] = report.warnings
    assert re.fullmatch(rf"row 2: lies 3\.\d km from its area {refs['kyiv']}", warning), warning


@explicitly(checks.OVERLAPS, IMPORT)
def test_an_area_overlapping_a_stored_one_lands_with_a_warning(
    reg: Registry, refs: dict[str, str], tmp_path: Path
) -> None:
    over = shapely.affinity.translate(polygon(0), 0.0005, 0)
    src = write_geojson(tmp_path / "over.geojson", [hazard(40, geometry=over)])
    report = reg.import_file(src, actor=ACTOR)
    assert report.imported == 1
    assert [w for w in report.warnings if f"overlaps {refs['kyiv']} (in the registry)" in w]


# -- the checks themselves, over many rows --------------------------------------------------


def test_checks_name_every_bad_row_and_the_row_first_seen() -> None:
    refs = ["A", "B", "A", None, "C", "B", "A", None]
    batch = Batch(HAZARDS, {"ref": refs})
    assert checks.ref_unique_in_batch(batch) == [
        Problem(2, "ref", "ref A appears twice in this batch (rows 1 and 3)"),
        Problem(5, "ref", "ref B appears twice in this batch (rows 2 and 6)"),
        Problem(6, "ref", "ref A appears twice in this batch (rows 1 and 7)"),
    ]
    keys = [7, None, 8, 7, 9, 8]
    stored = Stored(keys={9: "UA-2024-00009", 8: "UA-2024-00008"})
    rows = ["x0", "x1", "x2", "x3", "x4", "UA-2024-00008"]
    batch = Batch(HAZARDS, {"ref": rows, "geom_key": keys}, stored)
    assert [(p.row, p.message) for p in checks.geometry_not_stored(batch)] == [
        (2, "probable duplicate: the same geometry is already stored as UA-2024-00008"),
        (4, "probable duplicate: the same geometry is already stored as UA-2024-00009"),
    ]  # the last row is UA-2024-00008 itself, keeping its geometry
    assert [(p.row, p.message) for p in checks.geometry_unique_in_batch(batch)] == [
        (3, "probable duplicate: the same geometry as row 1 of this batch")
    ]


def test_checks_over_many_rows_flag_only_the_bad_ones() -> None:
    n = 10_000
    low = np.full(n, 5, dtype=object)
    best = np.full(n, 10, dtype=object)
    low[[17, 9_999]] = 11
    best[3] = None  # no best: nothing to compare
    low[3] = 99
    areas = np.full(n, "UA-2024-00001", dtype=object)
    areas[[5, 6]] = NOWHERE
    areas[7] = None
    cols = {
        "quantity_low": low.tolist(),
        "quantity_best": best.tolist(),
        "area_ref": areas.tolist(),
    }
    batch = Batch(EVENTS, cols, Stored(areas={"UA-2024-00001": None}))
    assert [p.row for p in checks.quantity_low_within_best(batch)] == [17, 9_999]
    assert [p.row for p in checks.area_exists(batch)] == [5, 6]


def test_an_edit_blames_the_field_it_changed() -> None:
    p = Problem(0, "quantity_low", "quantity_low 5 exceeds quantity_best 3")
    assert checks.blame(checks.QUANTITY_LOW, p, {"quantity_low"}) == "quantity_low"
    assert checks.blame(checks.QUANTITY_LOW, p, {"quantity_best"}) == "quantity_best"
    assert checks.blame(checks.QUANTITY_LOW, p, {"notes"}) is None


def test_every_check_is_tested_on_every_path_that_runs_it() -> None:
    wanted = {(c.name, p) for c in checks.CHECKS for p in c.paths}
    tested = EXPLICIT | {(c.check.name, p) for c in CASES for p in c.runs_on()}
    assert wanted - tested == set()
    assert tested - wanted == set()  # nor a path a check does not run on
    for kind in KINDS.values():
        for path in (IMPORT, EDIT, REVERT):
            assert all(kind in c.kinds for c in checks.checks_for(kind, path))
