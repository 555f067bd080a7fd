"""Copying a registry into and out of a GeoPackage file, in the row format of `store/transfer.py`.

Out: each table is read in the order of its ids (or of `Table.order`), geometries
as the WKB inside their GeoPackage blobs, cut out by SQLite itself (`geopackage.wkb_sql`).

In: rows are written with executemany in the one write unit of work of the copy, into the
tables a new registry file has. The insert triggers of a table are set aside while its rows
go in, so that copied rows stay as they were: the history triggers would stamp a row with
no author as one added by another program, and a copied row is no new edit. What the other
insert triggers keep is then made once for the whole table (`Loader.end`): the R-tree,
packed in one pass; the feature count of gpkg_ogr_contents; the extent and last change of
gpkg_contents; and at the end of the copy the mappings of the Related Tables Extension
(`Loader.finish`). The triggers are back before the copy commits; GDAL's validator and
`rtreecheck` pass the result (tests/test_migrate.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from landrelease.domain.errors import LandreleaseError
from landrelease.store import geopackage as gpkg
from landrelease.store import gis
from landrelease.store.base import now_utc
from landrelease.store.sqlite_uow import SqliteUnitOfWork
from landrelease.store.transfer import Claim, Table, chunks

# Files SQLite and the store keep beside a registry file.
_BESIDE = ("-wal", "-shm", "-journal", "-writer")


def claim(path: str) -> Claim:
    """Make the empty file a new registry is written into, unless there is one; return
    whether it was made, and what removes it (and what SQLite leaves beside it) again.

    The file is made only if none is there (atomically), so that a file another program
    makes meanwhile is never taken over, nor removed.
    """
    try:
        with open(path, "x"):
            pass
    except FileExistsError:
        return Claim("exists already", lambda: None)
    except OSError:  # no such folder, no permission: opening the store says which
        return Claim(None, lambda: None)

    def undo() -> None:
        for name in (path, *(path + s for s in _BESIDE)):
            with contextlib.suppress(FileNotFoundError):
                Path(name).unlink()

    return Claim(None, undo)


def count(uow: SqliteUnitOfWork, table: str) -> int:
    """Return how many rows `table` (a table of `transfer.tables` or a layer's) holds."""
    return int(uow.sql(f"SELECT count(*) FROM {table}").scalar_one())


def dump(uow: SqliteUnitOfWork, table: Table) -> Iterator[list[tuple[Any, ...]]]:
    """Yield the rows of `table` in the row format, a chunk at a time, in `table.order`."""
    select = [gpkg.wkb_sql(c) if c == table.geometry else c for c in table.columns]
    result = uow.sql(
        f"SELECT {', '.join(select)} FROM {table.name} ORDER BY {', '.join(table.order)}"
    )
    yield from chunks(iter(result))


def descriptions(uow: SqliteUnitOfWork) -> dict[str, str]:
    """Return what a GIS client shows of each layer: {table: description}."""
    rows = uow.sql("SELECT table_name, description FROM gpkg_contents").fetchall()
    return {str(t): str(d) for t, d in rows if d}


class Loader:
    """Writes tables in the row format into the registry file of one write unit of work."""

    def __init__(self, uow: SqliteUnitOfWork) -> None:
        self._uow = uow
        self._aside: dict[str, str] = {}  # insert triggers of the table being loaded
        self._ids: list[np.ndarray] = []  # fids and boxes of its geometries, for the R-tree
        self._boxes: list[np.ndarray] = []

    def _execute(self, sql: str, params: Any = ()) -> Any:
        return self._uow.sql(sql, params, write=True)

    def begin(self, table: Table) -> None:
        """Prepare `table` (empty in a new registry) for its rows: its insert triggers aside."""
        if self._uow.sql(f"SELECT 1 FROM {table.name} LIMIT 1").fetchone() is not None:
            raise LandreleaseError(
                f"{table.name} of the new registry holds rows already; copy into a new file"
            )
        rows = self._uow.sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?",
            (table.name,),
        ).fetchall()
        self._aside = {
            name: sql for name, sql in rows if " INSERT ON " in " ".join(sql.split()[:8]).upper()
        }
        for name in self._aside:
            self._execute(f'DROP TRIGGER "{name}"')
        self._ids, self._boxes = [], []

    def load(self, table: Table, rows: Sequence[tuple[Any, ...]]) -> None:
        """Write rows of `table` (in the row format), their geometries as GeoPackage blobs."""
        if not rows:
            return
        if table.geometry is not None:
            rows = self._encoded(table, rows)
        marks = ", ".join("?" * len(table.columns))
        self._execute(
            f"INSERT INTO {table.name} ({', '.join(table.columns)}) VALUES ({marks})", list(rows)
        )

    def _encoded(self, table: Table, rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """Return `rows` with their WKB as GeoPackage blobs; keep the boxes for the R-tree."""
        at = table.columns.index(table.geometry or "")
        key = table.columns.index("fid")
        wkbs = np.empty(len(rows), dtype=object)
        wkbs[:] = [r[at] for r in rows]
        geoms = shapely.from_wkb(wkbs)
        blobs = gpkg.encode(
            geoms, multi=table.geometry_type == "MULTIPOLYGON", layer_type=table.geometry_type
        )
        shown = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        self._ids.append(np.array([r[key] for r in rows], dtype=np.int64)[shown])
        self._boxes.append(shapely.bounds(geoms[shown]))
        return [(*r[:at], b, *r[at + 1 :]) for r, b in zip(rows, blobs, strict=True)]

    def end(self, table: Table) -> None:
        """Put `table`'s insert triggers back and make what they keep for its rows."""
        for sql in self._aside.values():
            self._execute(sql)
        self._aside = {}
        t = table.name
        ids = np.concatenate(self._ids) if self._ids else np.empty(0, dtype=np.int64)
        if len(ids):
            boxes = np.concatenate(self._boxes)
            order = _spatial_order(boxes)  # a packed tree is only as good as its order
            gpkg.bulk_load_rtree(self._uow.connection(write=True), t, ids[order], boxes[order])
            ext = self._uow.sql(
                f"SELECT min(minx), min(miny), max(maxx), max(maxy) FROM {gpkg.rtree_name(t)}"
            ).one()
            self._execute(
                "UPDATE gpkg_contents SET min_x = ?, min_y = ?, max_x = ?, max_y = ? "
                "WHERE table_name = ?",
                (*ext, t),
            )
        self._execute(
            "UPDATE gpkg_contents SET last_change = ? WHERE table_name = ?", (now_utc(), t)
        )
        self._execute(
            f"UPDATE gpkg_ogr_contents SET feature_count = (SELECT count(*) FROM {t}) "
            "WHERE table_name = ?",
            (t,),
        )
        self._ids, self._boxes = [], []

    def finish(self, described: dict[str, str]) -> None:
        """Describe the layers as the source did (`descriptions`), and map every record that
        names an area to it (the Related Tables Extension)."""
        self._execute(
            "UPDATE gpkg_contents SET description = ? WHERE table_name = ?",
            [(text, table) for table, text in described.items()],
        )
        for kind in gis.RELATED_KINDS:
            gis.relate_to_areas(self._execute, kind)

    def count(self, table: str) -> int:
        """Return how many rows `table` holds now, in this unit of work."""
        return count(self._uow, table)


def _spatial_order(boxes: np.ndarray) -> np.ndarray:
    """Return the order of boxes ([minx, miny, maxx, maxy] rows) along a Hilbert curve."""
    import geopandas as gpd

    centres = shapely.points((boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2)
    return np.argsort(gpd.GeoSeries(centres).hilbert_distance().to_numpy(), kind="stable")


__all__ = ["Loader", "claim", "count", "descriptions", "dump"]
