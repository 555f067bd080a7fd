"""The review queue of field submissions in the registry file (SQLite backend).

Two tables beside the records, in the column types a GeoPackage allows, not registered as
layers (as `landrelease_users` is not):

- `landrelease_submissions`: one row per submission a field team sent (ODK Central,
  KoboToolbox), by its instance id (unique: the same submission imported twice is one row),
  with what it says (`payload`, JSON), the flags its checks raised (JSON), and its review:
  pending, then approved (with the refs it wrote) or rejected (with the reason). Never
  deleted; unchanged once reviewed.
- `landrelease_submission_events`: the review history, append-only: imported, edited,
  overridden, approved, rejected, each with who, when and why.

Triggers refuse what only landrelease may do, so that an SQL client or QGIS cannot delete a
submission, change a reviewed one, or rewrite the review history.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from landrelease.store.messages import (
    SUBMISSION_DECIDED,
    SUBMISSION_EVENTS_KEPT,
    SUBMISSIONS_KEPT,
    submission_decided,
    submission_not_found,
)
from landrelease.store.side_tables import (
    SUBMISSION_CHANGEABLE,
    SUBMISSION_COLUMNS,
    SUBMISSION_EVENT_COLUMNS,
)

if TYPE_CHECKING:
    from landrelease.store.sqlite_uow import SqliteUnitOfWork

Execute = Callable[..., object]

SUBMISSIONS_DDL = """CREATE TABLE landrelease_submissions (
  id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  instance_id TEXT NOT NULL UNIQUE,
  form_id TEXT NOT NULL,
  submitted_by TEXT,
  submitted_at DATETIME,
  imported_at DATETIME NOT NULL,
  imported_by TEXT NOT NULL,
  source TEXT,
  payload TEXT NOT NULL,
  flags TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'pending',
  override_reason TEXT,
  decided_by TEXT,
  decided_at DATETIME,
  decision_reason TEXT,
  refs TEXT
)"""

EVENTS_DDL = """CREATE TABLE landrelease_submission_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  submission_id INTEGER NOT NULL REFERENCES landrelease_submissions(id),
  at DATETIME NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  reason TEXT,
  detail TEXT
)"""

GUARDS = (
    f"""CREATE TRIGGER landrelease_submissions_no_delete BEFORE DELETE ON landrelease_submissions
BEGIN SELECT RAISE(ABORT, '{SUBMISSIONS_KEPT}'); END""",
    f"""CREATE TRIGGER landrelease_submissions_decided BEFORE UPDATE ON landrelease_submissions
WHEN OLD.state IS NOT 'pending'
BEGIN SELECT RAISE(ABORT, '{SUBMISSION_DECIDED}'); END""",
    f"""CREATE TRIGGER landrelease_submission_events_no_update BEFORE UPDATE ON \
landrelease_submission_events
BEGIN SELECT RAISE(ABORT, '{SUBMISSION_EVENTS_KEPT}'); END""",
    f"""CREATE TRIGGER landrelease_submission_events_no_delete BEFORE DELETE ON \
landrelease_submission_events
BEGIN SELECT RAISE(ABORT, '{SUBMISSION_EVENTS_KEPT}'); END""",
)

INDEXES = (
    "CREATE INDEX ix_landrelease_submissions_state ON landrelease_submissions(state)",
    "CREATE INDEX ix_landrelease_submission_events_submission "
    "ON landrelease_submission_events(submission_id)",
)

_SELECT = f"SELECT {', '.join(SUBMISSION_COLUMNS)} FROM landrelease_submissions"
_SELECT_EVENTS = (
    f"SELECT {', '.join(SUBMISSION_EVENT_COLUMNS)} FROM landrelease_submission_events "
    "WHERE submission_id = ? ORDER BY id"
)


def create_tables(execute: Execute) -> None:
    """Create the review queue's tables, their indexes and guards."""
    for sql in (SUBMISSIONS_DDL, EVENTS_DDL, *INDEXES, *GUARDS):
        execute(sql)


def checked_changes(values: dict[str, Any]) -> list[str]:
    """Return the columns of `values` in order; ValueError for one a review may not change."""
    unknown = set(values) - SUBMISSION_CHANGEABLE
    if unknown:
        raise ValueError(f"not a changeable column of a submission: {sorted(unknown)}")
    return list(values)


