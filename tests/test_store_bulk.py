"""A large batch sets its table's per-row insert triggers aside and does their work once.

What each trigger keeps (the R-tree, GeoPackage feature counts, the related-tables mapping of
an area to its records) must be exactly as row-by-row triggers would have left it, and every
trigger must be back when the batch commits.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import shapely

from fixtures import KYIV, hazard, polygon
from landrelease.registry import Registry
from landrelease.store import geopackage as gpkg

pytestmark = pytest.mark.sqlite_only(
    reason="the file's GeoPackage triggers, feature counts, R-tree and related-tables mapping"
)


def _triggers(path: Path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(path)
    try:
        return sorted(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"))
    finally:
        conn.close()


@pytest.mark.parametrize("n", [999, 1001, 3000])
def test_a_large_batch_of_items_is_counted_related_and_indexed(
    registry_path: Path, refs: dict[str, str], n: int
) -> None:
    before = _triggers(registry_path)
    items = [
        {
            "area_ref": refs["kyiv"] if i % 3 else refs["kharkiv"],
            "category": "ap_mine",
            "state": "destroyed",
            "found_on": "2024-04-01",
            "geometry": shapely.Point(KYIV[0] + i * 1e-5, KYIV[1]),
        }
        for i in range(n)
    ]
    with Registry.open(registry_path) as reg:
        stored_before = reg.summary()["items"]
        reg.add_records("items", items, actor="t")
    assert _triggers(registry_path) == before
    conn = sqlite3.connect(registry_path)
    try:
        total = conn.execute("SELECT count(*) FROM items").fetchone()[0]
        assert total == stored_before + n
        counted = conn.execute(
            "SELECT feature_count FROM gpkg_ogr_contents WHERE table_name = 'items'"
        ).fetchone()[0]
        assert counted == total
        mapped = conn.execute(
            "SELECT count(*) FROM hazard_areas_items m JOIN items i ON i.fid = m.related_id "
            "JOIN hazard_areas a ON a.fid = m.base_id AND a.ref = i.area_ref"
        ).fetchone()[0]
        assert mapped == total  # every item related to its own area, once
        assert conn.execute("SELECT rtreecheck('rtree_items_geom')").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM rtree_items_geom").fetchone()[0] == total
    finally:
        conn.close()
    # the triggers work again for the next row, added by another program
    conn = sqlite3.connect(registry_path, isolation_level=None)
    gpkg.register_functions(conn)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="category must be one of"):
            conn.execute(
                "INSERT INTO items (area_ref, category, state) VALUES (?, 'bogus', 'destroyed')",
                (refs["kyiv"],),
            )
        conn.execute(
            "INSERT INTO items (area_ref, category, state, geom) VALUES (?, 'uxo', 'live', ?)",
            (refs["kyiv"], gpkg.encode([shapely.Point(*KYIV)], layer_type="POINT")[0]),
        )
        assert (
            conn.execute(
                "SELECT feature_count FROM gpkg_ogr_contents WHERE table_name = 'items'"
            ).fetchone()[0]
            == total + 1
        )
    finally:
        conn.close()


def test_a_large_batch_of_areas_keeps_the_counts(registry_path: Path) -> None:
    with Registry.open(registry_path) as reg:
        reg.add_records(
            "hazards",
            [hazard(1000 + i, geometry=polygon(i, (30.0, 46.0))) for i in range(1200)],
            actor="t",
        )
    conn = sqlite3.connect(registry_path)
    try:
        total = conn.execute("SELECT count(*) FROM hazard_areas").fetchone()[0]
        assert (
            conn.execute(
                "SELECT feature_count FROM gpkg_ogr_contents WHERE table_name = 'hazard_areas'"
            ).fetchone()[0]
            == total
        )
        assert conn.execute("SELECT rtreecheck('rtree_hazard_areas_geom')").fetchone()[0] == "ok"
    finally:
        conn.close()
