"""The first registry schema: GeoPackage core, record layers, R-trees and the audit trail.

Revision ID: 0001
Revises:
"""

from alembic import op

from landrelease.store import geopackage

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        raise NotImplementedError("only the SQLite GeoPackage backend exists so far")

    def execute(sql: str, params: tuple = ()) -> None:
        bind.exec_driver_sql(sql, params)

    geopackage.create_schema(execute)


def downgrade() -> None:
    raise NotImplementedError("the first schema cannot be downgraded; delete the file instead")
