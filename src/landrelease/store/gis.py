"""What a GIS client finds in the registry file besides the records: counts, styles, relations
and code lists.

QGIS and GDAL open the registry with their own SQLite, so all of it is tables, rows and
triggers in plain SQL that any SQLite 3.31+ runs:

- `gpkg_ogr_contents`: the feature count of every layer, kept by the very triggers GDAL
  makes (`trigger_insert_feature_count_<table>`, `trigger_delete_feature_count_<table>`), so
  GDAL and QGIS need no scan to count a layer and count a filtered one right;
- `layer_styles`: a default QGIS style per layer (hazard areas by status, activities by type,
  items and accidents by category, risk-education sessions by method, history layers faded),
  so the file opens styled;
- the Related Tables Extension: `gpkgext_relations` and one mapping table per kind of record
  that names an area (`hazard_areas_<table>`: base_id = area fid, related_id = record fid),
  kept by triggers; GDAL 3.6+ reads them as relationships;
- the Schema extension: `gpkg_data_columns` and one enum of `gpkg_data_column_constraints`
  per code list of the domain; GDAL reads them as field domains, QGIS as drop-down lists;
- internal tables in GeoPackage column types (GDAL warns of Alembic's VARCHAR(32)).

Every function is idempotent and takes `execute(sql, params=())`. `apply` does it all for the
tables the file has (it reads them, so its `execute` returns rows, as `exec_driver_sql`
does): a migration that builds or rebuilds tables calls it last, since a dropped table takes
its triggers with it. When the code lists of the domain change, a migration calls
`sync_with_domain` (tests/test_gis_file.py fails until one does).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from landrelease.domain import codes as c
from landrelease.domain.records import (
    ACCIDENTS,
    ACTIVITIES,
    EORE,
    HAZARDS,
    ITEMS,
    KINDS,
    RecordKind,
)
from landrelease.store.base import GEOM
from landrelease.store.qml import Category, Look, Rgb, categorised

Execute = Callable[..., Any]

HISTORY_SUFFIX = "_history"
STYLE_NAME = "landrelease"  # our row of layer_styles; a user's own styles are left alone
SCHEMA_EXTENSION = "http://www.geopackage.org/spec121/#extension_schema"
RELATED_TABLES = "http://www.geopackage.org/18-000.html"
_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ','now')"
_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")


def _checked(table: str) -> str:
    """Return `table` if it is a plain lower-case name (it is written into SQL), else raise."""
    if not _NAME.match(table):
        raise ValueError(f"not a registry table name: {table!r}")
    return table


# -- feature counts ---------------------------------------------------------------------------

OGR_CONTENTS_DDL = (
    "CREATE TABLE IF NOT EXISTS gpkg_ogr_contents("
    "table_name TEXT NOT NULL PRIMARY KEY,feature_count INTEGER DEFAULT NULL)"
)


def count_triggers(table: str) -> list[str]:
    """Return GDAL's triggers that keep `table`'s row of gpkg_ogr_contents current.

    Named, timed and written as GDAL writes them (GDAL knows them by name, and drops and
    remakes them around its own bulk inserts), but for the row they update: GDAL's
    `WHERE lower(table_name) = lower('<table>')` scans the table with a function call per
    row, which cost 0.7-0.9 s per 100,000 rows inserted (measured on a registry); the name
    as stored (lower case, as we write it) is found through the primary key.
    """
    t = _checked(table)
    return [
        f'CREATE TRIGGER "trigger_{event}_feature_count_{t}" AFTER {event.upper()} ON "{t}" '
        f"BEGIN UPDATE gpkg_ogr_contents SET feature_count = feature_count {sign} 1 "
        f"WHERE table_name = '{t}'; END"
        for event, sign in (("insert", "+"), ("delete", "-"))
    ]


def count_features(execute: Execute, table: str) -> None:
    """Count `table`'s rows into gpkg_ogr_contents and keep the count with GDAL's triggers."""
    t = _checked(table)
    execute(OGR_CONTENTS_DDL)
    for event in ("insert", "delete"):
        execute(f'DROP TRIGGER IF EXISTS "trigger_{event}_feature_count_{t}"')
    for sql in count_triggers(t):
        execute(sql)
    execute(
        f'INSERT OR REPLACE INTO gpkg_ogr_contents VALUES (?, (SELECT count(*) FROM "{t}"))', (t,)
    )


def _layers(execute: Execute) -> list[str]:
    """Return the tables (not views) registered as feature or attribute layers."""
    rows = execute(
        "SELECT c.table_name FROM gpkg_contents c JOIN sqlite_master m ON m.name = c.table_name "
        "AND m.type = 'table' WHERE c.data_type IN ('features', 'attributes') ORDER BY 1"
    ).fetchall()
    return [str(r[0]) for r in rows]


# -- QGIS styles ------------------------------------------------------------------------------

# The table QGIS creates (through GDAL) when a style is first saved into a GeoPackage.
LAYER_STYLES_DDL = (
    'CREATE TABLE IF NOT EXISTS "layer_styles" ( "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,'
    ' "f_table_catalog" TEXT(256), "f_table_schema" TEXT(256), "f_table_name" TEXT(256),'
    ' "f_geometry_column" TEXT(256), "styleName" TEXT(30), "styleQML" TEXT, "styleSLD" TEXT,'
    ' "useAsDefault" BOOLEAN, "description" TEXT, "owner" TEXT(30), "ui" TEXT(30),'
    f' "update_time" DATETIME DEFAULT ({_NOW}))'
)

# Colours people read at a glance: red is confirmed danger, green is land given back.
STATUS_COLOURS: dict[str, Rgb] = {
    c.Status.SUSPECTED: (253, 141, 60),
    c.Status.CONFIRMED: (215, 25, 28),
    c.Status.IN_PROGRESS: (136, 86, 167),
    c.Status.CANCELLED: (189, 189, 189),
    c.Status.REDUCED: (116, 169, 207),
    c.Status.CLEARED: (120, 198, 121),
    c.Status.RELEASED: (35, 132, 67),
}
ACTIVITY_COLOURS: dict[str, Rgb] = {
    c.ActivityType.NTS: (116, 169, 207),
    c.ActivityType.TS: (5, 112, 176),
    c.ActivityType.CLEARANCE: (49, 163, 84),
    c.ActivityType.EOD: (254, 153, 41),
    c.ActivityType.QA: (117, 107, 177),
    c.ActivityType.HANDOVER: (0, 90, 50),
}
ORDNANCE_COLOURS: dict[str, Rgb] = {
    c.ItemCategory.AP_MINE: (227, 26, 28),
    c.ItemCategory.AV_MINE: (153, 0, 13),
    c.ItemCategory.SUBMUNITION: (255, 127, 0),
    c.ItemCategory.UXO: (166, 86, 40),
    c.ItemCategory.AXO: (191, 129, 45),
    c.ItemCategory.IED: (106, 61, 154),
    c.ItemCategory.OTHER: (90, 90, 90),
    c.ItemCategory.UNKNOWN: (170, 170, 170),
}
EORE_METHOD_COLOURS: dict[str, Rgb] = {
    c.EoreMethod.INTERPERSONAL: (31, 120, 180),
    c.EoreMethod.MASS_MEDIA: (51, 160, 44),
    c.EoreMethod.DIGITAL: (106, 61, 154),
    c.EoreMethod.OTHER: (90, 90, 90),
}
_UNLISTED: Rgb = (150, 150, 150)  # a code added to the domain before it is given a colour


@dataclass(frozen=True)
class LayerStyle:
    """A record layer's default style: drawn by the codes of one column."""

    kind: RecordKind
    column: str
    colours: dict[str, Rgb]
    look: Look
    title: str


