"""Users with roles, their browser sessions, and proposals of status changes.

Adds `landrelease_users`, `landrelease_sessions` and `landrelease_status_proposals` (see
`store/users.py`): internal tables, in GeoPackage column types and not registered as layers,
as `landrelease_settings` is. No record table changes, so the GIS tables need nothing.

On PostgreSQL the same tables, made by `store/postgis_tables.py`.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

from landrelease.store import postgis_schema, users

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        postgis_schema.upgrade(bind.exec_driver_sql, revision)
        return

    def execute(sql: str, params: tuple = ()) -> None:
        bind.exec_driver_sql(sql, params)

    users.create_tables(execute)


def downgrade() -> None:
    raise NotImplementedError("users and proposals are part of the audit trail: they stay")
