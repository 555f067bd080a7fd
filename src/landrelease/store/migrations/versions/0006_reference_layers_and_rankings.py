"""Reference layers and saved rankings, for prioritisation.

Adds `landrelease_reference_layers` (what each `ref_<name>` feature layer is, see
`store/layers.py`), and `landrelease_rankings` with `landrelease_ranking_areas` (saved
rankings, append-only, see `store/rankings.py`): internal tables in GeoPackage column types,
not registered as layers. The reference layers themselves are made as they are added.

On PostgreSQL the same tables, made by `store/postgis_tables.py`.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

from landrelease.store import layers, postgis_schema, rankings

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        postgis_schema.upgrade(bind.exec_driver_sql, revision)
        return

    def execute(sql: str, params: tuple = ()) -> None:
        bind.exec_driver_sql(sql, params)

    layers.create_tables(execute)
    rankings.create_tables(execute)


def downgrade() -> None:
    raise NotImplementedError("saved rankings are evidence of decisions: they stay")
