"""The file a GIS officer expects: feature counts, QGIS styles, relations, code lists.

`store/gis.py` adds to the file what QGIS and GDAL read besides the records (see there):
gpkg_ogr_contents with GDAL's count triggers, default styles in layer_styles, the relations
of an area to its events, activities, items and accidents (Related Tables Extension, the
mappings filled from the stored records), the code lists as gpkg_data_columns enums, and
Alembic's version column as TEXT.

The relation triggers name two tables, and SQLite refuses to rename a table while a trigger
names a missing one: 0004 drops and renames every record table, so they are left to the
`gis.apply` that a migration rebuilding tables runs last (0004 does).

On PostgreSQL nothing of this is needed: QGIS and GDAL read a PostGIS table's geometry
type, extent and count from the database itself.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

from landrelease.store import gis, postgis_schema

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# The code lists this migration writes (gis.code_lists_digest()); a test compares it with the
# domain's, so that a code added to the domain comes with a migration calling
# gis.sync_with_domain.
CODE_LISTS_DIGEST = "271b789849cd1ee9"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        postgis_schema.upgrade(bind.exec_driver_sql, revision)
        return
    gis.apply(bind.exec_driver_sql, keep_relations=False)


def downgrade() -> None:
    raise NotImplementedError("the GIS tables cannot be taken out again; they harm no reader")