STYLES: dict[str, LayerStyle] = {
    s.kind.table: s
    for s in (
        LayerStyle(HAZARDS, "status", STATUS_COLOURS, Look("polygon"), "Hazard areas by status"),
        LayerStyle(
            ACTIVITIES,
            "activity_type",
            ACTIVITY_COLOURS,
            Look("polygon", fill_alpha=60, outline_width_mm=0.8),
            "Activities by type",
        ),
        LayerStyle(ITEMS, "category", ORDNANCE_COLOURS, Look("point"), "Items by category"),
        LayerStyle(
            ACCIDENTS,
            "device_category",
            ORDNANCE_COLOURS,
            Look("point", marker="star", size_mm=4.2),
            "Accidents by device category",
        ),
        LayerStyle(
            EORE,
            "method",
            EORE_METHOD_COLOURS,
            Look("point", marker="triangle"),
            "Risk-education sessions by method",
        ),
    )
}


def style_qml(table: str) -> str:
    """Return the QML of `table`'s default style (a record layer, or its history faded)."""
    base = table.removesuffix(HISTORY_SUFFIX)
    spec = STYLES[base]
    codes = spec.kind.field(spec.column).codes
    assert codes is not None
    categories = [Category(v.value, label(v), spec.colours.get(v, _UNLISTED)) for v in codes]
    look = spec.look.faded() if table != base else spec.look
    return categorised(spec.column, categories, look)


