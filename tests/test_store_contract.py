"""The contract of the store, whatever its backend: what the registry may rely on.

Written against the Store protocol alone (`open_store`, units of work and their
repositories): no SQL, no file. Each test runs once per backend of `BACKENDS`: the GeoPackage
file, and PostGIS when a throw-away cluster is given (LANDRELEASE_TEST_PG, see
tests/backends.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely

from backends import new_registry_url, pg_admin_url
from fixtures import KYIV, polygon
from landrelease.domain.errors import (
    ConflictError,
    DuplicateGeometry,
    NotFound,
    RegistryReadOnly,
    ValidationError,
)
from landrelease.domain.records import ACTIVITIES, EVENTS, HAZARDS, ITEMS
from landrelease.store import UNCHANGED, Columns, Store, open_store

AT = "2026-01-02T03:04:05.678Z"
LATER = "2026-02-03T04:05:06.789Z"


@dataclass(frozen=True)
class Backend:
    """How to make a new registry of one backend for a test (a URL in `tmp_path`)."""

    name: str
    new_url: Callable[[Path], str]


BACKENDS = [Backend("geopackage", lambda tmp: str(tmp / "contract.gpkg"))]
if pg_admin_url():
    BACKENDS.append(Backend("postgis", lambda tmp: new_registry_url(tmp, "postgis", "contract")))


@pytest.fixture(params=BACKENDS, ids=lambda b: b.name)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a registry not yet made, of each backend in turn."""
    backend: Backend = request.param
    return backend.new_url(tmp_path)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """A new, empty store at `store_url`."""
    s = open_store(store_url, create=True)
    try:
        yield s
    finally:
        s.close()


def multi(i: int, centre: tuple[float, float] = KYIV) -> shapely.MultiPolygon:
    """The i-th test polygon as the one-part MultiPolygon a polygon layer stores."""
    return shapely.MultiPolygon([polygon(i, centre)])


def hazard_columns(refs: list[str], geoms: list[Any] | None = None, **fields: list[Any]) -> Columns:
    """Columns of new hazard areas: `refs`, their geometries (polygon i by default), fields."""
    n = len(refs)
    geoms = geoms if geoms is not None else [multi(i) for i in range(n)]
    cols: Columns = {
        "ref": refs,
        "name": [f"area {r}" for r in refs],
        "status": ["suspected"] * n,
        "hazard_type": ["SHA"] * n,
        "geometry": np.array(geoms, dtype=object),
    }
    cols.update(fields)
    return cols


def add(store: Store, kind: Any, cols: Columns, *, batch: int | None = None) -> None:
    with store.unit_of_work(write=True) as uow:
        uow.records(kind).add(cols, at=AT, actor="alice", reason="contract", batch=batch)


def refs_of(store: Store, kind: Any = HAZARDS, **query: Any) -> list[str]:
    with store.unit_of_work() as uow:
        return list(uow.records(kind).select(columns=["ref"], geometry=False, **query)["ref"])


# -- open and create -----------------------------------------------------------------------


def test_a_registry_made_keeps_its_records_and_settings_when_opened_again(store_url: str) -> None:
    made = open_store(store_url, create=True)
    try:
        add(made, HAZARDS, hazard_columns(["UA-2024-00001"]))
        with made.unit_of_work(write=True) as uow:
            uow.settings.set("country", "UA")
    finally:
        made.close()
    again = open_store(store_url)
    try:
        assert not again.readonly
        with again.unit_of_work() as uow:
            assert uow.settings.get("country") == "UA"
            assert uow.settings.get("nothing", "default") == "default"
            assert uow.records(HAZARDS).count() == 1
    finally:
        again.close()


# -- units of work -------------------------------------------------------------------------


def test_a_block_ending_without_error_commits(store: Store) -> None:
    with store.unit_of_work(write=True) as uow:
        uow.settings.set("k", "v")
        assert uow.settings.get("k") == "v"  # its own writes are seen inside
    with store.unit_of_work() as uow:
        assert uow.settings.get("k") == "v"


def test_an_error_in_the_block_rolls_everything_back(store: Store) -> None:
    with pytest.raises(KeyError), store.unit_of_work(write=True) as uow:
        uow.settings.set("k", "v")
        uow.records(HAZARDS).add(
            hazard_columns(["UA-2024-00001"]), at=AT, actor="a", reason=None, batch=None
        )
        raise KeyError("boom")
    with store.unit_of_work() as uow:
        assert uow.settings.get("k") is None
        assert uow.records(HAZARDS).count() == 0


