"""GeoPackage 1.3 specifics: geometry blobs, core tables, layer registration and the R-tree.

Everything here is SQLite-only; a PostGIS backend stands beside this module, not inside it.
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Iterable, Sequence

import numpy as np
import shapely

from landrelease.domain.records import KINDS, RecordKind
from landrelease.store.schema import GEOM, GPKG_TYPES

APPLICATION_ID = 0x47504B47  # "GPKG"
USER_VERSION = 10300  # GeoPackage 1.3.0
SRS_ID = 4326

_WGS84_WKT = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,'
    'AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,'
    'AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],'
    'AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]'
)

# Header: magic "GP", version 0, flags, srs_id; then an envelope whose size the flags give.
_ENVELOPE_BYTES = (0, 32, 48, 48, 64, 0, 0, 0)
_HEADER = np.dtype(
    [("magic", "S2"), ("version", "u1"), ("flags", "u1"), ("srs", "<i4"), ("env", "<f8", (4,))]
)
_FLAGS_XY_LE = 0b0000_0011  # little-endian, envelope [minx, maxx, miny, maxy]
_FLAGS_NOENV_LE = 0b0000_0001  # little-endian, no envelope (points)


def encode(geoms: np.ndarray, wkb: Sequence[bytes] | None = None) -> list[bytes | None]:
    """Return GeoPackage geometry blobs for `geoms` (None stays None); `wkb` may be given."""
    geoms = np.asarray(geoms, dtype=object)
    out: list[bytes | None] = [None] * len(geoms)
    present = np.flatnonzero(~shapely.is_missing(geoms))
    if not len(present):
        return out
    sub = geoms[present]
    wkbs = list(wkb) if wkb is not None else list(shapely.to_wkb(sub, byte_order=1))
    points = shapely.get_type_id(sub) == 0
    header = np.zeros(len(sub), dtype=_HEADER)
    header["magic"] = b"GP"
    header["srs"] = SRS_ID
    header["flags"] = np.where(points, _FLAGS_NOENV_LE, _FLAGS_XY_LE)
    b = shapely.bounds(sub)
    header["env"] = b[:, [0, 2, 1, 3]]
    raw = header.tobytes()
    size = _HEADER.itemsize
    for j, i in enumerate(present):
        head = raw[j * size : j * size + (8 if points[j] else size)]
        out[i] = head + wkbs[j]
    return out


def wkb_of(blob: bytes) -> bytes:
    """Return the WKB inside a GeoPackage geometry blob."""
    return blob[8 + _ENVELOPE_BYTES[(blob[3] >> 1) & 7] :]


def decode(blobs: Iterable[bytes | None]) -> np.ndarray:
    """Return shapely geometries for GeoPackage blobs (None for NULL)."""
    wkbs = [None if b is None else b[8 + _ENVELOPE_BYTES[(b[3] >> 1) & 7] :] for b in blobs]
    return shapely.from_wkb(np.array(wkbs, dtype=object))


# -- SQL functions the GeoPackage R-tree triggers call (GDAL provides the same ones) ----------


def _envelope(blob: bytes | None) -> tuple[float, float, float, float] | None:
    if blob is None or len(blob) < 8:
        return None
    flags = blob[3]
    env = _ENVELOPE_BYTES[(flags >> 1) & 7]
    if env:
        fmt = "<4d" if flags & 1 else ">4d"
        return struct.unpack_from(fmt, blob, 8)
    g = shapely.from_wkb(blob[8:])
    if g is None or g.is_empty:
        return None
    minx, miny, maxx, maxy = g.bounds
    return minx, maxx, miny, maxy


def _is_empty(blob: bytes | None) -> int | None:
    if blob is None:
        return None
    if blob[3] & 0b1_0000:
        return 1
    return 0 if _envelope(blob) is not None else 1


def register_functions(conn: sqlite3.Connection) -> None:
    """Register ST_MinX, ST_MaxX, ST_MinY, ST_MaxY and ST_IsEmpty on a sqlite3 connection."""

    def part(k: int):  # type: ignore[no-untyped-def]
        def f(blob: bytes | None) -> float | None:
            env = _envelope(blob)
            return None if env is None else env[k]

        return f

    conn.create_function("ST_MinX", 1, part(0), deterministic=True)
    conn.create_function("ST_MaxX", 1, part(1), deterministic=True)
    conn.create_function("ST_MinY", 1, part(2), deterministic=True)
    conn.create_function("ST_MaxY", 1, part(3), deterministic=True)
    conn.create_function("ST_IsEmpty", 1, _is_empty, deterministic=True)


# -- schema -----------------------------------------------------------------------------------

_CORE_DDL = [
    """CREATE TABLE IF NOT EXISTS gpkg_spatial_ref_sys (
        srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
        organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT)""",
    """CREATE TABLE IF NOT EXISTS gpkg_contents (
        table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL,
        identifier TEXT UNIQUE, description TEXT DEFAULT '',
        last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
        CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id))""",
    """CREATE TABLE IF NOT EXISTS gpkg_geometry_columns (
        table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
        srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
        CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
        CONSTRAINT uk_gc_table_name UNIQUE (table_name),
        CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
        CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id))""",
    """CREATE TABLE IF NOT EXISTS gpkg_extensions (
        table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL,
        definition TEXT NOT NULL, scope TEXT NOT NULL,
        CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name))""",
]

_SRS_ROWS = [
    ("Undefined cartesian SRS", -1, "NONE", -1, "undefined", "undefined cartesian coordinate reference system"),
    ("Undefined geographic SRS", 0, "NONE", 0, "undefined", "undefined geographic coordinate reference system"),
    ("WGS 84 geodetic", SRS_ID, "EPSG", 4326, _WGS84_WKT, "longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid"),
]

_DESCRIPTIONS = {
    "hazards": "Hazardous areas (SHA/CHA) and their land-release status",
    "events": "Contamination events: devices believed emplaced, by profile and date",
    "activities": "Survey, clearance, EOD, QA and handover activities with outcomes in m2",
    "items": "Explosive ordnance items found",
    "accidents": "Explosive ordnance accidents and casualties (sensitive)",
}


def table_ddl(kind: RecordKind) -> str:
    """Return CREATE TABLE for a record kind, with GeoPackage column types."""
    cols = ["fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL"]
    if kind.geometry:
        cols.append(f"{GEOM} {'MULTIPOLYGON' if kind.geometry == 'polygon' else 'POINT'}")
    for f in kind.fields:
        if f.name == "ref":
            cols.append("ref TEXT NOT NULL UNIQUE")
        elif f.name == "version":
            cols.append("version INTEGER NOT NULL")
        else:
            cols.append(f"{f.name} {GPKG_TYPES[f.kind]}{' NOT NULL' if f.required else ''}")
    cols.append("updated_at DATETIME")
    if kind.geometry == "polygon":
        cols.append("geom_key TEXT")
    return f"CREATE TABLE {kind.table} (\n  " + ",\n  ".join(cols) + "\n)"


def rtree_name(table: str) -> str:
    return f"rtree_{table}_{GEOM}"


def rtree_insert_trigger(table: str) -> str:
    rt = rtree_name(table)
    return f"""CREATE TRIGGER {rt}_insert AFTER INSERT ON {table}