def style_layer(execute: Execute, table: str) -> None:
    """Store `table`'s default style in layer_styles; the default unless one is set already.

    Our row (styleName 'landrelease') is rewritten when its QML changes; a style the user
    saved from QGIS, and which of them is the default, are left as they are.
    """
    t = _checked(table)
    base = t.removesuffix(HISTORY_SUFFIX)
    title = STYLES[base].title + (", earlier versions" if t != base else "")
    qml = style_qml(t)
    execute(LAYER_STYLES_DDL)
    execute(
        "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description) "
        "VALUES ('layer_styles', 'attributes', 'layer_styles', "
        "'QGIS layer styles: the style each layer opens with')"
    )
    ours = "f_table_schema = '' AND f_table_name = ? AND f_geometry_column = ? AND styleName = ?"
    execute(
        f"UPDATE layer_styles SET styleQML = ?, description = ?, update_time = {_NOW} "
        f"WHERE {ours} AND (styleQML IS NOT ? OR description IS NOT ?)",
        (qml, title, t, GEOM, STYLE_NAME, qml, title),
    )
    execute(
        "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
        "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, owner) "
        "SELECT '', '', ?, ?, ?, ?, '', NOT EXISTS (SELECT 1 FROM layer_styles WHERE "
        "f_table_schema = '' AND f_table_name = ? AND f_geometry_column = ? AND useAsDefault), "
        f"?, 'landrelease' WHERE NOT EXISTS (SELECT 1 FROM layer_styles WHERE {ours})",
        (t, GEOM, STYLE_NAME, qml, t, GEOM, title, t, GEOM, STYLE_NAME),
    )
    count_features(execute, "layer_styles")  # a layer too, counted like the others


# -- relations between an area and its records ------------------------------------------------

RELATED_KINDS: tuple[RecordKind, ...] = tuple(
    k for k in KINDS.values() if "area_ref" in k.field_names
)


def mapping_table(kind: RecordKind) -> str:
    """Return the name of the table mapping hazard areas to records of `kind`."""
    return f"{HAZARDS.table}_{kind.table}"


