"""Users, browser sessions and status proposals in the registry file (SQLite backend).

Three tables beside the records, in the column types a GeoPackage allows (TEXT, INTEGER,
DATETIME), so that GDAL still validates the file:

- `landrelease_users`: one row per user, never deleted (the audit trail names them): name
  (unique, whatever its case), role, the token's id in clear (indexed: a request finds its
  row at once) and the argon2 hash of the whole token, who created and who revoked it;
- `landrelease_sessions`: browser sessions, by the SHA-256 of their random id (the id itself
  lives only in the browser's cookie), with the CSRF token of the session;
- `landrelease_status_proposals`: a status change an editor asked for and a validator
  decides; never deleted, and unchanged once decided.

They are internal tables, as `landrelease_settings` is: not registered in gpkg_contents, so
a GIS client lists no layer of users or sessions. Triggers refuse what only landrelease may
do (delete a user or a proposal, change a decided proposal), naming the command to use.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from landrelease.store.messages import (
    PROPOSAL_DECIDED,
    PROPOSALS_KEPT,
    USERS_KEPT,
    proposal_decided,
    proposal_not_found,
    user_name_taken,
    user_not_found,
)
from landrelease.store.side_tables import PROPOSAL_COLUMNS, SESSION_COLUMNS, USER_COLUMNS

if TYPE_CHECKING:
    from landrelease.store.sqlite_uow import SqliteUnitOfWork

Execute = Callable[..., object]

USERS_DDL = """CREATE TABLE landrelease_users (
  id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  name TEXT NOT NULL COLLATE NOCASE UNIQUE,
  role TEXT NOT NULL,
  token_id TEXT NOT NULL UNIQUE,
  token_hash TEXT NOT NULL,
  created_at DATETIME NOT NULL,
  created_by TEXT NOT NULL,
  revoked_at DATETIME,
  revoked_by TEXT
)"""

SESSIONS_DDL = """CREATE TABLE landrelease_sessions (
  id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  id_hash TEXT NOT NULL UNIQUE,
  user_name TEXT NOT NULL COLLATE NOCASE,
  csrf_token TEXT NOT NULL,
  created_at DATETIME NOT NULL,
  expires_at DATETIME NOT NULL,
  ended_at DATETIME
)"""

PROPOSALS_DDL = """CREATE TABLE landrelease_status_proposals (
  id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  ref TEXT NOT NULL,
  from_status TEXT NOT NULL,
  to_status TEXT NOT NULL,
  reason TEXT,
  expected_version INTEGER NOT NULL,
  proposed_by TEXT NOT NULL,
  proposed_at DATETIME NOT NULL,
  state TEXT NOT NULL DEFAULT 'pending',
  decided_by TEXT,
  decided_at DATETIME,
  decision_reason TEXT
)"""

GUARDS = (
    f"""CREATE TRIGGER landrelease_users_no_delete BEFORE DELETE ON landrelease_users
BEGIN SELECT RAISE(ABORT, '{USERS_KEPT}'); END""",
    f"""CREATE TRIGGER landrelease_status_proposals_no_delete BEFORE DELETE ON \
landrelease_status_proposals
BEGIN SELECT RAISE(ABORT, '{PROPOSALS_KEPT}'); END""",
    f"""CREATE TRIGGER landrelease_status_proposals_decided BEFORE UPDATE ON \
landrelease_status_proposals WHEN OLD.state IS NOT 'pending'
BEGIN SELECT RAISE(ABORT, '{PROPOSAL_DECIDED}'); END""",
)

INDEXES = (
    "CREATE INDEX ix_landrelease_sessions_user ON landrelease_sessions(user_name)",
    "CREATE INDEX ix_landrelease_status_proposals_state ON landrelease_status_proposals(state)",
    "CREATE INDEX ix_landrelease_status_proposals_ref ON landrelease_status_proposals(ref)",
)


def create_tables(execute: Execute) -> None:
    """Create the users, sessions and proposals tables, their indexes and guards."""
    for sql in (USERS_DDL, SESSIONS_DDL, PROPOSALS_DDL, *INDEXES, *GUARDS):
        execute(sql)


class SqliteUsers:
    """The users of the registry in `landrelease_users`."""

    def __init__(self, uow: SqliteUnitOfWork) -> None:
        self._uow = uow

    def add(
        self,
        *,
        name: str,
        role: str,
        token_id: str,
        token_hash: str,
        at: str,
        actor: str,
    ) -> None:
        """Add a user; a name taken already (in any case) is a ValidationError."""
        try:
            self._uow.sql(
                "INSERT INTO landrelease_users (name, role, token_id, token_hash, created_at, "
                "created_by) VALUES (?, ?, ?, ?, ?, ?)",
                (name, role, token_id, token_hash, at, actor),
                write=True,
            )
        except sqlite3.IntegrityError as exc:
            if "token_id" in str(exc):  # 72 random bits: a clash is a bug, not the user's
                raise
            raise user_name_taken(name) from None

    def get(self, name: str) -> dict[str, Any] | None:
        """Return a user (name, role, created_at/by, revoked_at/by) by name, any case."""
        row = self._uow.sql(
            f"SELECT {', '.join(USER_COLUMNS)} FROM landrelease_users WHERE name = ?", (name,)
        ).fetchone()
        return None if row is None else dict(zip(USER_COLUMNS, row, strict=True))

    def credentials(self, token_id: str) -> dict[str, Any] | None:
        """Return the user holding the token of `token_id`, with the token's hash; or None."""
        cols = (*USER_COLUMNS, "token_hash")
        row = self._uow.sql(
            f"SELECT {', '.join(cols)} FROM landrelease_users WHERE token_id = ?", (token_id,)
        ).fetchone()
        return None if row is None else dict(zip(cols, row, strict=True))

    def all(self) -> list[dict[str, Any]]:
        """Return every user, revoked ones too, in the order they were added (no token)."""
        rows = self._uow.sql(
            f"SELECT {', '.join(USER_COLUMNS)} FROM landrelease_users ORDER BY id"
        ).fetchall()
        return [dict(zip(USER_COLUMNS, r, strict=True)) for r in rows]

    def revoke(self, name: str, *, at: str, actor: str) -> None:
        """Revoke a user's token (the row stays); NotFound for an unknown name."""
        res = self._uow.sql(
            "UPDATE landrelease_users SET revoked_at = ?, revoked_by = ? "
            "WHERE name = ? AND revoked_at IS NULL",
            (at, actor, name),
            write=True,
        )
        if res.rowcount == 0 and self.get(name) is None:
            raise user_not_found(name)


