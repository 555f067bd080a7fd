"""The record and history tables of a PostGIS registry, and the plpgsql triggers that keep them.

The tables have the names and columns of the GeoPackage file (`store/history.py` lists them),
in PostgreSQL types: geometries as PostGIS `geometry(MultiPolygon, 4326)` or
`geometry(Point, 4326)` with a GiST index, numbers as `bigint` and `double precision`, flags as
`boolean`, and text in the "C" collation (byte order, as SQLite compares). Dates and the change
stamps are the ISO 8601 text the file keeps: a GIS client's edit may put any text in a date
field there (which `landrelease check` then reports), and history keeps what was written, so
that a registry copies between the backends with every value it holds, under the same table
and column names.

The triggers keep the rules of the file's triggers (see `store/history.py`), so that QGIS or any
SQL client connected to the database cannot change a record without a version:

- a new version written by landrelease (its `version` changed): the old row goes into history;
- a change that leaves `version` as it was: the old row goes into history, the version goes up,
  the row is marked `changed_by = 'external'` and flagged `needs_check`; the flag stays;
- a row added by another program gets a ref from `landrelease_ref_counters`, version 1, the flag;
- a status changed, a record or a history row deleted or changed, a code outside its list:
  refused, with the message of the file's triggers naming the landrelease command to use.
"""

from __future__ import annotations

from collections.abc import Callable

from landrelease.domain.records import HAZARDS, KINDS, FieldSpec, RecordKind
from landrelease.store.base import GEOM
from landrelease.store.geopackage import _DESCRIPTIONS
from landrelease.store.history import (
    SYSTEM_COLUMNS,
    data_columns,
    field_columns,
    history_table,
    record_indexes,
    stored_columns,
)

Execute = Callable[[str], object]

SRID = 4326
TEXT = 'text COLLATE "C"'  # byte order, as SQLite compares text

# PostgreSQL column types of the fields, by field kind.
FIELD_TYPES = {
    "text": TEXT,
    "code": TEXT,
    "codes": TEXT,
    "date": TEXT,  # ISO 8601, as the file keeps it
    "int": "bigint",
    "float": "double precision",
    "bool": "boolean",
}

# The columns of every record table besides its fields, as `history.SYSTEM_COLUMNS` names them.
SYSTEM_TYPES = {
    "changed_at": TEXT,  # UTC, ISO 8601 with milliseconds, as `base.now_utc` writes it
    "changed_by": TEXT,
    "change_reason": TEXT,
    "change_action": TEXT,
    "batch_id": "bigint",
    "needs_check": "boolean",
}
assert tuple(SYSTEM_TYPES) == tuple(c for c, _ in SYSTEM_COLUMNS)

# What the stamp of an external change says its time is: the format of `base.now_utc`.
NOW = """to_char(statement_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"""

# The refusals, worded as the file's triggers word them (a test compares the two).
NO_DELETE = (
    "landrelease: records are never deleted; cancel or release a hazard area with landrelease "
    "hazards set-status REF cancelled, or correct a record with landrelease revert"
)
STATUS_GUARD = (
    "landrelease: a status changes only with landrelease hazards set-status REF STATUS, which "
    "checks the land-release lifecycle"
)
HISTORY_UNCHANGED = "landrelease: history is never changed"
HISTORY_KEPT = "landrelease: history is never deleted"


def geometry_type(kind: RecordKind) -> str:
    """Return the PostGIS column type of `kind`'s geometry."""
    return f"geometry({'MultiPolygon' if kind.geometry == 'polygon' else 'Point'}, {SRID})"


def column_type(kind: RecordKind, column: str) -> str:
    """Return the PostgreSQL type of a readable or writable column of `kind` (no collation),
    for casting a bound value to it."""
    if column in SYSTEM_TYPES:
        kind_type = SYSTEM_TYPES[column]
    elif column == "geom_key":
        kind_type = "bigint"
    else:
        kind_type = FIELD_TYPES[kind.field(column).kind]
    return "text" if kind_type == TEXT else kind_type


def is_bool(kind: RecordKind, column: str) -> bool:
    """Return whether a column of `kind` holds true or false."""
    return column_type(kind, column) == "boolean"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _field_ddl(f: FieldSpec) -> str:
    if f.name == "ref":
        return f"ref {TEXT} UNIQUE"  # NULL only until the insert trigger gives it one
    if f.name == "version":
        return "version bigint"
    sql = f"{f.name} {FIELD_TYPES[f.kind]}"
    if f.required:
        sql += " NOT NULL"
    if isinstance(f.default, str) and f.default:
        sql += f" DEFAULT {_literal(f.default)}"
    elif isinstance(f.default, int | float) and not isinstance(f.default, bool):
        sql += f" DEFAULT {f.default}"
    return sql