def relation_triggers(kind: RecordKind) -> list[str]:
    """Return the triggers that keep `kind`'s mapping table true to each record's area_ref.

    They name two tables, so a migration that drops and renames a record table drops them
    first (SQLite refuses ALTER TABLE RENAME while a trigger names a missing table).
    """
    m, t, a = mapping_table(kind), kind.table, HAZARDS.table
    add = (
        f'INSERT INTO "{m}" (base_id, related_id) '
        f"SELECT fid, NEW.fid FROM {a} WHERE ref = NEW.area_ref;"
    )
    return [
        f'CREATE TRIGGER "relation_{m}_insert" AFTER INSERT ON {t} WHEN NEW.area_ref IS NOT NULL '
        f"BEGIN {add} END",
        f'CREATE TRIGGER "relation_{m}_update" AFTER UPDATE OF fid, area_ref ON {t} '
        "WHEN OLD.fid IS NOT NEW.fid OR OLD.area_ref IS NOT NEW.area_ref "
        f'BEGIN DELETE FROM "{m}" WHERE related_id = OLD.fid; {add} END',
        f'CREATE TRIGGER "relation_{m}_delete" AFTER DELETE ON {t} '
        f'BEGIN DELETE FROM "{m}" WHERE related_id = OLD.fid; END',
        f'CREATE TRIGGER "relation_{m}_area_update" AFTER UPDATE OF fid, ref ON {a} '
        "WHEN OLD.fid IS NOT NEW.fid OR OLD.ref IS NOT NEW.ref "
        f'BEGIN DELETE FROM "{m}" WHERE base_id = OLD.fid; INSERT INTO "{m}" (base_id, '
        f"related_id) SELECT NEW.fid, fid FROM {t} WHERE area_ref = NEW.ref; END",
        f'CREATE TRIGGER "relation_{m}_area_delete" AFTER DELETE ON {a} '
        f'BEGIN DELETE FROM "{m}" WHERE base_id = OLD.fid; END',
    ]


def relation_trigger_names(kind: RecordKind) -> list[str]:
    return [sql.split('"')[1] for sql in relation_triggers(kind)]


def drop_relation_triggers(execute: Execute) -> None:
    """Drop every relation trigger (before a migration drops and renames record tables)."""
    for kind in RELATED_KINDS:
        for name in relation_trigger_names(kind):
            execute(f'DROP TRIGGER IF EXISTS "{name}"')


def relate_to_areas(execute: Execute, kind: RecordKind, *, triggers: bool = True) -> None:
    """Register the relation of hazard areas to records of `kind`; map the stored records.

    The mapping is brought in line with each record's area_ref; with `triggers` it is then
    kept current as records are added, moved to another area or removed (about 1.5-2 s more
    per 100,000 records inserted, measured here: a bulk path may drop the insert trigger and
    map its new rows in one INSERT ... SELECT, as it does for the R-tree).
    """
    m = mapping_table(kind)
    execute(_extensions_table_ddl())
    execute(
        "CREATE TABLE IF NOT EXISTS gpkgext_relations (id INTEGER PRIMARY KEY AUTOINCREMENT, "
        "base_table_name TEXT NOT NULL, base_primary_column TEXT NOT NULL DEFAULT 'id', "
        "related_table_name TEXT NOT NULL, related_primary_column TEXT NOT NULL DEFAULT 'id', "
        "relation_name TEXT NOT NULL, mapping_table_name TEXT NOT NULL UNIQUE)"
    )
    execute(
        # GDAL's own mapping tables have this id too; without AUTOINCREMENT, as a mapping row
        # is never referred to by its id and every insert would write sqlite_sequence
        f'CREATE TABLE IF NOT EXISTS "{m}" (id INTEGER PRIMARY KEY NOT NULL, '
        "base_id INTEGER NOT NULL, related_id INTEGER NOT NULL)"
    )
    execute(f'CREATE INDEX IF NOT EXISTS "ix_{m}_base_id" ON "{m}"(base_id)')
    execute(f'CREATE INDEX IF NOT EXISTS "ix_{m}_related_id" ON "{m}"(related_id)')
    relation = "features" if kind.geometry else "attributes"
    # (an upsert would take a new id from AUTOINCREMENT each time, even to update)
    execute(
        "UPDATE gpkgext_relations SET base_table_name = ?, base_primary_column = 'fid', "
        "related_table_name = ?, related_primary_column = 'fid', relation_name = ? "
        "WHERE mapping_table_name = ?",
        (HAZARDS.table, kind.table, relation, m),
    )
    execute(
        "INSERT INTO gpkgext_relations (base_table_name, base_primary_column, "
        "related_table_name, related_primary_column, relation_name, mapping_table_name) "
        "SELECT ?, 'fid', ?, 'fid', ?, ? WHERE NOT EXISTS "
        "(SELECT 1 FROM gpkgext_relations WHERE mapping_table_name = ?)",
        (HAZARDS.table, kind.table, relation, m, m),
    )
    for table in ("gpkgext_relations", m):
        _register_extension(execute, table, "related_tables", RELATED_TABLES)
    for name in relation_trigger_names(kind):
        execute(f'DROP TRIGGER IF EXISTS "{name}"')
    # Only what differs from the records is changed, so that a second run changes nothing.
    pairs = f"{kind.table} r JOIN {HAZARDS.table} a ON a.ref = r.area_ref"
    execute(
        f'DELETE FROM "{m}" WHERE id NOT IN (SELECT min(id) FROM "{m}" '
        f"GROUP BY base_id, related_id) OR NOT EXISTS (SELECT 1 FROM {pairs} "
        f'WHERE a.fid = "{m}".base_id AND r.fid = "{m}".related_id)'
    )
    execute(
        f'INSERT INTO "{m}" (base_id, related_id) SELECT a.fid, r.fid FROM {pairs} WHERE NOT '
        f'EXISTS (SELECT 1 FROM "{m}" x WHERE x.base_id = a.fid AND x.related_id = r.fid) '
        "ORDER BY r.fid"
    )
    if triggers:
        for sql in relation_triggers(kind):
            execute(sql)


