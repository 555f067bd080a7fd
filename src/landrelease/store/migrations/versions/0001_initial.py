"""The first registry schema: GeoPackage core, record layers, R-trees and the audit trail.

On PostgreSQL: the PostGIS extension, the settings and ref counters, and the record tables
in their versioned layout (a PostGIS registry keeps its history in the database from its
first day: it has no audit trail).

Revision ID: 0001
Revises:
"""

from alembic import op

from landrelease.store import geopackage, postgis_schema

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        postgis_schema.upgrade(bind.exec_driver_sql, revision)
        return

    def execute(sql: str, params: tuple = ()) -> None:
        bind.exec_driver_sql(sql, params)

    geopackage.create_schema(execute)


def downgrade() -> None:
    raise NotImplementedError("the first schema cannot be downgraded; delete the file instead")
