"""Saved rankings (prioritisation results) in the registry file (SQLite backend).

Two internal tables, in GeoPackage column types and not registered as layers:

- `landrelease_rankings`: one row per saved ranking: its id (a hash of everything it was
  computed from), who saved it and when, the date it was computed as of, the configuration
  text as given, what went into it (JSON: layers and their content hashes, the registry
  digest, the engine version) and how many areas it ranks;
- `landrelease_ranking_areas`: each ranked area of a ranking: its rank, ref, score and
  components (JSON, {component: value}).

A saved ranking is evidence of a decision, so both tables are append-only: triggers refuse
UPDATE and DELETE from any client, as the history tables refuse changes to earlier versions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from landrelease.store.messages import RANKINGS_KEPT
from landrelease.store.side_tables import (
    AREA_COLUMNS,
    RANKING_COLUMNS,
    json_text,
    ranked_area,
    saved_ranking,
)

if TYPE_CHECKING:
    from landrelease.store.sqlite_uow import SqliteUnitOfWork

Execute = Callable[..., object]

RANKINGS_DDL = """CREATE TABLE landrelease_rankings (
  id TEXT PRIMARY KEY NOT NULL,
  created_at DATETIME NOT NULL,
  created_by TEXT NOT NULL,
  as_of DATE NOT NULL,
  config TEXT NOT NULL,
  inputs TEXT NOT NULL,
  areas INTEGER NOT NULL
)"""

RANKING_AREAS_DDL = """CREATE TABLE landrelease_ranking_areas (
  ranking_id TEXT NOT NULL REFERENCES landrelease_rankings(id),
  rank INTEGER NOT NULL,
  ref TEXT NOT NULL,
  score REAL NOT NULL,
  components TEXT NOT NULL,
  PRIMARY KEY (ranking_id, ref)
)"""

INDEXES = (
    "CREATE INDEX ix_landrelease_ranking_areas_rank ON landrelease_ranking_areas(ranking_id, rank)",
    "CREATE INDEX ix_landrelease_rankings_created_at ON landrelease_rankings(created_at)",
)

GUARDS = tuple(
    f"CREATE TRIGGER {table}_no_{what} BEFORE {what.upper()} ON {table}\n"
    f"BEGIN SELECT RAISE(ABORT, '{RANKINGS_KEPT}'); END"
    for table in ("landrelease_rankings", "landrelease_ranking_areas")
    for what in ("update", "delete")
)


def create_tables(execute: Execute) -> None:
    """Create the rankings tables, their indexes and their append-only guards."""
    for sql in (RANKINGS_DDL, RANKING_AREAS_DDL, *INDEXES, *GUARDS):
        execute(sql)


class SqliteRankings:
    """Saved rankings in `landrelease_rankings` and `landrelease_ranking_areas`."""

    def __init__(self, uow: SqliteUnitOfWork) -> None:
        self._uow = uow

    def add(self, ranking: dict[str, Any], rows: list[dict[str, Any]]) -> bool:
        """Save a ranking and its ranked areas; return False if one with its id is saved
        already (then nothing is written: the same id is the same ranking).

        `ranking`: id, created_at, created_by, as_of (a date or ISO text), config (the TOML
        text), inputs (a dict, or JSON text) and optionally areas (default: len(rows)).
        `rows`: rank, ref, score and components ({name: number}, or JSON text).
        """
        exists = self._uow.sql(
            "SELECT 1 FROM landrelease_rankings WHERE id = ?", (ranking["id"],)
        ).fetchone()
        if exists is not None:
            return False
        self._uow.sql(
            f"INSERT INTO landrelease_rankings ({', '.join(RANKING_COLUMNS)}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                ranking["id"],
                ranking["created_at"],
                ranking["created_by"],
                str(ranking["as_of"]),
                ranking["config"],
                json_text(ranking["inputs"]),
                int(ranking.get("areas", len(rows))),
            ),
            write=True,
        )
        self._uow.sql(
            "INSERT INTO landrelease_ranking_areas (ranking_id, rank, ref, score, components) "
            "VALUES (?, ?, ?, ?, ?)",
            [
                (
                    ranking["id"],
                    int(r["rank"]),
                    r["ref"],
                    float(r["score"]),
                    json_text(r["components"]),
                )
                for r in rows
            ],
            write=True,
        )
        return True

    def get(self, ranking_id: str) -> dict[str, Any] | None:
        """Return one saved ranking (inputs parsed from JSON), or None."""
        row = self._uow.sql(
            f"SELECT {', '.join(RANKING_COLUMNS)} FROM landrelease_rankings WHERE id = ?",
            (ranking_id,),
        ).fetchone()
        return None if row is None else saved_ranking(row)

    def latest(self) -> dict[str, Any] | None:
        """Return the ranking saved last, or None if none is."""
        row = self._uow.sql(
            f"SELECT {', '.join(RANKING_COLUMNS)} FROM landrelease_rankings "
            "ORDER BY created_at DESC, rowid DESC LIMIT 1"
        ).fetchone()
        return None if row is None else saved_ranking(row)

    def all(self) -> list[dict[str, Any]]:
        """Return every saved ranking, the oldest first."""
        rows = self._uow.sql(
            f"SELECT {', '.join(RANKING_COLUMNS)} FROM landrelease_rankings "
            "ORDER BY created_at, rowid"
        ).fetchall()
        return [saved_ranking(r) for r in rows]

    def areas(self, ranking_id: str) -> list[dict[str, Any]]:
        """Return the ranked areas of a ranking by rank (components parsed); [] if none."""
        rows = self._uow.sql(
            f"SELECT {', '.join(AREA_COLUMNS)} FROM landrelease_ranking_areas "
            "WHERE ranking_id = ? ORDER BY rank, ref",
            (ranking_id,),
        ).fetchall()
        return [ranked_area(r) for r in rows]


__all__ = [
    "GUARDS",
    "SqliteRankings",
    "create_tables",
]