def _extensions_table_ddl() -> str:
    return (
        "CREATE TABLE IF NOT EXISTS gpkg_extensions (table_name TEXT, column_name TEXT, "
        "extension_name TEXT NOT NULL, definition TEXT NOT NULL, scope TEXT NOT NULL, "
        "CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name))"
    )


def _register_extension(execute: Execute, table: str, name: str, definition: str) -> None:
    # column_name is NULL, which UNIQUE does not compare: look before inserting
    execute(
        "INSERT INTO gpkg_extensions (table_name, column_name, extension_name, definition, "
        "scope) SELECT ?, NULL, ?, ?, 'read-write' WHERE NOT EXISTS (SELECT 1 FROM "
        "gpkg_extensions WHERE table_name = ? AND column_name IS NULL AND extension_name = ?)",
        (table, name, definition, table, name),
    )


# -- code lists -------------------------------------------------------------------------------

# Legend and drop-down labels of the codes whose plain spelling a reader could not guess.
LABELS: dict[str, str] = {
    "SHA": "SHA: suspected hazardous area",
    "CHA": "CHA: confirmed hazardous area",
    "ap_mine": "Anti-personnel mine",
    "av_mine": "Anti-vehicle mine",
    "cmr": "Cluster munition remnants (CMR)",
    "uxo": "Unexploded ordnance (UXO)",
    "axo": "Abandoned explosive ordnance (AXO)",
    "ied": "Improvised explosive device (IED)",
    "nts": "Non-technical survey (NTS)",
    "ts": "Technical survey (TS)",
    "eod": "EOD spot task",
    "qa": "Quality assurance visit (QA)",
    "handover": "Handover (completion report)",
}


def label(code: str) -> str:
    """Return the label a GIS client shows for a code."""
    return LABELS.get(str(code)) or str(code).replace("_", " ").capitalize()


def code_list_name(codes: type[StrEnum]) -> str:
    """Return the constraint (GDAL: field domain) name of a code list: Status -> status."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", codes.__name__).lower()


def _about(codes: type[StrEnum]) -> str:
    """Return the first line of a code list's docstring, or its name in words."""
    lines = (codes.__doc__ or "").strip().splitlines()
    return lines[0] if lines else code_list_name(codes).replace("_", " ").capitalize() + " codes"