def test_explicit_commit_and_rollback_end_the_unit_of_work(store: Store) -> None:
    with store.unit_of_work(write=True) as uow:
        uow.settings.set("kept", "1")
        uow.commit()
        with pytest.raises(RuntimeError, match="over"):
            uow.settings.set("late", "1")
        with pytest.raises(RuntimeError, match="over"):
            uow.commit()
    with store.unit_of_work(write=True) as uow:
        uow.settings.set("dropped", "1")
        uow.rollback()
        with pytest.raises(RuntimeError, match="over"):
            uow.settings.get("dropped")
    with store.unit_of_work() as uow:
        assert uow.settings.get("kept") == "1"
        assert uow.settings.get("dropped") is None
        assert uow.settings.get("late") is None


def test_a_unit_of_work_cannot_be_used_after_its_block(store: Store) -> None:
    with store.unit_of_work() as uow:
        pass
    with pytest.raises(RuntimeError, match="over"):
        uow.records(HAZARDS).count()


def test_a_read_unit_of_work_refuses_writes(store: Store) -> None:
    with store.unit_of_work() as uow:
        assert not uow.write
        with pytest.raises(RuntimeError, match="write=True"):
            uow.settings.set("k", "v")
        with pytest.raises(RuntimeError, match="write=True"):
            uow.records(HAZARDS).add(
                hazard_columns(["UA-2024-00001"]), at=AT, actor="a", reason=None, batch=None
            )
    assert refs_of(store) == []


def test_a_read_unit_of_work_is_one_snapshot(store: Store) -> None:
    add(store, HAZARDS, hazard_columns(["UA-2024-00001"]))
    with store.unit_of_work() as uow:
        assert uow.records(HAZARDS).count() == 1
        add(store, HAZARDS, hazard_columns(["UA-2024-00002"], [multi(5)]))  # meanwhile
        assert uow.records(HAZARDS).count() == 1
        assert uow.records(HAZARDS).select(columns=["ref"])["ref"] == ["UA-2024-00001"]
    assert refs_of(store) == ["UA-2024-00001", "UA-2024-00002"]


def test_a_store_opened_read_only_reads_and_refuses_a_write(store_url: str) -> None:
    made = open_store(store_url, create=True)
    try:
        add(made, HAZARDS, hazard_columns(["UA-2024-00001"]))
    finally:
        made.close()
    ro = open_store(store_url, readonly=True)
    try:
        assert ro.readonly
        assert refs_of(ro) == ["UA-2024-00001"]
        with pytest.raises(RegistryReadOnly), ro.unit_of_work(write=True):
            pass
    finally:
        ro.close()


# -- records: add and read back ------------------------------------------------------------


def test_records_read_back_exactly_as_added(store: Store) -> None:
    with store.unit_of_work(write=True) as uow:
        batch = uow.batches.add(
            HAZARDS,
            at=AT,
            actor="alice",
            reason="survey 12",
            source="areas.geojson",
            sha256="ab" * 32,
            records=2,
            rejected=1,
        )
        uow.records(HAZARDS).add(
            hazard_columns(
                ["UA-2024-00001", "UA-2024-00002"],
                status=["suspected", "confirmed"],
                hazard_type=["SHA", "CHA"],
                contamination=["ap_mine;uxo", None],
                land_use=["forest", None],
                reported_on=["2024-03-15", None],
                notes=["Ünïcode ' quote; -- not SQL", None],
                area_m2=[123456.789, None],
                geom_key=[11, 22],
            ),
            at=AT,
            actor="alice",
            reason="survey 12",
            batch=batch,
        )
    with store.unit_of_work() as uow:
        got = uow.records(HAZARDS).get("UA-2024-00001")
        other = uow.records(HAZARDS).get("UA-2024-00002")
        assert uow.batches.get(batch) == {
            "kind": "hazards",
            "at": AT,
            "actor": "alice",
            "reason": "survey 12",
            "source": "areas.geojson",
            "sha256": "ab" * 32,
            "records": 2,
            "rejected": 1,
        }
        with pytest.raises(NotFound):
            uow.batches.get(batch + 1000)
    assert {k: got[k] for k in HAZARDS.field_names} == {
        "ref": "UA-2024-00001",
        "name": "area UA-2024-00001",
        "status": "suspected",
        "hazard_type": "SHA",
        "contamination": "ap_mine;uxo",
        "land_use": "forest",
        "evidence": None,
        "reported_on": "2024-03-15",
        "source_org": None,
        "admin_area": None,
        "notes": "Ünïcode ' quote; -- not SQL",
        "area_m2": 123456.789,
        "version": 1,
    }
    assert shapely.equals_exact(got["geometry"], multi(0), tolerance=0)
    assert (got["changed_at"], got["changed_by"], got["change_action"]) == (AT, "alice", "create")
    assert not got["needs_check"]
    assert (other["status"], other["contamination"], other["area_m2"]) == ("confirmed", None, None)
    assert shapely.equals_exact(other["geometry"], multi(1), tolerance=0)


