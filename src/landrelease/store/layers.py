"""Reference layers (settlements, buildings, roads, land use, facilities) in the registry file.

Each reference layer is a GeoPackage feature table `ref_<name>` of its own, registered as
QGIS and GDAL expect (gpkg_contents, gpkg_geometry_columns, an R-tree with the six triggers of
the extension, GDAL's feature count), in EPSG:4326, so a GIS client lists and draws it beside
the records. `landrelease_reference_layers` (an internal table, as `landrelease_settings` is)
says what each one is: its kind, where it came from, who added it and when, and the SHA-256
of its content, which a ranking names to be reproducible.

A layer is replaced by removing it and adding it again: its table and every registration of
it go with it. Table and column names are checked (`store/side_tables.py`) before they
reach SQL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from landrelease.store import geopackage as gpkg
from landrelease.store import gis
from landrelease.store.base import GEOM
from landrelease.store.messages import layer_name_taken, layer_not_found, layer_table_taken
from landrelease.store.side_tables import LAYER_COLUMN, LAYER_COLUMNS, checked_layer, layer_table

if TYPE_CHECKING:
    from landrelease.store.sqlite_uow import SqliteUnitOfWork

Execute = Callable[..., object]

LAYERS_DDL = """CREATE TABLE landrelease_reference_layers (
  name TEXT PRIMARY KEY NOT NULL,
  kind TEXT NOT NULL,
  table_name TEXT NOT NULL UNIQUE,
  features INTEGER NOT NULL,
  geometry_type TEXT NOT NULL,
  source TEXT,
  content_sha256 TEXT NOT NULL,
  added_at DATETIME NOT NULL,
  added_by TEXT NOT NULL
)"""


def create_tables(execute: Execute) -> None:
    """Create `landrelease_reference_layers`."""
    execute(LAYERS_DDL)


def _column_type(values: np.ndarray) -> str:
    kind = values.dtype.kind
    if kind == "f":
        return "DOUBLE"
    if kind in "iu":
        return "INTEGER"
    return "TEXT"


def _column_values(values: np.ndarray) -> list[Any]:
    """Return a column as Python values for SQLite (NaN and None as NULL)."""
    if values.dtype.kind == "f":
        out = values.astype(object)
        out[np.isnan(values)] = None
        return out.tolist()
    return values.tolist()


class SqliteLayers:
    """Reference layers: their `ref_<name>` feature tables and the rows that describe them."""

    def __init__(self, uow: SqliteUnitOfWork) -> None:
        self._uow = uow

    def _execute(self, sql: str, params: Any = ()) -> Any:
        return self._uow.sql(sql, params, write=True)

    def get(self, name: str) -> dict[str, Any] | None:
        """Return the row describing layer `name` (as `all` gives it), or None."""
        row = self._uow.sql(
            f"SELECT {', '.join(LAYER_COLUMNS)} FROM landrelease_reference_layers WHERE name = ?",
            (name,),
        ).fetchone()
        return None if row is None else dict(zip(LAYER_COLUMNS, row, strict=True))

    def all(self) -> list[dict[str, Any]]:
        """Return every reference layer (name, kind, table_name, features, geometry_type,
        source, content_sha256, added_at, added_by), by kind, then name."""
        rows = self._uow.sql(
            f"SELECT {', '.join(LAYER_COLUMNS)} FROM landrelease_reference_layers "
            "ORDER BY kind, name"
        ).fetchall()
        return [dict(zip(LAYER_COLUMNS, r, strict=True)) for r in rows]

    def add(
        self,
        name: str,
        kind: str,
        geometry_type: str,
        geoms: np.ndarray,
        columns: dict[str, np.ndarray],
        source: str | None,
        content_sha256: str,
        at: str,
        actor: str,
    ) -> str:
        """Write a reference layer as the GeoPackage feature table `ref_<name>`; return it.

        `geoms` (EPSG:4326, none missing or empty) must all be of `geometry_type` (one of
        `side_tables.GEOMETRY_TYPE_IDS`); `columns` (lower-case names) become the table's
        fields, typed by their dtype. A name or table in use already is a ValidationError, and
        nothing is written. The feature table, its R-tree, its registrations and its description row
        are all written in this unit of work.
        """
        table = layer_table(name)
        self._refuse_taken(name, table)
        geoms = checked_layer(table, geometry_type, geoms, columns)[0]
        n = len(geoms)

        names = list(columns)
        fields = "".join(f",\n  {c} {_column_type(columns[c])}" for c in names)
        self._execute(
            f"CREATE TABLE {table} (\n  fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,\n"
            f"  {GEOM} {geometry_type}{fields}\n)"
        )
        blobs = gpkg.encode(geoms, multi=geometry_type == "MULTIPOLYGON")
        fids = list(range(1, n + 1))
        cells = [_column_values(np.asarray(columns[c])) for c in names]
        marks = ", ".join("?" * (len(names) + 2))
        self._execute(
            f"INSERT INTO {table} (fid, {GEOM}{''.join(', ' + c for c in names)}) VALUES ({marks})",
            list(zip(fids, blobs, *cells, strict=True)),
        )
        bounds = shapely.bounds(geoms)
        self._index(table, geoms, bounds)
        minx, miny = bounds[:, 0].min(), bounds[:, 1].min()
        maxx, maxy = bounds[:, 2].max(), bounds[:, 3].max()
        self._execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, "
            "last_change, min_x, min_y, max_x, max_y, srs_id) "
            "VALUES (?, 'features', ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                table,
                table,
                f"Reference layer ({kind}) {name}: {source or 'no source given'}",
                at,
                float(minx),
                float(miny),
                float(maxx),
                float(maxy),
                gpkg.SRS_ID,
            ),
        )
        self._execute(
            "INSERT INTO gpkg_geometry_columns VALUES (?, ?, ?, ?, 0, 0)",
            (table, GEOM, geometry_type, gpkg.SRS_ID),
        )
        self._execute(
            "INSERT INTO gpkg_extensions VALUES (?, ?, 'gpkg_rtree_index', "
            "'http://www.geopackage.org/spec120/#extension_rtree', 'write-only')",
            (table, GEOM),
        )
        gis.count_features(self._execute, table)
        self._execute(
            f"INSERT INTO landrelease_reference_layers ({', '.join(LAYER_COLUMNS)}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (name, kind, table, n, geometry_type, source, content_sha256, at, actor),
        )
        return table

    def _refuse_taken(self, name: str, table: str) -> None:
        known = self.get(name)
        if known is not None:
            raise layer_name_taken(name, known)
        clash = self._uow.sql(
            "SELECT (SELECT name FROM landrelease_reference_layers WHERE table_name = ?), "
            "EXISTS (SELECT 1 FROM sqlite_master WHERE name = ?)",
            (table, table),
        ).one()
        if clash[0] is not None or clash[1]:
            raise layer_table_taken(name, table, clash[0])

    def _index(self, table: str, geoms: np.ndarray, bounds: np.ndarray) -> None:
        """Make the table's R-tree, packed at once over every feature, then its triggers."""
        rt = gpkg.rtree_name(table)
        self._execute(f"CREATE VIRTUAL TABLE {rt} USING rtree(id, minx, maxx, miny, maxy)")
        ids = np.arange(1, len(bounds) + 1, dtype=np.int64)
        order = _spatial_order(geoms)  # a packed tree is only as good as its order
        gpkg.bulk_load_rtree(self._uow.connection(write=True), table, ids[order], bounds[order])
        for sql in gpkg.rtree_triggers(table):
            self._execute(sql)

    def read(self, name: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Return a layer's geometries (shapely, EPSG:4326) and columns, in stored order.

        Floating-point columns come as float64 (NULL as NaN), others as object arrays.
        NotFound for an unknown name.
        """
        row = self.get(name)
        if row is None:
            raise layer_not_found(name)
        table = layer_table(name)
        info = self._uow.sql(f"PRAGMA table_info({table})").fetchall()
        # (a column added by hand in a GIS client, of a name we would not write, is left out)
        names = [r[1] for r in info if r[1] not in ("fid", GEOM) and LAYER_COLUMN.match(r[1])]
        types = {r[1]: str(r[2]).upper() for r in info}
        select = ", ".join([GEOM, *names])
        rows = self._uow.sql(f"SELECT {select} FROM {table} ORDER BY fid").fetchall()
        geoms = gpkg.decode([r[0] for r in rows])
        columns: dict[str, np.ndarray] = {}
        for i, col in enumerate(names, start=1):
            values = [r[i] for r in rows]
            if types[col] in ("DOUBLE", "REAL", "FLOAT"):
                columns[col] = np.array(
                    [np.nan if v is None else v for v in values], dtype=np.float64
                )
            else:
                arr = np.empty(len(values), dtype=object)
                arr[:] = values
                columns[col] = arr
        return geoms, columns

    def remove(self, name: str) -> dict[str, Any]:
        """Drop a layer's table, its R-tree and every registration of it; return its row.

        NotFound for an unknown name.
        """
        row = self.get(name)
        if row is None:
            raise layer_not_found(name)
        table = layer_table(name)
        self._execute(f"DROP TABLE IF EXISTS {table}")  # its triggers go with it
        self._execute(f"DROP TABLE IF EXISTS {gpkg.rtree_name(table)}")
        present = {
            r[0] for r in self._uow.sql("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        for registry_table, column in (
            ("gpkg_extensions", "table_name"),
            ("gpkg_geometry_columns", "table_name"),
            ("gpkg_data_columns", "table_name"),
            ("gpkg_ogr_contents", "table_name"),
            ("layer_styles", "f_table_name"),  # a style a user saved for it in QGIS
            ("gpkg_contents", "table_name"),
        ):
            if registry_table in present:
                self._execute(f"DELETE FROM {registry_table} WHERE {column} = ?", (table,))
        self._execute("DELETE FROM landrelease_reference_layers WHERE name = ?", (name,))
        return row


def _spatial_order(geoms: np.ndarray) -> np.ndarray:
    """Return the order of geometries along a Hilbert curve (of their boxes' centres)."""
    import geopandas as gpd

    return np.argsort(gpd.GeoSeries(geoms).hilbert_distance().to_numpy(), kind="stable")


__all__ = ["LAYERS_DDL", "SqliteLayers", "create_tables"]