def code_lists(kinds: Iterable[RecordKind] | None = None) -> dict[str, type[StrEnum]]:
    """Return every code list a field of `kinds` (default: every kind) uses, by constraint
    name."""
    out: dict[str, type[StrEnum]] = {}
    for kind in KINDS.values() if kinds is None else kinds:
        for f in kind.fields:
            if f.codes is not None:
                out[code_list_name(f.codes)] = f.codes
    return dict(sorted(out.items()))


def _described_columns(kind: RecordKind) -> Iterator[tuple[str, str, str, str | None]]:
    """Yield (column, title, description, constraint) of the columns a client should explain."""
    for f in kind.fields:
        if f.codes is None and not f.doc:
            continue
        title = f.name.replace("_", " ").capitalize()
        about = _about(f.codes) if f.codes else ""
        if f.kind == "codes" and f.codes is not None:
            listed = ", ".join(v.value for v in f.codes)
            text = f"{f.doc or about}: codes separated by ';', each one of {listed}"
            yield f.name, title, text, None  # a list of codes is not one enum value
        else:
            constraint = code_list_name(f.codes) if f.codes is not None else None
            yield f.name, title, f.doc or about, constraint


def describe_columns(execute: Execute, table: str, kind: RecordKind) -> None:
    """Describe `table`'s columns (those of `kind`'s fields) in gpkg_data_columns."""
    t = _checked(table)
    _create_schema_tables(execute)
    for column, title, description, constraint in _described_columns(kind):
        execute(
            "INSERT INTO gpkg_data_columns (table_name, column_name, title, description, "
            "constraint_name) VALUES (?, ?, ?, ?, ?) ON CONFLICT(table_name, column_name) "
            "DO UPDATE SET title = excluded.title, description = excluded.description, "
            "constraint_name = excluded.constraint_name",
            (t, column, title, description, constraint),
        )


def sync_code_lists(execute: Execute, kinds: Iterable[RecordKind] | None = None) -> None:
    """Write one enum per code list of `kinds` (default: every kind) into
    gpkg_data_column_constraints.

    Rows are as GDAL writes a coded field domain: one per code (value, label) and one
    `_<name>_domain_description` row that describes the list.
    """
    _create_schema_tables(execute)
    for name, codes in code_lists(kinds).items():
        about = _about(codes)
        described = f"_{name}_domain_description"
        execute(
            "DELETE FROM gpkg_data_column_constraints WHERE constraint_name IN (?, ?)",
            (name, described),
        )
        rows = [(described, "", about)] + [(name, v.value, label(v.value)) for v in codes]
        for row in rows:
            execute(
                "INSERT INTO gpkg_data_column_constraints (constraint_name, constraint_type, "
                "value, description) VALUES (?, 'enum', ?, ?)",
                row,
            )


def _create_schema_tables(execute: Execute) -> None:
    execute(
        "CREATE TABLE IF NOT EXISTS gpkg_data_columns (table_name TEXT NOT NULL, column_name "
        "TEXT NOT NULL, name TEXT, title TEXT, description TEXT, mime_type TEXT, "
        "constraint_name TEXT, CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name), "
        "CONSTRAINT gdc_tn UNIQUE (table_name, name))"
    )
    execute(
        "CREATE TABLE IF NOT EXISTS gpkg_data_column_constraints (constraint_name TEXT NOT "
        "NULL, constraint_type TEXT NOT NULL, value TEXT, min NUMERIC, min_is_inclusive "
        "BOOLEAN, max NUMERIC, max_is_inclusive BOOLEAN, description TEXT, "
        "CONSTRAINT gdcc_ntv UNIQUE (constraint_name, constraint_type, value))"
    )
    execute(_extensions_table_ddl())
    for table in ("gpkg_data_columns", "gpkg_data_column_constraints"):
        _register_extension(execute, table, "gpkg_schema", SCHEMA_EXTENSION)