def test_a_kind_without_geometry_and_a_point_kind_read_back(store: Store) -> None:
    add(store, HAZARDS, hazard_columns(["UA-2024-00001"]))
    event = {
        "ref": ["UA-EV-2024-00001"],
        "area_ref": ["UA-2024-00001"],
        "profile_id": ["persistent-ap-mine"],
        "quantity_best": [10],
        "emplaced_on": ["2022-03-01"],
    }
    item = {
        "ref": ["UA-ITM-2024-00001"],
        "area_ref": ["UA-2024-00001"],
        "category": ["ap_mine"],
        "state": ["destroyed"],
        "quantity": [2],
        "geometry": np.array([shapely.Point(30.5001234, 50.4501234)], dtype=object),
    }
    add(store, EVENTS, event)
    add(store, ITEMS, item)
    with store.unit_of_work() as uow:
        ev = uow.records(EVENTS).get("UA-EV-2024-00001")
        it = uow.records(ITEMS).get("UA-ITM-2024-00001")
        with pytest.raises(NotFound, match="UA-2024-00001"):
            uow.records(EVENTS).get("UA-2024-00001")  # a ref of another kind
    assert ev["geometry"] is None and ev["quantity_best"] == 10 and ev["version"] == 1
    assert it["geometry"].equals_exact(shapely.Point(30.5001234, 50.4501234), tolerance=0)
    assert it["quantity"] == 2


def test_an_added_ref_or_shape_stored_meanwhile_writes_nothing(store: Store) -> None:
    add(store, HAZARDS, hazard_columns(["UA-2024-00001"], geom_key=[7]))
    with pytest.raises(ConflictError):
        add(
            store, HAZARDS, hazard_columns(["UA-2024-00009", "UA-2024-00001"], [multi(3), multi(4)])
        )
    with pytest.raises(DuplicateGeometry) as info:
        add(store, HAZARDS, hazard_columns(["UA-2024-00002"], [multi(5)], geom_key=[7]))
    assert info.value.stored_ref == "UA-2024-00001"
    assert refs_of(store) == ["UA-2024-00001"]


# -- updates, optimistic locking, history ---------------------------------------------------


def test_an_update_names_the_version_it_read_and_a_stale_one_conflicts(store: Store) -> None:
    add(store, HAZARDS, hazard_columns(["UA-2024-00001"]))
    with store.unit_of_work(write=True) as uow:
        new = uow.records(HAZARDS).update(
            "UA-2024-00001",
            {"name": "renamed", "notes": "n"},
            expected_version=1,
            action="update",
            at=LATER,
            actor="bob",
            reason="typo",
        )
    assert new == 2
    with pytest.raises(ConflictError, match="version 2"):
        with store.unit_of_work(write=True) as uow:
            uow.records(HAZARDS).update(
                "UA-2024-00001",
                {"name": "lost"},
                expected_version=1,
                action="update",
                at=LATER,
                actor="carol",
                reason=None,
            )
    with pytest.raises(NotFound):
        with store.unit_of_work(write=True) as uow:
            uow.records(HAZARDS).update(
                "UA-2024-09999",
                {"name": "x"},
                expected_version=1,
                action="update",
                at=LATER,
                actor="carol",
                reason=None,
            )
    with store.unit_of_work() as uow:
        got = uow.records(HAZARDS).get("UA-2024-00001")
    assert (got["name"], got["notes"], got["version"]) == ("renamed", "n", 2)
    assert (got["changed_at"], got["changed_by"], got["change_action"]) == (LATER, "bob", "update")
    assert shapely.equals_exact(got["geometry"], multi(0), tolerance=0)  # left unchanged


