"""History kept by the database: system-versioned record tables instead of the audit trail.

Every record table is rebuilt in its versioned layout (ref filled by a trigger when another
program adds a row; who, when and why of the current version on the row), gets a history
table of its earlier versions (a GeoPackage layer) and the triggers of `store/history.py`.
Each audit trail entry becomes the current row's stamp or a history row; import batches become
`landrelease_batches` rows. No version is lost.

On PostgreSQL: the import batches, the history tables and the plpgsql triggers of
`store/postgis_schema.py` (there is no audit trail to convert).

Revision ID: 0004
Revises: 0003
"""

from alembic import op

from landrelease.store import gis, history, postgis_schema

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        postgis_schema.upgrade(bind.exec_driver_sql, revision)
        return

    def execute(sql: str, params: tuple = ()) -> None:
        bind.exec_driver_sql(sql, params)

    history.upgrade_from_audit_trail(execute)
    # The rebuilt record tables lost their count and relation triggers, and the history
    # layers are new: give the file again all that GIS clients read (store/gis.py).
    gis.apply(bind.exec_driver_sql)


def downgrade() -> None:
    raise NotImplementedError("history tables cannot be turned back into an audit trail")