WHEN (new.{GEOM} NOT NULL AND NOT ST_IsEmpty(NEW.{GEOM}))
BEGIN
  INSERT OR REPLACE INTO {rt} VALUES (NEW.fid,
    ST_MinX(NEW.{GEOM}), ST_MaxX(NEW.{GEOM}), ST_MinY(NEW.{GEOM}), ST_MaxY(NEW.{GEOM}));
END"""


def _rtree_ddl(table: str) -> list[str]:
    rt, g = rtree_name(table), GEOM
    box = f"ST_MinX(NEW.{g}), ST_MaxX(NEW.{g}), ST_MinY(NEW.{g}), ST_MaxY(NEW.{g})"
    return [
        f"CREATE VIRTUAL TABLE {rt} USING rtree(id, minx, maxx, miny, maxy)",
        rtree_insert_trigger(table),
        f"""CREATE TRIGGER {rt}_update1 AFTER UPDATE OF {g} ON {table}
WHEN OLD.fid = NEW.fid AND (NEW.{g} NOTNULL AND NOT ST_IsEmpty(NEW.{g}))
BEGIN INSERT OR REPLACE INTO {rt} VALUES (NEW.fid, {box}); END""",
        f"""CREATE TRIGGER {rt}_update2 AFTER UPDATE OF {g} ON {table}
