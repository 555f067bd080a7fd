"""The in-memory box index of a served registry: the same keys as the spatial index's read
(the file's R-tree, PostGIS's GiST index), and current after every commit, whoever makes it
(another Registry, plain SQL as QGIS would); on either backend."""

from __future__ import annotations

import sqlite3
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures import KYIV, hazard
from landrelease.domain.records import HAZARDS, ITEMS
from landrelease.registry import Registry
from landrelease.store import geopackage as gpkg


def _keys(reg: Registry, bbox: tuple[float, ...], *, memory: bool) -> dict[str, Any]:
    with reg.store.unit_of_work() as uow:
        if not memory:
            uow.boxes = None  # the spatial index's read, as a reference
        return uow.records(HAZARDS).select(
            columns=["ref", "version"], bbox=bbox, geometry=False, limit=500
        )


@pytest.fixture
def grid_location(new_registry: Any) -> str:
    """Where the grid registry is: a file's path or a database's URL."""
    return str(new_registry("grid"))


@pytest.fixture
def grid_reg(grid_location: str) -> Registry:
    """A registry of 60 synthetic areas on a 0.02-degree grid near Kyiv."""
    reg = Registry.open(grid_location, create=True)
    reg.add_records("hazards", [hazard(i) for i in range(60)], actor="tests")
    yield reg  # type: ignore[misc]
    reg.close()


@settings(  # the registry is only read: one per test function is enough
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    x=st.floats(KYIV[0] - 0.02, KYIV[0] + 0.2),
    y=st.floats(KYIV[1] - 0.02, KYIV[1] + 0.12),
    w=st.floats(0.0001, 0.1),
    h=st.floats(0.0001, 0.1),
)
def test_memory_gives_the_keys_the_rtree_gives(
    grid_reg: Registry, x: float, y: float, w: float, h: float
) -> None:
    box = (x, y, x + w, y + h)
    assert _keys(grid_reg, box, memory=True) == _keys(grid_reg, box, memory=False)


def test_an_edge_box_keeps_only_real_intersections(grid_reg: Registry) -> None:
    # a box inside the envelope of area 0 but off its (pentagon) outline: R-tree hit, no match
    area = grid_reg.hazard(grid_reg.record_columns("hazards", columns=["ref"])["ref"][0])
    minx, miny, maxx, maxy = area.geometry.bounds
    corner = (minx, miny, minx + (maxx - minx) * 0.05, miny + (maxy - miny) * 0.05)
    assert not area.geometry.intersects(__import__("shapely").box(*corner))
    assert _keys(grid_reg, corner, memory=True)["ref"] == []
    assert _keys(grid_reg, area.geometry.bounds, memory=True)["ref"][0] == area.ref


def test_a_commit_elsewhere_is_seen_at_once(grid_reg: Registry, grid_location: str) -> None:
    box = (KYIV[0] - 0.01, KYIV[1] - 0.01, KYIV[0] + 0.01, KYIV[1] + 0.01)
    before = _keys(grid_reg, box, memory=True)
    (ref,) = before["ref"]
    # another Registry on the same registry (as the CLI would be)
    with Registry.open(grid_location) as other:
        other.update_record("hazards", ref, {"name": "renamed"}, actor="tests")
    assert _keys(grid_reg, box, memory=True)["version"] == [before["version"][0] + 1]
    # plain SQL, as QGIS writes: a new version by the registry's own triggers
    _sql(grid_location, "UPDATE hazard_areas SET notes = 'edited in QGIS' WHERE ref = ?", ref)
    assert _keys(grid_reg, box, memory=True)["version"] == [before["version"][0] + 2]

    # a new area in the box, added by this same Registry (another pooled connection)
    grid_reg.add_records("hazards", [hazard(500, geometry=_shifted(grid_reg, ref))], actor="t")
    assert len(_keys(grid_reg, box, memory=True)["ref"]) == 2
    assert _keys(grid_reg, box, memory=True) == _keys(grid_reg, box, memory=False)


def test_the_edges_geometries_are_read_once_per_version(
    grid_reg: Registry, grid_location: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    area = grid_reg.hazard(grid_reg.record_columns("hazards", columns=["ref"])["ref"][0])
    minx, miny, maxx, maxy = area.geometry.bounds
    corner = (minx, miny, minx + (maxx - minx) * 0.05, miny + (maxy - miny) * 0.05)
    index = grid_reg.store.box_index(HAZARDS)
    _keys(grid_reg, (0.0, 0.0, 0.1, 0.1), memory=True)  # the index is loaded: none on its edge
    asked: list[list[int]] = []
    check = index._check

    def recorded(fids: list[int], via: Any = None) -> Any:
        asked.append(list(fids))
        return check(fids, via)

    monkeypatch.setattr(index, "_check", recorded)
    assert _keys(grid_reg, corner, memory=True)["ref"] == []  # on the edge, off the outline
    assert _keys(grid_reg, corner, memory=True)["ref"] == []
    assert [len(fids) for fids in asked] == [1, 0]  # the counter alone the second time
    # a new version whose outline now covers the corner: its geometry is read and tested anew
    covering = area.geometry.union(__import__("shapely").box(*corner))
    with Registry.open(grid_location) as other:
        other.update_record("hazards", area.ref, {"geometry": covering}, actor="tests")
    assert _keys(grid_reg, corner, memory=True)["ref"] == [area.ref]
    assert _keys(grid_reg, corner, memory=True) == _keys(grid_reg, corner, memory=False)


def test_point_kinds_and_empty_tables(grid_reg: Registry) -> None:
    with grid_reg.store.unit_of_work() as uow:
        got = uow.records(ITEMS).select(
            columns=["ref", "version"], bbox=(-180, -90, 180, 90), geometry=False
        )
    assert got == {"ref": [], "version": []}


def _shifted(reg: Registry, ref: str) -> Any:
    import shapely

    return shapely.affinity.translate(reg.hazard(ref).geometry, 0.001, 0.0005).buffer(-0.0003)


def _sql(location: str, statement: str, *params: Any) -> None:
    """Run one statement on the registry as another program would (QGIS): its own
    connection, plain SQL, committed."""
    if location.startswith("postgresql://"):
        with psycopg.connect(location, autocommit=True) as conn:
            conn.execute(statement.replace("?", "%s"), params)
        return
    with sqlite3.connect(location) as raw:
        gpkg.register_functions(raw)  # what GDAL and QGIS give their SQLite
        raw.execute(statement, params)
