"""History kept by the database itself: system-versioned record tables, in plain SQL.

Each record table holds the current version of every record; its `<table>_history` table holds
every earlier version, one row each, with the same columns plus `record_fid`, `valid_from` and
`valid_to` (the SQL:2011 system-versioned pattern). Triggers do the versioning, so that an edit
made with QGIS, GDAL or any SQLite client is versioned as one made by landrelease:

- landrelease writes a new version itself (version + 1, `changed_at`, `changed_by`,
  `change_reason`, `change_action`); a trigger copies the old row into history;
- a change that leaves `version` as it was comes from another program: a trigger copies the
  old row into history, bumps the version, marks the row `changed_by = 'external'` and flags
  it (`needs_check = 1`) for `landrelease check`;
- a row added by another program (no `changed_by`, no `batch_id`) gets its ref from the same
  counters as landrelease's (`<COUNTRY>[-<KIND>]-<YEAR>-<serial>`), version 1, and the flag;
- a status changed, a record deleted, or a code outside its list are refused with a message
  that names the landrelease command to use (QGIS shows it when it commits).

The triggers use only SQL that any SQLite 3.31+ runs (QGIS and GDAL bring their own), plus the
GeoPackage functions of the R-tree triggers, which GDAL registers too.
"""

from __future__ import annotations

from collections.abc import Callable

from landrelease.domain.records import HAZARDS, FieldSpec, RecordKind
from landrelease.store.base import GEOM
from landrelease.store.geopackage import GPKG_TYPES
from landrelease.store.messages import (
    HISTORY_KEPT,
    HISTORY_UNCHANGED,
    NO_DELETE,
    STATUS_GUARD,
    TABLE_DESCRIPTIONS,
)
from landrelease.store.schema_migrations import kinds_at

Execute = Callable[..., object]

NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"

# Columns every record table has besides its fields (in this order, after `version`).
SYSTEM_COLUMNS = (
    ("changed_at", "DATETIME"),
    ("changed_by", "TEXT"),
    ("change_reason", "TEXT"),
    ("change_action", "TEXT"),  # create | update | status | revert | external | check
    ("batch_id", "INTEGER"),  # the import batch that created the record (version 1)
    ("needs_check", "BOOLEAN DEFAULT 0"),  # changed outside landrelease, not checked since
)


def history_table(kind: RecordKind) -> str:
    return f"{kind.table}_history"


def field_columns(kind: RecordKind) -> list[str]:
    """Return the kind's field columns, `version` last."""
    return [f.name for f in kind.fields if f.name != "version"] + ["version"]


def stored_columns(kind: RecordKind) -> list[str]:
    """Return every column of a record table but `fid`, in table order."""
    cols = ([GEOM] if kind.geometry else []) + field_columns(kind)
    cols += [c for c, _ in SYSTEM_COLUMNS]
    if kind.geometry == "polygon":
        cols.append("geom_key")
    return cols


def data_columns(kind: RecordKind) -> list[str]:
    """Return the columns whose change makes a new version (what a user edits)."""
    return ([GEOM] if kind.geometry else []) + [f.name for f in kind.fields if f.name != "version"]


def _column_ddl(f: FieldSpec) -> str:
    if f.name == "ref":
        return "ref TEXT UNIQUE"  # NULL only until the insert trigger gives it one
    if f.name == "version":
        return "version INTEGER"
    sql = f"{f.name} {GPKG_TYPES[f.kind]}"
    if f.required:
        sql += " NOT NULL"
    if isinstance(f.default, str) and f.default:
        sql += f" DEFAULT '{f.default}'"
    elif isinstance(f.default, int | float) and not isinstance(f.default, bool):
        sql += f" DEFAULT {f.default}"
    return sql


def _geometry_ddl(kind: RecordKind) -> str:
    return f"{GEOM} {'MULTIPOLYGON' if kind.geometry == 'polygon' else 'POINT'}"


def record_table_ddl(kind: RecordKind, name: str | None = None) -> str:
    """Return CREATE TABLE of a record table in its versioned layout."""
    cols = ["fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL"]
    if kind.geometry:
        cols.append(_geometry_ddl(kind))
    by_name = {f.name: f for f in kind.fields}
    cols += [_column_ddl(by_name[c]) for c in field_columns(kind)]
    cols += [f"{c} {t}" for c, t in SYSTEM_COLUMNS]
    if kind.geometry == "polygon":
        cols.append("geom_key INTEGER")
    return f"CREATE TABLE {name or kind.table} (\n  " + ",\n  ".join(cols) + "\n)"


