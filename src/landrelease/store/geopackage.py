"""GeoPackage 1.3 specifics: geometry blobs, core tables, layer registration and the R-tree.

Everything here is SQLite-only; a PostGIS backend stands beside this module, not inside it.
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Iterable

import numpy as np
import shapely

from landrelease.domain.records import RecordKind
from landrelease.store.base import GEOM
from landrelease.store.messages import TABLE_DESCRIPTIONS
from landrelease.store.schema_migrations import kinds_at

APPLICATION_ID = 0x47504B47  # "GPKG"
USER_VERSION = 10300  # GeoPackage 1.3.0
SRS_ID = 4326

# GeoPackage column type names (GeoPackage 1.3, table 1).
GPKG_TYPES = {
    "text": "TEXT",
    "code": "TEXT",
    "codes": "TEXT",
    "date": "DATE",
    "int": "INTEGER",
    "float": "DOUBLE",
    "bool": "BOOLEAN",
}

_WGS84_WKT = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,'
    'AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,'
    'AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],'
    'AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]'
)

# Header: magic "GP", version 0, flags, srs_id; then an envelope whose size the flags give.
_ENVELOPE_BYTES = (0, 32, 48, 48, 64, 0, 0, 0)
_FLAGS_XY_LE = 0b0000_0011  # little-endian, envelope [minx, maxx, miny, maxy]
_FLAGS_NOENV_LE = 0b0000_0001  # little-endian, no envelope (points)


# A little-endian WKB MultiPolygon header for one part: byte order, type 6, count 1.
_MULTI_OF_ONE = b"\x01\x06\x00\x00\x00\x01\x00\x00\x00"
# The blob header with room after it for that MultiPolygon header, so that each blob is one
# slice of a header array and one join with the geometry's WKB.
_HEAD_AND_MULTI = np.dtype(
    [
        ("magic", "S2"),
        ("version", "u1"),
        ("flags", "u1"),
        ("srs", "<i4"),
        ("env", "<f8", (4,)),
        ("multi", "S9"),
    ]
)


# The shapely type ids a layer of each declared geometry type may hold (a Polygon is
# written as the one-part MultiPolygon it is).
LAYER_TYPE_IDS = {"MULTIPOLYGON": (3, 6), "POINT": (0,)}


def encode(
    geoms: np.ndarray, *, multi: bool = False, layer_type: str | None = None
) -> list[bytes | None]:
    """Return GeoPackage geometry blobs for `geoms` (None stays None).

    With `multi`, a Polygon is written as the single-part MultiPolygon a MULTIPOLYGON column
    holds (its WKB behind a MultiPolygon header: no new geometry is made). Blobs are XY: a
    geometry with Z values is refused (ValueError), as is, with `layer_type` (the layer's
    declared type, MULTIPOLYGON or POINT), a geometry of any other type. The checks of a
    write drop Z and refuse other types first, so either refusal here is a bug.
    """
    geoms = np.asarray(geoms, dtype=object)
    present = np.flatnonzero(~shapely.is_missing(geoms))
    if not len(present):
        return [None] * len(geoms)
    sub = geoms[present] if len(present) < len(geoms) else geoms
    types = shapely.get_type_id(sub)
    bad = shapely.has_z(sub)
    if layer_type is not None:
        bad |= ~np.isin(types, LAYER_TYPE_IDS[layer_type])
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        z = " Z" if shapely.has_z(sub[i]) else ""
        raise ValueError(
            f"cannot store a {sub[i].geom_type}{z} in a {layer_type or 'GeoPackage'} (XY) "
            f"layer (geometry {int(present[i]) + 1} of {len(geoms)})"
        )
    wkbs = shapely.to_wkb(sub, byte_order=1).tolist()
    points = types == 0
    promote = (types == 3) if multi else np.zeros(len(sub), dtype=bool)
    header = np.zeros(len(sub), dtype=_HEAD_AND_MULTI)
    header["magic"] = b"GP"
    header["srs"] = SRS_ID
    header["flags"] = np.where(points, _FLAGS_NOENV_LE, _FLAGS_XY_LE)
    header["env"] = shapely.bounds(sub)[:, [0, 2, 1, 3]]
    header["multi"][promote] = _MULTI_OF_ONE
    raw = header.tobytes()
    size = _HEAD_AND_MULTI.itemsize
    starts = np.arange(len(sub)) * size
    ends = starts + np.where(points, 8, np.where(promote, size, size - len(_MULTI_OF_ONE)))
    blobs = [raw[a:b] + w for a, b, w in zip(starts.tolist(), ends.tolist(), wkbs, strict=True)]
    if len(present) == len(geoms):
        return blobs  # type: ignore[return-value]
    out: list[bytes | None] = [None] * len(geoms)
    for i, blob in zip(present.tolist(), blobs, strict=True):
        out[i] = blob
    return out


def wkb_of(blob: bytes) -> bytes:
    """Return the WKB inside a GeoPackage geometry blob."""
    return blob[8 + _ENVELOPE_BYTES[(blob[3] >> 1) & 7] :]


def wkb_sql(column: str) -> str:
    """Return an SQL expression for the WKB inside the GeoPackage blob in `column` (NULL stays).

    It reads the envelope code from the flags byte, so it works in SQLite's C code, row after
    row, with no Python call: for copying geometries within the file (e.g. into the audit).
    """
    # The envelope code is bits 1-3 of the flags byte (the 4th): its low hex digit, halved.
    low = f"substr(hex(substr({column}, 4, 1)), 2, 1)"
    code = f"((instr('0123456789ABCDEF', {low}) - 1) >> 1)"
    envelope = " ".join(f"WHEN {k} THEN {size}" for k, size in enumerate(_ENVELOPE_BYTES))
    return f"substr({column}, 9 + CASE {code} {envelope} END)"


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
    (
        "Undefined cartesian SRS",
        -1,
        "NONE",
        -1,
        "undefined",
        "undefined cartesian coordinate reference system",
    ),
    (
        "Undefined geographic SRS",
        0,
        "NONE",
        0,
        "undefined",
        "undefined geographic coordinate reference system",
    ),
    (
        "WGS 84 geodetic",
        SRS_ID,
        "EPSG",
        4326,
        _WGS84_WKT,
        "longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid",
    ),
]


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
        cols.append("geom_key INTEGER")
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
    return [
        f"CREATE VIRTUAL TABLE {rtree_name(table)} USING rtree(id, minx, maxx, miny, maxy)",
        *rtree_triggers(table),
    ]


def rtree_triggers(table: str) -> list[str]:
    """Return the six triggers of the GeoPackage R-tree extension that keep it current."""
    rt, g = rtree_name(table), GEOM
    box = f"ST_MinX(NEW.{g}), ST_MaxX(NEW.{g}), ST_MinY(NEW.{g}), ST_MaxY(NEW.{g})"
    return [
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


def register_layer(execute, table: str, kind: RecordKind, description: str) -> None:  # type: ignore[no-untyped-def]
    """Register `table`, holding records of `kind`, as a GeoPackage layer: its contents row,
    and for a kind with geometry its geometry column and its R-tree with the six triggers."""
    execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id)"
        " VALUES (?, ?, ?, ?, ?)",
        (
            table,
            "features" if kind.geometry else "attributes",
            table,
            description,
            SRS_ID if kind.geometry else None,
        ),
    )
    if not kind.geometry:
        return
    gtype = "MULTIPOLYGON" if kind.geometry == "polygon" else "POINT"
    execute(
        "INSERT INTO gpkg_geometry_columns VALUES (?, ?, ?, ?, 0, 0)", (table, GEOM, gtype, SRS_ID)
    )
    for ddl in _rtree_ddl(table):
        execute(ddl)
    execute(
        "INSERT INTO gpkg_extensions VALUES (?, ?, 'gpkg_rtree_index', "
        "'http://www.geopackage.org/spec120/#extension_rtree', 'write-only')",
        (table, GEOM),
    )


def create_schema(execute) -> None:  # type: ignore[no-untyped-def]
    """Create the GeoPackage core and the registry tables of the first schema (migration 0001)
    through `execute(sql, params=())`."""
    for ddl in _CORE_DDL:
        execute(ddl)
    for row in _SRS_ROWS:
        execute(
            "INSERT OR IGNORE INTO gpkg_spatial_ref_sys (srs_name, srs_id, organization, "
            "organization_coordsys_id, definition, description) VALUES (?, ?, ?, ?, ?, ?)",
            row,
        )
    for kind in kinds_at("0001"):
        execute(table_ddl(kind))
        register_layer(execute, kind.table, kind, TABLE_DESCRIPTIONS[kind.name])
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


# -- bulk-loading the R-tree ----------------------------------------------------------------
# Inserting rows one by one into SQLite's R*Tree costs more than writing the rows themselves.
# For a large batch the tree is instead packed bottom-up from boxes in spatial (Hilbert) order
# and written straight into the R-tree's shadow tables, in the node format of SQLite's rtree.c:
# a node is a blob of `node_size` bytes: depth (2 bytes, root only), cell count (2 bytes), then
# cells of a 64-bit id and four 32-bit floats (minx, maxx, miny, maxy), all big-endian. Node 1
# is the root; %_rowid maps each entry to its leaf and %_parent each node to its parent.
# `SELECT rtreecheck(...)` (run in the tests) verifies the result.

_CELL = np.dtype([("id", ">i8"), ("box", ">f4", (4,))])


def _round_out(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return float32 bounds that still contain the float64 ones (as SQLite's rtree does)."""
    lo32, hi32 = lo.astype(np.float32), hi.astype(np.float32)
    down = lo32.astype(np.float64) > lo
    lo32[down] = np.nextafter(lo32[down], np.float32(-np.inf))
    up = hi32.astype(np.float64) < hi
    hi32[up] = np.nextafter(hi32[up], np.float32(np.inf))
    return lo32, hi32


