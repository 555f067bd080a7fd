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

from backends import is_database

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
    """Return every table of a registry (rows sorted) and its schema: a file or a database.

    Nothing is ignored. Of a SQLite file: record tables, the audit trail, the GeoPackage
    tables, the R-tree and its shadow tables, settings and counters, and its pragmas. Of a
    PostgreSQL database: every table but PostGIS's own, geometries as EWKB, with the columns,
    indexes, constraints and triggers. Two snapshots are equal only if the registry's content
    is the same. (Sequences are left out: PostgreSQL never rolls them back, by design.)
    """
    if is_database(db_path):
        return _pg_snapshot(str(db_path))
    if not Path(db_path).is_file():  # sqlite3 would make an empty file, equal to any other
        raise FileNotFoundError(db_path)
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


# The tables of a database that are ours: not the system's, nor an extension's (PostGIS's
# spatial_ref_sys), by schema and name.
_PG_TABLES = """
SELECT n.nspname, c.relname, c.oid
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2
"""
_PG_COLUMNS = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid)
FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""
_PG_DEFINITIONS = """
SELECT 'index', pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = %(t)s
UNION ALL
SELECT 'constraint ' || conname, pg_get_constraintdef(oid) FROM pg_constraint
WHERE conrelid = %(t)s
UNION ALL
SELECT 'trigger ' || tgname, pg_get_triggerdef(oid) || ' ' || tgenabled::text FROM pg_trigger
WHERE tgrelid = %(t)s AND NOT tgisinternal
"""


def _pg_snapshot(url: str) -> dict[str, Any]:
    import psycopg
    from psycopg import sql

    out: dict[str, Any] = {}
    with psycopg.connect(url) as conn:
        conn.read_only = True
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        for schema, table, oid in conn.execute(_PG_TABLES).fetchall():
            columns = conn.execute(_PG_COLUMNS, (oid,)).fetchall()
            name = table if schema == "public" else f"{schema}.{table}"
            out[f"schema {name}"] = (
                columns,
                sorted(conn.execute(_PG_DEFINITIONS, {"t": oid}).fetchall()),
            )
            select = sql.SQL(", ").join(
                sql.SQL("ST_AsEWKB({})").format(sql.Identifier(c))
                if str(kind).startswith("geometry")
                else sql.Identifier(c)
                for c, kind, _null, _default in columns
            )
            rows = conn.execute(
                sql.SQL("SELECT {} FROM {}").format(select, sql.Identifier(schema, table))
            ).fetchall()
            out[f"table {name}"] = sorted(rows, key=repr)
    return out


def table_counts(db_path: Path | str) -> dict[str, int]:
    """Return the number of rows of each record table, of all their earlier versions
    ("history") and of the import batches; of a file or a database."""
    tables = (
        "hazard_areas",
        "contamination_events",
        "activities",
        "items",
        "accidents",
        "eore_sessions",
    )
    rows = _row_counts(db_path, [*tables, *(f"{t}_history" for t in tables), "landrelease_batches"])
    out = {t: rows[t] for t in tables}
    out["history"] = sum(rows[f"{t}_history"] for t in tables)
    out["batches"] = rows["landrelease_batches"]
    return out


def query(db_path: Path | str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Return the rows of an SQL query on a registry, read as another program would read it.

    A file through sqlite3, a database through psycopg (`?` placeholders become `%s`): for
    plain SQL that both run, to check what the registry stored.
    """
    if is_database(db_path):
        import psycopg

        with psycopg.connect(str(db_path)) as pg:
            return pg.execute(sql.replace("?", "%s"), params or None).fetchall()
    if not Path(db_path).is_file():
        raise FileNotFoundError(db_path)
    conn = sqlite3.connect(str(db_path))
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def edit_outside(db_path: Path | str, sql: str, params: tuple[Any, ...] = ()) -> None:
    """Run one SQL statement on a registry as another program (QGIS, any SQL client) would.

    A file through sqlite3 with the GeoPackage functions GDAL gives its SQLite, a database
    through psycopg (`?` placeholders become `%s`); committed at once, like a saved edit.
    """
    if is_database(db_path):
        import psycopg

        with psycopg.connect(str(db_path), autocommit=True) as pg:
            pg.execute(sql.replace("?", "%s"), params or None)
        return
    from landrelease.store import geopackage as gpkg

    if not Path(db_path).is_file():
        raise FileNotFoundError(db_path)
    conn = sqlite3.connect(str(db_path), isolation_level=None)
    try:
        gpkg.register_functions(conn)
        conn.execute(sql, params)
    finally:
        conn.close()


def _row_counts(db_path: Path | str, tables: list[str]) -> dict[str, int]:
    """Return the number of rows of each of `tables` (trusted names) of a file or a database."""
    counts = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM \"{t}\"" for t in tables)
    return {t: n for t, n in query(db_path, counts)}


def make_workbook(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    """Return `path` after saving a workbook with the given sheets and rows (cells as given:
    text, numbers, dates)."""
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    workbook.save(path)
    return path