def test_every_version_is_kept_oldest_first(store: Store) -> None:
    area = "UA-2024-00001"
    add(store, HAZARDS, hazard_columns([area]))
    add(
        store,
        ACTIVITIES,
        {
            "ref": ["UA-ACT-2024-00001"],
            "area_ref": [area],
            "activity_type": ["nts"],
            "geometry": np.array([None], dtype=object),
        },
    )
    with store.unit_of_work(write=True) as uow:
        areas = uow.records(HAZARDS)
        areas.update(
            area,
            {"status": "confirmed", "hazard_type": "CHA"},
            expected_version=1,
            action="status",
            at=LATER,
            actor="bob",
            reason="mine seen",
        )
        areas.update(
            area,
            {},
            geometry=multi(9),
            expected_version=2,
            action="update",
            at=LATER,
            actor="carol",
            reason="re-surveyed",
        )
    with store.unit_of_work() as uow:
        versions = uow.history.versions(area)
        assert uow.history.versions("UA-2024-09999") == []
        assert len(uow.history.versions("UA-ACT-2024-00001")) == 1
    assert [v["version"] for v in versions] == [1, 2, 3]
    assert [v["action"] for v in versions] == ["create", "status", "update"]
    assert [v["actor"] for v in versions] == ["alice", "bob", "carol"]
    assert [v["reason"] for v in versions] == ["contract", "mine seen", "re-surveyed"]
    assert [v["state"]["status"] for v in versions] == ["suspected", "confirmed", "confirmed"]
    assert all(v["kind"] == "hazards" and v["ref"] == area for v in versions)
    assert shapely.equals_exact(versions[1]["geometry"], multi(0), tolerance=0)
    assert shapely.equals_exact(versions[2]["geometry"], multi(9), tolerance=0)


def test_an_update_may_clear_a_geometry_and_clear_the_check_flag(store: Store) -> None:
    act = "UA-ACT-2024-00001"
    add(
        store,
        ACTIVITIES,
        {
            "ref": [act],
            "area_ref": ["x"],
            "activity_type": ["nts"],
            "geometry": np.array([multi(2)], dtype=object),
        },
    )
    with store.unit_of_work(write=True) as uow:
        uow.records(ACTIVITIES).update(
            act,
            {},
            geometry=None,
            expected_version=1,
            action="update",
            at=LATER,
            actor="bob",
            reason=None,
            checked=True,
        )
        kept = uow.records(ACTIVITIES).update(
            act,
            {"notes": "n"},
            geometry=UNCHANGED,
            expected_version=2,
            action="update",
            at=LATER,
            actor="bob",
            reason=None,
        )
    assert kept == 3
    with store.unit_of_work() as uow:
        got = uow.records(ACTIVITIES).get(act)
        assert uow.records(ACTIVITIES).count(bbox=multi(2).bounds) == 0
    assert got["geometry"] is None and not got["needs_check"]


# -- reading: where, bbox, order, pages, counts --------------------------------------------


@pytest.fixture
def grid(store: Store) -> Store:
    """Twelve areas UA-2024-00001.. on polygons 0..11 (a grid 0.02 degrees apart), names
    in three groups with ties, and some areas without land use."""
    n = 12
    refs = [f"UA-2024-{i + 1:05d}" for i in range(n)]
    add(
        store,
        HAZARDS,
        hazard_columns(
            refs,
            name=[f"group {'abc'[i % 3]}" for i in range(n)],
            status=["confirmed" if i % 4 == 0 else "suspected" for i in range(n)],
            hazard_type=["CHA" if i % 4 == 0 else "SHA" for i in range(n)],
            land_use=[None if i % 5 == 0 else "forest" for i in range(n)],
            area_m2=[float(100 * (n - i)) for i in range(n)],
        ),
    )
    return store


def test_where_takes_a_value_a_list_or_none(grid: Store) -> None:
    assert refs_of(grid, where={"status": "confirmed"}) == [
        "UA-2024-00001",
        "UA-2024-00005",
        "UA-2024-00009",
    ]
    assert refs_of(grid, where={"ref": ["UA-2024-00003", "UA-2024-00002", "NONE"]}) == [
        "UA-2024-00002",
        "UA-2024-00003",
    ]
    assert refs_of(grid, where={"land_use": None}) == [
        "UA-2024-00001",
        "UA-2024-00006",
        "UA-2024-00011",
    ]
    assert refs_of(grid, where={"ref": []}) == []
    many = [f"UA-2024-{i:05d}" for i in range(2, 40_000)]  # more than SQL variables allowed
    assert len(refs_of(grid, where={"ref": many})) == 11
    assert refs_of(grid, where={"status": "suspected", "land_use": None}) == [
        "UA-2024-00006",
        "UA-2024-00011",
    ]
    with grid.unit_of_work() as uow:
        assert uow.records(HAZARDS).count(where={"ref": many}) == 11
        assert uow.records(HAZARDS).count(where={"needs_check": 1}) == 0