WHEN OLD.fid = NEW.fid AND (NEW.{g} ISNULL OR ST_IsEmpty(NEW.{g}))
BEGIN DELETE FROM {rt} WHERE id = OLD.fid; END""",
        f"""CREATE TRIGGER {rt}_update3 AFTER UPDATE ON {table}
WHEN OLD.fid != NEW.fid AND (NEW.{g} NOTNULL AND NOT ST_IsEmpty(NEW.{g}))
BEGIN DELETE FROM {rt} WHERE id = OLD.fid;
  INSERT OR REPLACE INTO {rt} VALUES (NEW.fid, {box}); END""",
        f"""CREATE TRIGGER {rt}_update4 AFTER UPDATE ON {table}
WHEN OLD.fid != NEW.fid AND (NEW.{g} ISNULL OR ST_IsEmpty(NEW.{g}))
BEGIN DELETE FROM {rt} WHERE id IN (OLD.fid, NEW.fid); END""",
        f"""CREATE TRIGGER {rt}_delete AFTER DELETE ON {table} WHEN old.{g} NOT NULL
BEGIN DELETE FROM {rt} WHERE id = OLD.fid; END""",
    ]


_APPEND_ONLY = [
    """CREATE TRIGGER audit_trail_no_update BEFORE UPDATE ON audit_trail
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END""",
    """CREATE TRIGGER audit_trail_no_delete BEFORE DELETE ON audit_trail
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END""",
]


def create_schema(execute) -> None:  # type: ignore[no-untyped-def]
    """Create the GeoPackage core and every registry table through `execute(sql, params=())`."""
    for ddl in _CORE_DDL:
        execute(ddl)
    for row in _SRS_ROWS:
        execute(
            "INSERT OR IGNORE INTO gpkg_spatial_ref_sys (srs_name, srs_id, organization, "
            "organization_coordsys_id, definition, description) VALUES (?, ?, ?, ?, ?, ?)",
            row,
        )
    for name, kind in KINDS.items():
        execute(table_ddl(kind))
        data_type = "features" if kind.geometry else "attributes"
        execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id)"
            " VALUES (?, ?, ?, ?, ?)",
            (kind.table, data_type, kind.table, _DESCRIPTIONS[name], SRS_ID if kind.geometry else None),
        )
        if kind.geometry:
            gtype = "MULTIPOLYGON" if kind.geometry == "polygon" else "POINT"
            execute(
                "INSERT INTO gpkg_geometry_columns VALUES (?, ?, ?, ?, 0, 0)",
                (kind.table, GEOM, gtype, SRS_ID),
            )
            for ddl in _rtree_ddl(kind.table):
                execute(ddl)
            execute(
                "INSERT INTO gpkg_extensions VALUES (?, ?, 'gpkg_rtree_index', "
                "'http://www.geopackage.org/spec120/#extension_rtree', 'write-only')",
                (kind.table, GEOM),
            )
        if "area_ref" in kind.field_names:
            execute(f"CREATE INDEX ix_{kind.table}_area_ref ON {kind.table}(area_ref)")
        if "status" in kind.field_names:
            execute(f"CREATE INDEX ix_{kind.table}_status ON {kind.table}(status)")
        if kind.geometry == "polygon":
            execute(f"CREATE INDEX ix_{kind.table}_geom_key ON {kind.table}(geom_key)")
    execute(
        """CREATE TABLE audit_trail (
  id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, kind TEXT NOT NULL, ref TEXT NOT NULL,
  version INTEGER NOT NULL, action TEXT NOT NULL, at DATETIME NOT NULL, actor TEXT NOT NULL,
  reason TEXT, batch TEXT, state TEXT NOT NULL, geom_wkb BLOB)"""
    )
    execute("CREATE UNIQUE INDEX ux_audit_kind_ref_version ON audit_trail(kind, ref, version)")
    execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description) VALUES "
        "('audit_trail', 'attributes', 'audit_trail', "
        "'Append-only history: the full state of every version of every record')"
    )
    for ddl in _APPEND_ONLY:
        execute(ddl)
    execute("CREATE TABLE landrelease_settings (key TEXT PRIMARY KEY NOT NULL, value TEXT)")
    execute(
        "CREATE TABLE landrelease_ref_counters (prefix TEXT PRIMARY KEY NOT NULL, "
        "last INTEGER NOT NULL)"
    )