def code_lists_digest() -> str:
    """Return a short digest of the code lists and of which column uses which.

    A migration that syncs the code lists records it (`CODE_LISTS_DIGEST`); a test compares.
    """
    parts = [
        f"{kind.table}.{column}={constraint}"
        for kind in KINDS.values()
        for column, _, _, constraint in _described_columns(kind)
    ]
    parts += [f"{name}:{v.value}" for name, codes in code_lists().items() for v in codes]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def sync_with_domain(execute: Execute, tables: list[str] | None = None) -> None:
    """Bring code lists, column descriptions and default styles up to the domain's codes.

    `tables`: the record and history tables the file has (default: the record tables); the
    code lists written are those their fields use.
    """
    if tables is None:
        tables = [k.table for k in KINDS.values()]
    sync_code_lists(execute, [_kind_of(t) for t in tables])
    for table in tables:
        kind = _kind_of(table)
        describe_columns(execute, table, kind)
        if table.removesuffix(HISTORY_SUFFIX) in STYLES:
            style_layer(execute, table)


def _kind_of(table: str) -> RecordKind:
    base = table.removesuffix(HISTORY_SUFFIX)
    for kind in KINDS.values():
        if kind.table == base:
            return kind
    raise ValueError(f"{table!r} is not a record table nor the history of one")


# -- history layers ---------------------------------------------------------------------------


def register_history_layer(execute: Execute, table: str) -> None:
    """Make `<record table>_history` a layer like its record table, its style faded.

    Counted in gpkg_ogr_contents, its code columns described (the same field domains) and,
    for a feature layer, a faded default style. Call it once the table and its gpkg_contents
    row exist; calling it again changes nothing.
    """
    t = _checked(table)
    if not t.endswith(HISTORY_SUFFIX):
        raise ValueError(f"a history layer is named <record table>{HISTORY_SUFFIX}, not {t!r}")
    kind = _kind_of(t)
    count_features(execute, t)
    describe_columns(execute, t, kind)
    if kind.table in STYLES:
        style_layer(execute, t)


# -- internal tables --------------------------------------------------------------------------


def retype_alembic_version(execute: Execute) -> None:
    """Rebuild Alembic's version table with a TEXT column (GDAL warns of VARCHAR(32))."""
    row = execute("SELECT sql FROM sqlite_master WHERE name = 'alembic_version'").fetchone()
    if row is None or "VARCHAR" not in str(row[0]).upper():
        return
    execute(
        "CREATE TABLE alembic_version_text (version_num TEXT NOT NULL, "
        "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
    )
    execute("INSERT INTO alembic_version_text SELECT version_num FROM alembic_version")
    execute("DROP TABLE alembic_version")
    execute("ALTER TABLE alembic_version_text RENAME TO alembic_version")


# -- all of it --------------------------------------------------------------------------------


def apply(execute: Execute, *, keep_relations: bool = True) -> None:
    """Give the file all a GIS client expects, for the tables it has now; idempotent.

    `execute` returns rows. Without `keep_relations` the mappings are filled but their
    triggers left out (see `relation_triggers`: for a migration that a table rebuild follows).
    """
    tables = set(_layers(execute))
    for kind in RELATED_KINDS:
        relate_to_areas(execute, kind, triggers=keep_relations)
    record_tables = [
        t
        for kind in KINDS.values()
        for t in (kind.table, kind.table + HISTORY_SUFFIX)
        if t in tables
    ]
    sync_with_domain(execute, record_tables)
    for table in _layers(execute):
        count_features(execute, table)
    execute(
        "DELETE FROM gpkg_ogr_contents WHERE table_name NOT IN "
        "(SELECT table_name FROM gpkg_contents)"
    )
    retype_alembic_version(execute)