def test_a_bbox_keeps_the_geometries_that_really_meet_it(grid: Store) -> None:
    inside = polygon(3)
    # a box over polygon 3's envelope corner that misses the polygon itself
    minx, miny, maxx, maxy = inside.bounds
    corner = next(
        b
        for b in (
            (minx, miny, minx + (maxx - minx) * 0.1, miny + (maxy - miny) * 0.1),
            (maxx - (maxx - minx) * 0.1, miny, maxx, miny + (maxy - miny) * 0.1),
            (minx, maxy - (maxy - miny) * 0.1, minx + (maxx - minx) * 0.1, maxy),
            (maxx - (maxx - minx) * 0.1, maxy - (maxy - miny) * 0.1, maxx, maxy),
        )
        if not inside.intersects(shapely.box(*b))
    )
    around = (minx - 0.001, miny - 0.001, maxx + 0.001, maxy + 0.001)
    wide = (KYIV[0] - 0.01, KYIV[1] - 0.01, KYIV[0] + 0.05, KYIV[1] + 0.03)  # polygons 0-2, 10-12
    with grid.unit_of_work() as uow:
        areas = uow.records(HAZARDS)
        for geometry in (True, False):
            assert areas.select(columns=["ref"], bbox=corner, geometry=geometry)["ref"] == []
            assert areas.select(columns=["ref"], bbox=around, geometry=geometry)["ref"] == [
                "UA-2024-00004"
            ]
        assert areas.count(bbox=corner) == 0 and areas.count(bbox=around) == 1
        got = areas.select(columns=["ref"], bbox=wide)
        expected = [
            f"UA-2024-{i + 1:05d}" for i in range(12) if polygon(i).intersects(shapely.box(*wide))
        ]
        assert got["ref"] == expected and len(expected) >= 4
        assert [
            shapely.equals_exact(g, multi(int(r[-5:]) - 1), tolerance=0)
            for g, r in zip(got["geometry"], got["ref"], strict=True)
        ] == [True] * len(expected)
        assert areas.count(bbox=wide) == len(expected)
        assert areas.count(bbox=wide, where={"status": "confirmed"}) == len(
            areas.select(columns=["ref"], bbox=wide, where={"status": "confirmed"})["ref"]
        )
        with pytest.raises(ValidationError, match="bbox"):
            uow.records(EVENTS).select(bbox=wide)


def test_order_by_a_column_or_its_negation_then_storage_order(grid: Store) -> None:
    with grid.unit_of_work() as uow:
        areas = uow.records(HAZARDS)
        by_area = areas.select(columns=["ref", "area_m2"], order_by="area_m2")
        assert by_area["area_m2"] == sorted(by_area["area_m2"])
        down = areas.select(columns=["ref"], order_by=["-name", "-ref"])["ref"]
        assert down[:4] == ["UA-2024-00012", "UA-2024-00009", "UA-2024-00006", "UA-2024-00003"]
        ties = areas.select(columns=["ref"], order_by="name")["ref"]  # ties in storage order
        assert ties[:4] == ["UA-2024-00001", "UA-2024-00004", "UA-2024-00007", "UA-2024-00010"]
        # empty values last going up, first going down
        up = areas.select(columns=["land_use"], order_by="land_use")["land_use"]
        assert up[-3:] == [None] * 3 and None not in up[:-3]
        back = areas.select(columns=["land_use"], order_by="-land_use")["land_use"]
        assert back[:3] == [None] * 3
        stamped = areas.select(columns=["ref", "changed_at"], order_by=["-changed_at", "ref"])
        assert stamped["ref"] == sorted(stamped["ref"])


def test_pages_of_limit_and_offset_make_up_the_whole(grid: Store) -> None:
    with grid.unit_of_work() as uow:
        areas = uow.records(HAZARDS)
        for query in ({}, {"bbox": (30.0, 50.0, 31.0, 51.0)}, {"where": {"status": "suspected"}}):
            whole = areas.select(columns=["ref"], order_by="-area_m2", geometry=False, **query)
            total = areas.count(**query)
            assert total == len(whole["ref"]) > 0
            pages = []
            for offset in range(0, total + 5, 5):
                page = areas.select(
                    columns=["ref"], order_by="-area_m2", limit=5, offset=offset, **query
                )
                assert len(page["ref"]) == len(page["geometry"]) <= 5
                pages += page["ref"]
            assert pages == whole["ref"]
        assert areas.select(columns=["ref"], limit=0)["ref"] == []
        assert areas.select(columns=["ref"], offset=10)["ref"] == ["UA-2024-00011", "UA-2024-00012"]
        assert areas.select(columns=["ref"], offset=99)["ref"] == []