def history_table_ddl(kind: RecordKind) -> str:
    """Return CREATE TABLE of a kind's history table (no constraints: versions as they were)."""
    by_name = {f.name: f for f in kind.fields}
    cols = ["fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL"]
    if kind.geometry:
        cols.append(_geometry_ddl(kind))
    cols.append("record_fid INTEGER NOT NULL")
    cols += [f"{c} {GPKG_TYPES[by_name[c].kind]}" for c in field_columns(kind)]
    cols += [f"{c} {t.split()[0]}" for c, t in SYSTEM_COLUMNS]
    if kind.geometry == "polygon":
        cols.append("geom_key INTEGER")
    cols += ["valid_from DATETIME", "valid_to DATETIME NOT NULL"]
    return f"CREATE TABLE {history_table(kind)} (\n  " + ",\n  ".join(cols) + "\n)"


def _ref_prefix(kind: RecordKind) -> str:
    """Return an SQL expression for the ref prefix of a new row `NEW` (as Importer makes it)."""
    code = f"-{kind.ref_code}" if kind.ref_code else ""
    year = (
        f"coalesce(substr(NEW.{kind.date_field}, 1, 4), strftime('%Y', 'now'))"
        if kind.date_field
        else "strftime('%Y', 'now')"
    )
    return (
        "coalesce((SELECT value FROM landrelease_settings WHERE key = 'country'), 'XX')"
        f" || '{code}-' || {year}"
    )