def pack_rtree(
    ids: np.ndarray, boxes: np.ndarray, node_size: int
) -> tuple[list[tuple[int, bytes]], list[tuple[int, int]], list[tuple[int, int]]]:
    """Return (node rows, rowid rows, parent rows) of a packed R-tree over `boxes`.

    `boxes` is (n, 4) float32 [minx, maxx, miny, maxy] in the order the entries should be
    packed (spatially sorted); `node_size` is the byte size of every node blob.
    """
    per_node = (node_size - 4) // _CELL.itemsize
    levels: list[tuple[np.ndarray, np.ndarray]] = [(ids.astype(np.int64), boxes)]
    while len(levels[-1][0]) > per_node:
        _, b = levels[-1]
        starts = np.arange(0, len(b), per_node)
        parent_boxes = np.column_stack(
            [
                np.minimum.reduceat(b[:, 0], starts),
                np.maximum.reduceat(b[:, 1], starts),
                np.minimum.reduceat(b[:, 2], starts),
                np.maximum.reduceat(b[:, 3], starts),
            ]
        ).astype(np.float32)
        levels.append((np.zeros(len(starts), dtype=np.int64), parent_boxes))
    # Levels hold entries; nodes of level k group entries of level k. Number nodes top-down.
    node_counts = [max(1, -(-len(e) // per_node)) for e, _ in levels]
    base = 1
    first_node = [0] * len(levels)
    for k in range(len(levels) - 1, -1, -1):
        first_node[k] = base
        base += node_counts[k]
    for k in range(1, len(levels)):  # entries of level k are the nodes of level k-1
        levels[k] = (first_node[k - 1] + np.arange(node_counts[k - 1]), levels[k][1])
    depth = len(levels) - 1
    nodes: list[tuple[int, bytes]] = []
    parents: list[tuple[int, int]] = []
    rowids: list[tuple[int, int]] = []
    for k, (entry_ids, entry_boxes) in enumerate(levels):
        cells = np.zeros(len(entry_ids), dtype=_CELL)
        cells["id"] = entry_ids
        cells["box"] = entry_boxes
        raw = cells.tobytes()
        for j in range(node_counts[k]):
            nodeno = first_node[k] + j
            lo, hi = j * per_node, min((j + 1) * per_node, len(entry_ids))
            head = struct.pack(">HH", depth if nodeno == 1 else 0, hi - lo)
            body = raw[lo * _CELL.itemsize : hi * _CELL.itemsize]
            nodes.append((nodeno, (head + body).ljust(node_size, b"\0")))
            if k == 0:
                rowids.extend(zip(entry_ids[lo:hi].tolist(), [nodeno] * (hi - lo), strict=True))
            else:
                parents.extend((int(c), nodeno) for c in entry_ids[lo:hi])
    return nodes, rowids, parents


def bulk_load_rtree(conn, table: str, ids: np.ndarray, bounds: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    """Replace the R-tree of `table` by one packed over its existing entries plus new ones.

    `bounds` is shapely's (n, 4) [minx, miny, maxx, maxy] of the new entries, which arrive in
    spatial order; existing entries are merged and the whole is re-sorted along a Hilbert curve.
    """
    if not len(ids):
        return
    rt = rtree_name(table)
    exec_ = conn.exec_driver_sql
    node_size = exec_(f"SELECT length(data) FROM {rt}_node WHERE nodeno = 1").scalar_one()
    lo_x, hi_x = _round_out(bounds[:, 0], bounds[:, 2])
    lo_y, hi_y = _round_out(bounds[:, 1], bounds[:, 3])
    boxes = np.column_stack([lo_x, hi_x, lo_y, hi_y])
    old = exec_(f"SELECT id, minx, maxx, miny, maxy FROM {rt}").fetchall()
    if old:
        old_arr = np.array(old, dtype=np.float64)
        ids = np.concatenate([old_arr[:, 0].astype(np.int64), ids])
        boxes = np.concatenate([old_arr[:, 1:].astype(np.float32), boxes])
        order = _hilbert_order(boxes)
        ids, boxes = ids[order], boxes[order]
    nodes, rowids, parents = pack_rtree(ids, boxes, int(node_size))
    for suffix in ("node", "rowid", "parent"):
        exec_(f"DELETE FROM {rt}_{suffix}")
    exec_(f"INSERT INTO {rt}_node (nodeno, data) VALUES (?, ?)", nodes)
    exec_(f"INSERT INTO {rt}_rowid (rowid, nodeno) VALUES (?, ?)", rowids)
    if parents:
        exec_(f"INSERT INTO {rt}_parent (nodeno, parentnode) VALUES (?, ?)", parents)


def _hilbert_order(boxes: np.ndarray) -> np.ndarray:
    import geopandas as gpd

    cx = (boxes[:, 0].astype(np.float64) + boxes[:, 1]) / 2
    cy = (boxes[:, 2].astype(np.float64) + boxes[:, 3]) / 2
    points = gpd.GeoSeries(shapely.points(cx, cy))
    return np.argsort(points.hilbert_distance().to_numpy(), kind="stable")