class SqliteSessions:
    """Browser sessions in `landrelease_sessions`, found by the hash of their id."""

    def __init__(self, uow: SqliteUnitOfWork) -> None:
        self._uow = uow

    def add(
        self,
        *,
        id_hash: str,
        user_name: str,
        csrf_token: str,
        created_at: str,
        expires_at: str,
    ) -> None:
        """Add a session of `user_name`, valid until `expires_at`."""
        self._uow.sql(
            "INSERT INTO landrelease_sessions (id_hash, user_name, csrf_token, created_at, "
            "expires_at) VALUES (?, ?, ?, ?, ?)",
            (id_hash, user_name, csrf_token, created_at, expires_at),
            write=True,
        )

    def get(self, id_hash: str) -> dict[str, Any] | None:
        """Return a session (user_name, csrf_token, created_at, expires_at, ended_at); or None."""
        row = self._uow.sql(
            f"SELECT {', '.join(SESSION_COLUMNS)} FROM landrelease_sessions WHERE id_hash = ?",
            (id_hash,),
        ).fetchone()
        return None if row is None else dict(zip(SESSION_COLUMNS, row, strict=True))

    def end(self, id_hash: str, *, at: str) -> None:
        """End a session (a sign-out); an unknown or ended one is left as it is."""
        self._uow.sql(
            "UPDATE landrelease_sessions SET ended_at = ? WHERE id_hash = ? AND ended_at IS NULL",
            (at, id_hash),
            write=True,
        )

    def end_all(self, user_name: str, *, at: str) -> int:
        """End every open session of a user; return how many."""
        res = self._uow.sql(
            "UPDATE landrelease_sessions SET ended_at = ? WHERE user_name = ? AND ended_at IS NULL",
            (at, user_name),
            write=True,
        )
        return int(res.rowcount)

    def purge(self, *, before: str) -> int:
        """Delete the sessions that ended or expired before `before`; return how many."""
        res = self._uow.sql(
            "DELETE FROM landrelease_sessions WHERE ended_at < ? OR expires_at < ?",
            (before, before),
            write=True,
        )
        return int(res.rowcount)


class SqliteProposals:
    """Status proposals in `landrelease_status_proposals`."""

    def __init__(self, uow: SqliteUnitOfWork) -> None:
        self._uow = uow

    def add(
        self,
        *,
        ref: str,
        from_status: str,
        to_status: str,
        reason: str | None,
        expected_version: int,
        proposed_by: str,
        proposed_at: str,
    ) -> int:
        """Record a pending proposal; return its id."""
        cur = self._uow.sql(
            "INSERT INTO landrelease_status_proposals (ref, from_status, to_status, reason, "
            "expected_version, proposed_by, proposed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (ref, from_status, to_status, reason, expected_version, proposed_by, proposed_at),
            write=True,
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def get(self, proposal_id: int) -> dict[str, Any]:
        """Return one proposal; NotFound if there is none with this id."""
        row = self._uow.sql(
            f"SELECT {', '.join(PROPOSAL_COLUMNS)} FROM landrelease_status_proposals WHERE id = ?",
            (proposal_id,),
        ).fetchone()
        if row is None:
            raise proposal_not_found(proposal_id)
        return dict(zip(PROPOSAL_COLUMNS, row, strict=True))

    def select(self, state: str | None = None) -> list[dict[str, Any]]:
        """Return the proposals in `state` (None: all), the oldest first."""
        sql = f"SELECT {', '.join(PROPOSAL_COLUMNS)} FROM landrelease_status_proposals"
        params: tuple[Any, ...] = ()
        if state is not None:
            sql += " WHERE state = ?"
            params = (state,)
        rows = self._uow.sql(sql + " ORDER BY id", params).fetchall()
        return [dict(zip(PROPOSAL_COLUMNS, r, strict=True)) for r in rows]

    def decide(self, proposal_id: int, *, state: str, by: str, at: str, reason: str | None) -> None:
        """Mark a pending proposal approved or rejected; ConflictError if it is decided."""
        res = self._uow.sql(
            "UPDATE landrelease_status_proposals SET state = ?, decided_by = ?, decided_at = ?, "
            "decision_reason = ? WHERE id = ? AND state = 'pending'",
            (state, by, at, reason, proposal_id),
            write=True,
        )
        if res.rowcount == 0:
            raise proposal_decided(proposal_id, self.get(proposal_id))  # or NotFound


__all__ = [
    "SqliteProposals",
    "SqliteSessions",
    "SqliteUsers",
    "create_tables",
]
