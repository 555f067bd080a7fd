"""Helpers that build real registries and input files for the tests (no mocks of our store).

Polygons are small, distinct and inside Ukraine: `polygon(i)` gives a different irregular
polygon for every `i`, so duplicate-geometry detection never fires by accident.
"""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path
from typing import Any

import shapely

KYIV = (30.5, 50.45)
KHARKIV = (36.23, 49.99)


def polygon(i: int, centre: tuple[float, float] = KYIV, size_m: float = 300.0) -> shapely.Polygon:
    """Return the i-th distinct irregular pentagon (about `size_m` across) near `centre`."""
    lon0, lat0 = centre
    # a grid of places 0.02 degrees apart, so that no two polygons overlap
    lon = lon0 + (i % 10) * 0.02
    lat = lat0 + (i // 10) * 0.02
    r = size_m / 2
    pts = []
    for k, (ang, scale) in enumerate(
        zip((0, 70, 150, 215, 290), (1.0, 0.8, 1.1, 0.7, 0.9), strict=True)
    ):
        a = math.radians(ang + 3 * (i % 7) + k)
        dx = r * scale * math.cos(a) / (111_320 * math.cos(math.radians(lat)))
        dy = r * scale * math.sin(a) / 110_574
        pts.append((round(lon + dx, 7), round(lat + dy, 7)))
    return shapely.Polygon(pts)


def bow_tie(centre: tuple[float, float] = KYIV) -> shapely.Polygon:
    """Return a self-intersecting 'bow-tie' polygon (invalid) near `centre`."""
    x, y = centre[0] + 0.3, centre[1] - 0.3
    d = 0.002
    return shapely.Polygon([(x, y), (x + d, y + d), (x + d, y), (x, y + d), (x, y)])


def hazard(i: int, **fields: Any) -> dict[str, Any]:
    """Return a valid new hazard-area record (a dict with a shapely geometry)."""
    rec: dict[str, Any] = {
        "name": f"test area {i}",
        "status": "suspected",
        "evidence": "informant report",
        "reported_on": "2024-03-15",
        "contamination": "ap_mine",
        "geometry": polygon(i),
    }
    rec.update(fields)
    return rec


def geojson_feature(props: dict[str, Any], geometry: Any) -> dict[str, Any]:
    """Return a GeoJSON feature; `geometry` is a shapely geometry, a GeoJSON dict or None."""
    if geometry is not None and not isinstance(geometry, dict):
        geometry = json.loads(shapely.to_geojson(geometry))
    return {"type": "Feature", "properties": props, "geometry": geometry}


def write_geojson(path: Path, records: list[dict[str, Any]], crs: str | None = None) -> Path:
    """Write records (dicts with "geometry") as a GeoJSON file by hand, invalid shapes kept."""
    features = [
        geojson_feature({k: v for k, v in r.items() if k != "geometry"}, r.get("geometry"))
        for r in records
    ]
    doc: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if crs is not None:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def snapshot(db_path: Path | str) -> dict[str, Any]:
    """Return every table of a SQLite file (rows sorted), its schema and its pragmas.

    Nothing is ignored: record tables, the audit trail, the GeoPackage tables, the R-tree
    and its shadow tables, settings and counters. Two snapshots are equal only if the
    registry's content is the same.
    """
    conn = sqlite3.connect(str(db_path))
    try:
        out: dict[str, Any] = {
            "pragma application_id": conn.execute("PRAGMA application_id").fetchone()[0],
            "pragma user_version": conn.execute("PRAGMA user_version").fetchone()[0],
            "schema": sorted(
                conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall(),
                key=repr,
            ),
        }
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        for t in tables:
            rows = conn.execute(f'SELECT * FROM "{t}"').fetchall()
            out[f"table {t}"] = sorted(rows, key=repr)
        return out
    finally:
        conn.close()


def table_counts(db_path: Path | str) -> dict[str, int]:
    """Return the number of rows of each record table, of all their earlier versions
    ("history") and of the import batches."""
    tables = ("hazard_areas", "contamination_events", "activities", "items", "accidents")
    conn = sqlite3.connect(str(db_path))
    try:
        out = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
        out["history"] = sum(
            conn.execute(f"SELECT count(*) FROM {t}_history").fetchone()[0] for t in tables
        )
        out["batches"] = conn.execute("SELECT count(*) FROM landrelease_batches").fetchone()[0]
        return out
    finally:
        conn.close()
