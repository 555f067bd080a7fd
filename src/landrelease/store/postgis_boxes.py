"""The in-memory box index of a PostGIS feature table (see `store/box_index.py`).

Its counter is the table's row of `landrelease_changes`, which a statement-level trigger moves
in every transaction that writes the table, whoever writes it (`store/postgis_schema.py`); the
rows are read with the counter in one statement, so in one snapshot, and so are the
geometries of the rows on a box's edge that the index does not keep yet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import numpy as np
import psycopg
import shapely

from landrelease.domain.records import RecordKind
from landrelease.store.base import GEOM
from landrelease.store.box_index import BoxRow, MemoryBoxes
from landrelease.store.postgis_schema import CHANGES

# A pooled connection in autocommit for the block, the database's errors turned into ours.
Connection = Callable[[], AbstractContextManager[psycopg.Connection[Any]]]


# What a read gives the index to ask through: its unit of work's `execute`, so that a read
# never waits for a second pooled connection while it holds one (reads at once, as many as
# the pool's connections, would each wait for another's).
Execute = Callable[..., psycopg.Cursor[Any]]


class PgBoxIndex(MemoryBoxes):
    """The box index of a feature table of a PostGIS registry: asked through the read's own
    unit of work, or else on a connection of the store's pool."""

    def __init__(self, connection: Connection, kind: RecordKind) -> None:
        super().__init__(kind)
        self._connection = connection

    def close(self) -> None:
        """Nothing to let go: each use borrows a connection of the store's pool."""

    @contextmanager
    def _asking(self, via: Execute | None) -> Iterator[Execute]:
        if via is not None:
            yield via
        else:
            with self._connection() as conn:
                yield conn.execute

    def _check(self, fids: list[int], via: Execute | None) -> tuple[int, list[Any]]:
        # One statement, one snapshot, one round trip: the counter, and the geometries of
        # the few rows asked for, if any.
        with self._asking(via) as execute:
            if not fids:
                row = execute(
                    f"SELECT changes FROM {CHANGES} WHERE table_name = %s", (self._kind.table,)
                ).fetchone()
                assert row is not None, f"{CHANGES}: no {self._kind.table}"
                return int(row[0]), []
            rows = execute(
                f"SELECT c.changes, t.fid, ST_AsBinary(t.{GEOM}) FROM {CHANGES} c "
                f"LEFT JOIN {self._kind.table} t ON t.fid = ANY(%s::bigint[]) "
                "WHERE c.table_name = %s",
                (fids, self._kind.table),
                binary=True,
            ).fetchall()
        assert rows, f"{CHANGES}: no {self._kind.table}"
        found = {r[1]: r[2] for r in rows if r[1] is not None}
        wkb = np.asarray([found.get(f) for f in fids], dtype=object)
        return int(rows[0][0]), list(shapely.from_wkb(wkb))

    def _read(self, via: Execute | None) -> tuple[int, list[BoxRow]]:
        # one statement: the counter and the rows of one snapshot (a row of NULLs if none)
        with self._asking(via) as execute:
            rows = execute(
                f"SELECT c.changes, t.fid, ST_XMin(t.{GEOM}), ST_XMax(t.{GEOM}), "
                f"ST_YMin(t.{GEOM}), ST_YMax(t.{GEOM}), t.ref, t.version FROM {CHANGES} c "
                f"LEFT JOIN {self._kind.table} t ON NOT ST_IsEmpty(t.{GEOM}) "
                "WHERE c.table_name = %s ORDER BY t.fid",
                (self._kind.table,),
                binary=True,
            ).fetchall()
        return int(rows[0][0]), [row[1:] for row in rows if row[1] is not None]