def test_columns_values_and_counts_by(grid: Store) -> None:
    with grid.unit_of_work() as uow:
        areas = uow.records(HAZARDS)
        got = areas.select(columns=["ref", "version", "needs_check"], geometry=False)
        assert set(got) == {"ref", "version", "needs_check"} and len(got["ref"]) == 12
        assert set(areas.select(columns=["ref"])) == {"ref", "geometry"}
        assert set(areas.select(limit=1)) == set(HAZARDS.field_names) | {"geometry"}
        assert areas.counts_by("status") == {"confirmed": 3, "suspected": 9}
        assert areas.values("land_use") == {"forest"}
        assert len(areas.values("ref")) == 12
        assert areas.count() == 12
        assert uow.records(ITEMS).count() == 0


# -- names from a request never reach SQL --------------------------------------------------

HOSTILE = [
    "ref; DROP TABLE hazard_areas",
    "1=1 --",
    "ref --",
    "ref)",
    '"ref"',
    "geom",
    "geometry",
    "fid",
    "batch_id",
    "*",
    "",
    "Ref",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_a_name_not_of_the_data_model_is_refused_by_name(grid: Store, name: str) -> None:
    def refused(call: Callable[[], Any], parameter: str) -> None:
        with pytest.raises(ValidationError) as info:
            call()
        assert repr(name) in str(info.value) and parameter in str(info.value)

    with grid.unit_of_work() as uow:
        areas = uow.records(HAZARDS)
        refused(lambda: areas.select(columns=["ref", name]), "columns")
        refused(lambda: areas.select(where={name: "x"}), "where")
        refused(lambda: areas.count(where={name: 1}), "where")
        refused(lambda: areas.select(order_by=name), "order_by")
        refused(lambda: areas.select(order_by=["ref", f"-{name}"]), "order_by")
        refused(lambda: areas.counts_by(name), "column")
        refused(lambda: areas.values(name), "column")
    with pytest.raises(ValidationError) as info:
        with grid.unit_of_work(write=True) as uow:
            uow.records(HAZARDS).update(
                "UA-2024-00001",
                {name: "x"},
                expected_version=1,
                action="update",
                at=LATER,
                actor="eve",
                reason=None,
            )
    assert repr(name) in str(info.value)
    assert refs_of(grid) == [f"UA-2024-{i + 1:05d}" for i in range(12)]
    with grid.unit_of_work() as uow:
        assert uow.records(HAZARDS).get("UA-2024-00001")["version"] == 1


@pytest.mark.parametrize(
    "page",
    [
        {"limit": -1},
        {"limit": "10; DROP TABLE hazard_areas"},
        {"offset": -5},
        {"limit": True},
        {"offset": 1.5},
    ],
)
def test_a_page_that_is_not_a_count_of_rows_is_refused(grid: Store, page: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="number of rows"), grid.unit_of_work() as uow:
        uow.records(HAZARDS).select(**page)


def test_values_are_bound_never_read_as_sql(grid: Store) -> None:
    hostile = "x' OR '1'='1"
    assert refs_of(grid, where={"ref": hostile}) == []
    assert refs_of(grid, where={"ref": [hostile, "UA-2024-00002"]}) == ["UA-2024-00002"]
    with pytest.raises(ValidationError, match="not dict"), grid.unit_of_work() as uow:
        uow.records(HAZARDS).select(where={"ref": {"$ne": 1}})


# -- ref counters --------------------------------------------------------------------------


def test_serials_are_reserved_once_and_released_by_a_rollback(store: Store) -> None:
    with store.unit_of_work(write=True) as uow:
        assert list(uow.serials.reserve("UA-2024", 3)) == [1, 2, 3]
        assert list(uow.serials.reserve("UA-2024", 2)) == [4, 5]
        assert list(uow.serials.reserve("UA-EV-2024", 1)) == [1]
    with store.unit_of_work(write=True) as uow:
        assert list(uow.serials.reserve("UA-2024", 1)) == [6]
        uow.rollback()
    with store.unit_of_work(write=True) as uow:
        assert list(uow.serials.reserve("UA-2024", 1)) == [6]