def record_table_ddl(kind: RecordKind) -> list[str]:
    """Return CREATE TABLE of a record table in its versioned layout, its indexes (a GiST
    index on the geometry) and its description."""
    cols = ["fid bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"]
    if kind.geometry:
        cols.append(f"{GEOM} {geometry_type(kind)}")
    by_name = {f.name: f for f in kind.fields}
    cols += [_field_ddl(by_name[c]) for c in field_columns(kind)]
    cols += [f"{c} {t}" for c, t in SYSTEM_TYPES.items()]
    cols[-1] += " DEFAULT false"  # needs_check
    if kind.geometry == "polygon":
        cols.append("geom_key bigint")
    t = kind.table
    out = [f"CREATE TABLE {t} (\n  " + ",\n  ".join(cols) + "\n)", *record_indexes(kind)]
    if kind.geometry:
        out.append(f"CREATE INDEX ix_{t}_{GEOM} ON {t} USING gist ({GEOM})")
    out.append(f"COMMENT ON TABLE {t} IS {_literal(_DESCRIPTIONS[kind.name])}")
    return out


def history_table_ddl(kind: RecordKind) -> list[str]:
    """Return CREATE TABLE of a kind's history table (no constraints: versions as they were),
    its indexes and its description."""
    h = history_table(kind)
    by_name = {f.name: f for f in kind.fields}
    cols = ["fid bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"]
    if kind.geometry:
        cols.append(f"{GEOM} {geometry_type(kind)}")
    cols.append("record_fid bigint NOT NULL")
    cols += [f"{c} {FIELD_TYPES[by_name[c].kind]}" for c in field_columns(kind)]
    cols += [f"{c} {t}" for c, t in SYSTEM_TYPES.items()]
    if kind.geometry == "polygon":
        cols.append("geom_key bigint")
    cols += [f"valid_from {TEXT}", f"valid_to {TEXT} NOT NULL"]
    out = [
        f"CREATE TABLE {h} (\n  " + ",\n  ".join(cols) + "\n)",
        f"CREATE INDEX ix_{h}_ref ON {h}(ref, version)",
        f"CREATE INDEX ix_{h}_record ON {h}(record_fid)",
    ]
    if kind.geometry:
        out.append(f"CREATE INDEX ix_{h}_{GEOM} ON {h} USING gist ({GEOM})")
    description = f"Earlier versions of {kind.table}: each valid from valid_from until valid_to"
    out.append(f"COMMENT ON TABLE {h} IS {_literal(description)}")
    return out


# -- triggers ------------------------------------------------------------------------------

REFUSE_FUNCTION = """CREATE FUNCTION landrelease_refuse() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  RAISE EXCEPTION USING MESSAGE = TG_ARGV[0];
END
$fn$"""


def _code_checks(kind: RecordKind, *, update: bool) -> list[tuple[str, str]]:
    """Return (condition on NEW, message) of each single-code field outside its list; on an
    update only a value that changed is checked."""
    out = []
    for f in kind.fields:
        if f.kind != "code" or f.codes is None:
            continue
        codes = [c.value for c in f.codes]
        bad = (
            f"NEW.{f.name} IS NOT NULL AND NEW.{f.name} NOT IN ({', '.join(map(_literal, codes))})"
        )
        if update:
            bad += f" AND NEW.{f.name} IS DISTINCT FROM OLD.{f.name}"
        out.append((bad, f"landrelease: {f.name} must be one of {', '.join(codes)}"))
    return out


def _refusals(checks: list[tuple[str, str]], indent: str = "  ") -> str:
    return "".join(
        f"{indent}IF {cond} THEN\n{indent}  RAISE EXCEPTION USING MESSAGE = {_literal(msg)};\n"
        f"{indent}END IF;\n"
        for cond, msg in checks
    )


def _ref_prefix(kind: RecordKind) -> str:
    """Return an SQL expression for the ref prefix of a new row `NEW` (as Importer makes it)."""
    code = f"-{kind.ref_code}" if kind.ref_code else ""
    year = "to_char(statement_timestamp() AT TIME ZONE 'UTC', 'YYYY')"
    if kind.date_field:
        year = f"coalesce(substr(NEW.{kind.date_field}, 1, 4), {year})"
    return (
        "coalesce((SELECT value FROM landrelease_settings WHERE key = 'country'), 'XX')"
        f" || {_literal(code + '-')} || {year}"
    )


