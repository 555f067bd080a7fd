"""SQLAlchemy Core tables of the registry, derived from the domain's record kinds.

The same tables serve every backend; what is GeoPackage-specific (geometry blobs, gpkg_contents,
the R-tree) lives in `store/geopackage.py`.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
)

from landrelease.domain.records import KINDS, FieldSpec, RecordKind
from landrelease.store.base import GEOM

metadata = MetaData()

_SQL_TYPES = {
    "text": Text,
    "code": Text,
    "codes": Text,  # semicolon-joined codes
    "date": Text,  # ISO 8601 date, the GeoPackage DATE encoding
    "int": Integer,
    "float": Float,
    "bool": Boolean,
}


def _column(f: FieldSpec) -> Column:
    return Column(f.name, _SQL_TYPES[f.kind], nullable=not (f.required or f.name == "version"))


def _record_table(kind: RecordKind) -> Table:
    cols: list[Column] = [Column("fid", Integer, primary_key=True, autoincrement=True)]
    if kind.geometry:
        cols.append(Column(GEOM, LargeBinary))
    for f in kind.fields:
        col = _column(f)
        if f.name == "ref":
            col = Column("ref", Text, nullable=False, unique=True)
        cols.append(col)
    cols.append(Column("updated_at", Text))
    if kind.geometry == "polygon":
        cols.append(Column("geom_key", Integer))  # normalised-shape key: probable duplicates
    table = Table(kind.table, metadata, *cols)
    if "area_ref" in kind.field_names:
        Index(f"ix_{kind.table}_area_ref", table.c.area_ref)
    if kind.geometry == "polygon":
        # one current area per shape: a second import of it fails inside its transaction
        Index(f"ux_{kind.table}_geom_key", table.c.geom_key, unique=True)
    if "status" in kind.field_names:
        Index(f"ix_{kind.table}_status", table.c.status)
    return table


RECORD_TABLES: dict[str, Table] = {name: _record_table(k) for name, k in KINDS.items()}

# Append-only: one row per version of every record, holding its full state.
audit_trail = Table(
    "audit_trail",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", Text, nullable=False),
    Column("ref", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("action", Text, nullable=False),  # create | update | status | revert
    Column("at", Text, nullable=False),  # UTC, ISO 8601
    Column("actor", Text, nullable=False),
    Column("reason", Text),
    Column("batch", Text),  # e.g. the file an import came from
    Column("state", Text, nullable=False),  # JSON of every attribute
    Column("geom_wkb", LargeBinary),
    Index("ux_audit_kind_ref_version", "kind", "ref", "version", unique=True),
)

# Settings of this registry (country, ...) and counters for generated references.
settings = Table(
    "landrelease_settings",
    metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text),
)

ref_counters = Table(
    "landrelease_ref_counters",
    metadata,
    Column("prefix", Text, primary_key=True),
    Column("last", Integer, nullable=False),
)
