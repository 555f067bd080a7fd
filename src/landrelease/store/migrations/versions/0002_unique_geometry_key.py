"""One geometry per current hazard area: the database itself refuses a second.

The import looks for the same geometry among the stored areas before it writes; two imports
checking at the same moment could both pass. A unique index on the geometry key makes the
write of the second fail inside its transaction.

An earlier registry may already hold two current areas of one geometry (an edit could make
them): the later ones keep their geometry but lose the key (a derived column, not part of any
record's state), so the index can be built; an import of that shape is still refused.

On PostgreSQL the unique index is made with the table (0001).

Revision ID: 0002
Revises: 0001
"""

from alembic import op

from landrelease.store import postgis_schema

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        postgis_schema.upgrade(bind.exec_driver_sql, revision)
        return
    bind.exec_driver_sql(
        "UPDATE hazard_areas SET geom_key = NULL WHERE geom_key IS NOT NULL AND fid NOT IN "
        "(SELECT min(fid) FROM hazard_areas WHERE geom_key IS NOT NULL GROUP BY geom_key)"
    )
    bind.exec_driver_sql("DROP INDEX IF EXISTS ix_hazard_areas_geom_key")
    bind.exec_driver_sql(
        "CREATE UNIQUE INDEX IF NOT EXISTS ux_hazard_areas_geom_key ON hazard_areas(geom_key)"
    )


def downgrade() -> None:
    bind = op.get_bind()
    bind.exec_driver_sql("DROP INDEX IF EXISTS ux_hazard_areas_geom_key")
    bind.exec_driver_sql(
        "CREATE INDEX IF NOT EXISTS ix_hazard_areas_geom_key ON hazard_areas(geom_key)"
    )
