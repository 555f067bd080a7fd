"""Risk-education sessions: a sixth kind of record, `eore_sessions`.

The record table in its versioned layout, a GeoPackage point layer with its R-tree, its
history table (a layer too) and the triggers of `store/history.py`, as 0004 left the other
kinds; then `gis.apply` gives the file what GIS clients read of the new layers (feature
counts, column descriptions, the `eore_method` code list, a default style). The steps before
this one make only the kinds they made when they were written (`schema_migrations.kinds_at`).

On PostgreSQL: the record and history tables, their plpgsql triggers and the table's change
counter, as `store/postgis_schema.py` makes them for every kind.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

from landrelease.domain.records import EORE
from landrelease.store import gis, history, postgis_schema

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# The code lists this migration writes (gis.code_lists_digest()): the domain's, with the
# methods of a risk-education session.
CODE_LISTS_DIGEST = "e41c241f33e079c9"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for sql in postgis_schema.record_kind_ddl(EORE):
            bind.exec_driver_sql(sql)
        return

    def execute(sql: str, params: tuple = ()) -> None:
        bind.exec_driver_sql(sql, params)

    history.create_record_kind(execute, EORE)
    gis.apply(bind.exec_driver_sql)


def downgrade() -> None:
    raise NotImplementedError("risk-education sessions are records, and records stay")