def _quoted(values: list[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def triggers(kind: RecordKind) -> list[str]:
    """Return the CREATE TRIGGER statements that version, guard and check a record table."""
    t, h = kind.table, history_table(kind)
    cols = stored_columns(kind)
    copy_cols = ", ".join(cols)
    old_vals = ", ".join(f"OLD.{c}" for c in cols)
    data = data_columns(kind)
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in data)
    out = [
        f"""CREATE TRIGGER {t}_no_delete BEFORE DELETE ON {t}
BEGIN SELECT RAISE(ABORT, {_quoted([NO_DELETE])}); END""",
        # a version written by landrelease: the old row goes into history
        f"""CREATE TRIGGER {t}_versioned AFTER UPDATE OF {", ".join(data)} ON {t}
WHEN NEW.version IS NOT OLD.version AND OLD.version IS NOT NULL
BEGIN
  INSERT INTO {h} (record_fid, {copy_cols}, valid_from, valid_to)
  VALUES (OLD.fid, {old_vals}, OLD.changed_at, coalesce(NEW.changed_at, {NOW}));
END""",
        # a change by another program: versioned the same way, marked and flagged
        f"""CREATE TRIGGER {t}_external_update AFTER UPDATE OF {", ".join(data)} ON {t}
WHEN NEW.version IS OLD.version AND OLD.changed_by IS NOT NULL AND ({changed})
BEGIN
  INSERT INTO {h} (record_fid, {copy_cols}, valid_from, valid_to)
  VALUES (OLD.fid, {old_vals}, OLD.changed_at, {NOW});
  UPDATE {t} SET version = coalesce(OLD.version, 0) + 1, changed_at = {NOW},
    changed_by = 'external', change_reason = 'edited outside landrelease',
    change_action = 'external', batch_id = NULL, needs_check = 1
  WHERE fid = NEW.fid;
END""",
        # the check flag is cleared by `landrelease check --fix` only
        f"""CREATE TRIGGER {t}_keep_flag AFTER UPDATE OF needs_check ON {t}
WHEN OLD.needs_check = 1 AND NOT NEW.needs_check IS 1 AND NEW.version IS OLD.version
BEGIN UPDATE {t} SET needs_check = 1 WHERE fid = NEW.fid; END""",
        # a row added by another program: its ref, version 1, marked and flagged
        f"""CREATE TRIGGER {t}_external_insert AFTER INSERT ON {t}
WHEN NEW.changed_by IS NULL AND NEW.batch_id IS NULL
BEGIN
  INSERT OR IGNORE INTO landrelease_ref_counters (prefix, last) VALUES ({_ref_prefix(kind)}, 0);
  UPDATE landrelease_ref_counters SET last = last + 1
  WHERE prefix = {_ref_prefix(kind)} AND NEW.ref IS NULL;
  UPDATE {t} SET
    ref = coalesce(NEW.ref, {_ref_prefix(kind)} || '-' || printf('%05d',
      (SELECT last FROM landrelease_ref_counters WHERE prefix = {_ref_prefix(kind)}))),
    version = 1, changed_at = {NOW}, changed_by = 'external',
    change_reason = 'added outside landrelease', change_action = 'create', needs_check = 1
  WHERE fid = NEW.fid;
END""",
        f"""CREATE TRIGGER {h}_no_update BEFORE UPDATE ON {h}
BEGIN SELECT RAISE(ABORT, {_quoted([HISTORY_UNCHANGED])}); END""",
        f"""CREATE TRIGGER {h}_no_delete BEFORE DELETE ON {h}
BEGIN SELECT RAISE(ABORT, {_quoted([HISTORY_KEPT])}); END""",
    ]
    if kind is HAZARDS:
        out.append(
            f"""CREATE TRIGGER {t}_status_guard BEFORE UPDATE OF status ON {t}
WHEN NEW.status IS NOT OLD.status AND NEW.version IS OLD.version
BEGIN SELECT RAISE(ABORT, {_quoted([STATUS_GUARD])}); END"""
        )
    out += code_triggers(kind)
    return out


def code_triggers(kind: RecordKind) -> list[str]:
    """Return triggers that refuse a value outside its code list (single-code fields)."""
    out = []
    for f in kind.fields:
        if f.kind != "code" or f.codes is None:
            continue
        codes = [c.value for c in f.codes]
        # An OR chain, not NOT IN (...): under executemany SQLite builds the IN list's table
        # again for every row (1.9 s against 0.9 s per 100,000 rows for three such triggers).
        allowed = " OR ".join(f"NEW.{f.name} = {_quoted([c])}" for c in codes)
        bad = f"NEW.{f.name} IS NOT NULL AND NOT ({allowed})"
        message = f"landrelease: {f.name} must be one of {', '.join(codes)}".replace("'", "''")
        for event, name in (("INSERT", "insert"), (f"UPDATE OF {f.name}", "update")):
            out.append(
                f"CREATE TRIGGER {kind.table}_{f.name}_code_{name} BEFORE {event} ON "
                f"{kind.table} WHEN {bad}\nBEGIN SELECT RAISE(ABORT, '{message}'); END"
            )
    return out


def trigger_names(kind: RecordKind) -> list[str]:
    """Return the names of the triggers `triggers(kind)` creates."""
    return [sql.split()[2] for sql in triggers(kind)]


BATCHES_DDL = """CREATE TABLE landrelease_batches (
  id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  kind TEXT NOT NULL,
  at DATETIME NOT NULL,
  actor TEXT NOT NULL,
  reason TEXT,
  source TEXT,
  sha256 TEXT,
  records INTEGER NOT NULL,
  rejected INTEGER NOT NULL DEFAULT 0
)"""


# A GeoPackage geometry blob header with no envelope (little-endian, EPSG:4326): enough
# before a WKB for every reader, GDAL's R-tree functions included.
_BLOB_HEAD = "X'47500001E6100000'"


def upgrade_from_audit_trail(execute: Execute) -> None:
    """Convert a registry whose history is the audit trail to system-versioned tables.

    The record tables are those the registry had then (migration 0004). Every version is
    kept: the current one stays the row (stamped with who, when and why from its audit
    entry), every earlier one becomes a history row, and the import batches become
    `landrelease_batches` rows that version 1 of their records names.
    """
    from landrelease.store import geopackage as gpkg

    execute(BATCHES_DDL)
    execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description) VALUES "
        "('landrelease_batches', 'attributes', 'landrelease_batches', "
        "'Import batches: who imported which file when; version 1 of each record names one')"
    )
    execute(
        "INSERT INTO landrelease_batches (kind, at, actor, reason, source, records) "
        "SELECT kind, at, actor, reason, batch, count(*) FROM audit_trail "
        "WHERE action = 'create' GROUP BY kind, at, actor, reason, batch ORDER BY min(id)"
    )
    batch_of = (
        "(SELECT b.id FROM landrelease_batches b WHERE a.action = 'create' AND b.kind = a.kind "
        "AND b.at = a.at AND b.actor = a.actor AND b.reason IS a.reason AND b.source IS a.batch)"
    )
    for kind in kinds_at("0004"):
        t, h = kind.table, history_table(kind)
        execute(record_table_ddl(kind, f"{t}_versioned"))
        fields = field_columns(kind)
        geom = [GEOM] if kind.geometry else []
        key = ["geom_key"] if kind.geometry == "polygon" else []
        target = ["fid", *geom, *fields, "changed_at", "changed_by", "change_reason"]
        target += ["change_action", "batch_id", "needs_check", *key]
        source = ["t.fid", *(f"t.{c}" for c in geom + fields), "a.at", "a.actor", "a.reason"]
        source += ["a.action", batch_of, "0", *(f"t.{c}" for c in key)]
        execute(
            f"INSERT INTO {t}_versioned ({', '.join(target)}) SELECT {', '.join(source)} "
            f"FROM {t} t LEFT JOIN audit_trail a ON a.kind = '{kind.name}' AND a.ref = t.ref "
            "AND a.version = t.version ORDER BY t.fid"
        )
        execute(f"DROP TABLE {t}")
        execute(f"ALTER TABLE {t}_versioned RENAME TO {t}")
        for sql in record_indexes(kind):
            execute(sql)
        if kind.geometry:
            for sql in gpkg.rtree_triggers(t):
                execute(sql)
        create_history_table(execute, kind)
        by_name = {f.name: f for f in kind.fields}
        values = []
        for c in fields:
            value = f"json_extract(a.state, '$.{c}')"
            if by_name[c].kind == "bool":
                value = f"CASE {value} WHEN 1 THEN 1 WHEN 0 THEN 0 END"
            values.append(value)
        hist_cols = ["record_fid", *geom, *fields, "changed_at", "changed_by", "change_reason"]
        hist_cols += ["change_action", "batch_id", "needs_check", "valid_from", "valid_to"]
        hist_vals = ["t.fid"]
        blob = f"CAST({_BLOB_HEAD} || a.geom_wkb AS BLOB)"  # || alone would make text
        hist_vals += [f"CASE WHEN a.geom_wkb IS NULL THEN NULL ELSE {blob} END"]
        hist_vals = hist_vals[: 1 + len(geom)]
        hist_vals += [*values, "a.at", "a.actor", "a.reason", "a.action", batch_of, "0", "a.at"]
        hist_vals.append(
            "(SELECT n.at FROM audit_trail n WHERE n.kind = a.kind AND n.ref = a.ref "
            "AND n.version = a.version + 1)"
        )
        execute(
            f"INSERT INTO {h} ({', '.join(hist_cols)}) SELECT {', '.join(hist_vals)} "
            f"FROM audit_trail a JOIN {t} t ON t.ref = a.ref "
            f"WHERE a.kind = '{kind.name}' AND a.version < t.version ORDER BY a.id"
        )
        for sql in triggers(kind):
            execute(sql)
    for name in ("audit_trail_no_update", "audit_trail_no_delete"):
        execute(f"DROP TRIGGER IF EXISTS {name}")
    execute("DROP TABLE audit_trail")
    execute("DELETE FROM gpkg_contents WHERE table_name = 'audit_trail'")