class QueueRepository(ABC):
    """The review queue's repository, its SQL written once for both backends (with `?`
    placeholders); a backend's subclass runs it, and says how an insert gives its id."""

    @abstractmethod
    def _run(self, sql: str, params: Sequence[Any] = (), *, write: bool = False) -> Any:
        """Run one statement in the unit of work (`write`: refused in a read); return its
        cursor (fetchone, fetchall, rowcount)."""

    @abstractmethod
    def _insert(self, sql: str, params: Sequence[Any]) -> int:
        """Run one INSERT in the unit of work; return the id of the row it made."""

    def add(self, row: dict[str, Any]) -> int:
        """Queue a pending submission (the columns of SUBMISSION_COLUMNS but id, state and
        the review's); return its id. The caller has checked its instance id is new."""
        cols = [c for c in SUBMISSION_COLUMNS if c in row and c != "id"]
        return self._insert(
            f"INSERT INTO landrelease_submissions ({', '.join(cols)}) "
            f"VALUES ({', '.join('?' * len(cols))})",
            tuple(row[c] for c in cols),
        )

    def get(self, submission_id: int) -> dict[str, Any]:
        """Return one submission; NotFound if there is none with this id."""
        row = self._run(_SELECT + " WHERE id = ?", (submission_id,)).fetchone()
        if row is None:
            raise submission_not_found(submission_id)
        return dict(zip(SUBMISSION_COLUMNS, row, strict=True))

    def by_instance(self, instance_id: str) -> dict[str, Any] | None:
        """Return the submission with this instance id, or None."""
        row = self._run(_SELECT + " WHERE instance_id = ?", (instance_id,)).fetchone()
        return None if row is None else dict(zip(SUBMISSION_COLUMNS, row, strict=True))

    def select(self, state: str | None = None) -> list[dict[str, Any]]:
        """Return the submissions in `state` (None: all), the oldest first."""
        sql, params = (_SELECT, ()) if state is None else (_SELECT + " WHERE state = ?", (state,))
        rows = self._run(sql + " ORDER BY id", params).fetchall()
        return [dict(zip(SUBMISSION_COLUMNS, r, strict=True)) for r in rows]

    def update(self, submission_id: int, values: dict[str, Any]) -> None:
        """Change a pending submission; ConflictError if it was reviewed already."""
        cols = checked_changes(values)
        res = self._run(
            f"UPDATE landrelease_submissions SET {', '.join(f'{c} = ?' for c in cols)} "
            "WHERE id = ? AND state = 'pending'",
            (*(values[c] for c in cols), submission_id),
            write=True,
        )
        if res.rowcount == 0:
            raise submission_decided(submission_id, self.get(submission_id))  # or NotFound

    def add_event(
        self,
        submission_id: int,
        *,
        at: str,
        actor: str,
        action: str,
        reason: str | None = None,
        detail: str | None = None,
    ) -> None:
        """Append one entry to a submission's review history."""
        self._insert(
            "INSERT INTO landrelease_submission_events (submission_id, at, actor, action, "
            "reason, detail) VALUES (?, ?, ?, ?, ?, ?)",
            (submission_id, at, actor, action, reason, detail),
        )

    def events(self, submission_id: int) -> list[dict[str, Any]]:
        """Return a submission's review history, the oldest first."""
        rows = self._run(_SELECT_EVENTS, (submission_id,)).fetchall()
        return [dict(zip(SUBMISSION_EVENT_COLUMNS, r, strict=True)) for r in rows]


class SqliteSubmissions(QueueRepository):
    """The review queue in the registry file."""

    def __init__(self, uow: SqliteUnitOfWork) -> None:
        self._uow = uow

    def _run(self, sql: str, params: Sequence[Any] = (), *, write: bool = False) -> Any:
        return self._uow.sql(sql, tuple(params), write=write)

    def _insert(self, sql: str, params: Sequence[Any]) -> int:
        rowid = self._run(sql, params, write=True).lastrowid
        assert rowid is not None
        return int(rowid)


__all__ = ["QueueRepository", "SqliteSubmissions", "checked_changes", "create_tables"]
