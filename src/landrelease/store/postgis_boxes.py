"""The in-memory box index of a PostGIS feature table (see `store/box_index.py`).

Its counter is the table's row of `landrelease_changes`, which a statement-level trigger moves
in every transaction that writes the table, whoever writes it (`store/postgis_schema.py`); the
rows are read with the counter in one statement, so in one snapshot. The exact test of the
rows on a box's edge is PostGIS's `ST_Intersects`, as the SQL read of a box does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import numpy as np
import psycopg

from landrelease.domain.records import RecordKind
from landrelease.store.base import GEOM
from landrelease.store.box_index import Box, BoxRow, MemoryBoxes
from landrelease.store.postgis_schema import CHANGES, SRID

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

    def _check(self, fids: np.ndarray, bbox: Box, via: Execute | None) -> tuple[int, np.ndarray]:
        # One statement, one snapshot, one round trip. OFFSET 0 keeps the planner from
        # the GiST index (hundreds of rows for the box) for these few rows found by fid.
        with self._asking(via) as execute:
            row = execute(
                f"SELECT (SELECT changes FROM {CHANGES} WHERE table_name = %s), "
                f"ARRAY(SELECT fid FROM (SELECT fid, {GEOM} FROM {self._kind.table} "
                "WHERE fid = ANY(%s::bigint[]) OFFSET 0) edge "
                f"WHERE ST_Intersects({GEOM}, ST_MakeEnvelope(%s, %s, %s, %s, {SRID})))",
                (self._kind.table, fids.tolist(), *bbox),
            ).fetchone()
        assert row is not None and row[0] is not None, f"{CHANGES}: no {self._kind.table}"
        return int(row[0]), np.isin(fids, np.asarray(row[1], dtype=np.int64))

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