def guard_function(kind: RecordKind) -> str:
    """Return CREATE FUNCTION of the trigger function that checks, versions and stamps the
    rows of a record table inserted or updated (see the module's doc)."""
    t, h = kind.table, history_table(kind)
    cols = stored_columns(kind)
    into = f"INSERT INTO {h} (record_fid, {', '.join(cols)}, valid_from, valid_to)"
    old = f"OLD.fid, {', '.join(f'OLD.{c}' for c in cols)}, OLD.changed_at"
    changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in data_columns(kind))
    status = [("NEW.status IS DISTINCT FROM OLD.status", STATUS_GUARD)] if kind is HAZARDS else []
    return f"""CREATE FUNCTION {t}_guard() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  new_prefix text;
  new_serial bigint;
BEGIN
  IF TG_OP = 'INSERT' THEN
{_refusals(_code_checks(kind, update=False), "    ")}\
    IF NEW.changed_by IS NULL AND NEW.batch_id IS NULL THEN  -- added by another program
      IF NEW.ref IS NULL THEN
        new_prefix := {_ref_prefix(kind)};
        INSERT INTO landrelease_ref_counters AS c (prefix, last) VALUES (new_prefix, 1)
          ON CONFLICT (prefix) DO UPDATE SET last = c.last + 1 RETURNING c.last INTO new_serial;
        NEW.ref := new_prefix || '-'
          || lpad(new_serial::text, greatest(5, length(new_serial::text)), '0');
      END IF;
      NEW.version := 1;
      NEW.changed_at := {NOW};
      NEW.changed_by := 'external';
      NEW.change_reason := 'added outside landrelease';
      NEW.change_action := 'create';
      NEW.needs_check := true;
    END IF;
    RETURN NEW;
  END IF;
{_refusals(_code_checks(kind, update=True))}\
  IF NEW.version IS DISTINCT FROM OLD.version THEN  -- a version written by landrelease
    IF OLD.version IS NOT NULL THEN
      {into}
      VALUES ({old}, coalesce(NEW.changed_at, {NOW}));
    END IF;
    RETURN NEW;
  END IF;
{_refusals(status)}\
  IF OLD.changed_by IS NOT NULL AND ({changed}) THEN  -- a change by another program
    {into}
    VALUES ({old}, {NOW});
    NEW.version := coalesce(OLD.version, 0) + 1;
    NEW.changed_at := {NOW};
    NEW.changed_by := 'external';
    NEW.change_reason := 'edited outside landrelease';
    NEW.change_action := 'external';
    NEW.batch_id := NULL;
    NEW.needs_check := true;
  ELSIF OLD.needs_check AND NEW.needs_check IS NOT TRUE THEN  -- cleared by `check --fix` only
    NEW.needs_check := true;
  END IF;
  RETURN NEW;
END
$fn$"""


def triggers(kind: RecordKind) -> list[str]:
    """Return the CREATE TRIGGER statements that version, guard and check a record table and
    keep its history table as it is."""
    t, h = kind.table, history_table(kind)
    # Rows landrelease writes (stamped, codes checked) skip the function: a bulk COPY stays fast.
    insert_when = " OR ".join(
        ["(NEW.changed_by IS NULL AND NEW.batch_id IS NULL)"]
        + [f"({cond})" for cond, _ in _code_checks(kind, update=False)]
    )

    def refuse(name: str, when: str, table: str, message: str) -> str:
        each = "STATEMENT" if when == "TRUNCATE" else "ROW"
        return (
            f"CREATE TRIGGER {name} BEFORE {when} ON {table} FOR EACH {each} "
            f"EXECUTE FUNCTION landrelease_refuse({_literal(message)})"
        )

    return [
        f"CREATE TRIGGER {t}_insert BEFORE INSERT ON {t} FOR EACH ROW WHEN ({insert_when}) "
        f"EXECUTE FUNCTION {t}_guard()",
        f"CREATE TRIGGER {t}_update BEFORE UPDATE ON {t} FOR EACH ROW EXECUTE FUNCTION {t}_guard()",
        refuse(f"{t}_no_delete", "DELETE", t, NO_DELETE),
        refuse(f"{t}_no_truncate", "TRUNCATE", t, NO_DELETE),
        refuse(f"{h}_no_update", "UPDATE", h, HISTORY_UNCHANGED),
        refuse(f"{h}_no_delete", "DELETE", h, HISTORY_KEPT),
        refuse(f"{h}_no_truncate", "TRUNCATE", h, HISTORY_KEPT),
    ]


# -- the PostgreSQL part of each migration --------------------------------------------------


def _record_tables() -> list[str]:
    return [sql for kind in KINDS.values() for sql in record_table_ddl(kind)]


def _history() -> list[str]:
    out = [REFUSE_FUNCTION]
    for kind in KINDS.values():
        out += [*history_table_ddl(kind), guard_function(kind), *triggers(kind)]
    return out


# What each migration does to the record tables on PostgreSQL. A PostGIS registry has kept
# its history in the database from its first day, so its record tables are made in their
# versioned layout at once (0001); 0004 adds their history tables and triggers.
_STEPS: dict[str, Callable[[], list[str]]] = {"0001": _record_tables, "0004": _history}


def upgrade(execute: Execute, step: str) -> None:
    """Run the PostgreSQL part of migration `step` ("0001".."0006"): the side tables of that
    step (`postgis_tables.side_tables_ddl`), then what it does to the record tables."""
    from landrelease.store.postgis_tables import side_tables_ddl

    if step == "0001":
        execute("CREATE EXTENSION IF NOT EXISTS postgis")
    for sql in [*side_tables_ddl(step), *_STEPS.get(step, list)()]:
        execute(sql)


__all__ = [
    "FIELD_TYPES",
    "NO_DELETE",
    "STATUS_GUARD",
    "SYSTEM_TYPES",
    "column_type",
    "geometry_type",
    "guard_function",
    "history_table_ddl",
    "is_bool",
    "record_table_ddl",
    "triggers",
    "upgrade",
]
