"""The review queue of field submissions.

Adds `landrelease_submissions` and `landrelease_submission_events` (see
`store/review_queue.py`): internal tables, in GeoPackage column types and not registered as
layers. No record table changes. On PostgreSQL the same tables, made by
`store/postgis_review_queue.py`.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

from landrelease.store import postgis_review_queue, review_queue

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for sql in postgis_review_queue.tables_ddl():
            bind.exec_driver_sql(sql)
        return

    def execute(sql: str, params: tuple = ()) -> None:
        bind.exec_driver_sql(sql, params)

    review_queue.create_tables(execute)


def downgrade() -> None:
    raise NotImplementedError("field submissions and their review are kept: they stay")