def record_indexes(kind: RecordKind) -> list[str]:
    """Return CREATE INDEX of a record table's secondary indexes."""
    t = kind.table
    out = []
    if "area_ref" in kind.field_names:
        out.append(f"CREATE INDEX ix_{t}_area_ref ON {t}(area_ref)")
    if "status" in kind.field_names:
        out.append(f"CREATE INDEX ix_{t}_status ON {t}(status)")
    if kind.geometry == "polygon":
        out.append(f"CREATE UNIQUE INDEX ux_{t}_geom_key ON {t}(geom_key)")
    return out


def create_history_table(execute: Execute, kind: RecordKind) -> None:
    """Create a kind's history table, registered as a GeoPackage layer (with its R-tree)."""
    from landrelease.store import geopackage as gpkg

    h = history_table(kind)
    execute(history_table_ddl(kind))
    execute(f"CREATE INDEX ix_{h}_ref ON {h}(ref, version)")
    execute(f"CREATE INDEX ix_{h}_record ON {h}(record_fid)")
    gpkg.register_layer(
        execute,
        h,
        kind,
        f"Earlier versions of {kind.table}: each valid from valid_from until valid_to",
    )


def create_record_kind(execute: Execute, kind: RecordKind) -> None:
    """Create the tables of a kind of record new to the registry, in their versioned layout.

    The record table, registered as a GeoPackage layer (with its R-tree) and indexed, its
    history table and its triggers: what `upgrade_from_audit_trail` left the first kinds
    with. What GIS clients read besides (counts, column descriptions, styles) is
    `store/gis.py`'s, applied after.
    """
    from landrelease.store import geopackage as gpkg

    execute(record_table_ddl(kind))
    gpkg.register_layer(execute, kind.table, kind, TABLE_DESCRIPTIONS[kind.name])
    for sql in record_indexes(kind):
        execute(sql)
    create_history_table(execute, kind)
    for sql in triggers(kind):
        execute(sql)
