"""The Alembic migrations of the registry's schema, which every backend runs.

One chain of migrations (`store/migrations/`) makes and upgrades a registry file and a
PostGIS database alike; each step runs the SQL of the backend it is given. The store hands
Alembic its own connection, so a migration runs inside the store's transaction.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from landrelease.domain.records import KINDS, RecordKind

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Connection as SAConnection

MIGRATIONS = Path(__file__).with_name("migrations")
SCHEMA_HEAD = "0008"  # the newest migration; a test checks it against the migrations folder

# The migration that made each record kind's tables, where it was not the first one: a step
# makes what it made when it was written, whatever kinds the domain has today.
KIND_ADDED_IN = {"eore": "0008"}


def kinds_at(step: str) -> tuple[RecordKind, ...]:
    """Return the record kinds whose tables a registry has once migration `step` has run."""
    return tuple(k for k in KINDS.values() if KIND_ADDED_IN.get(k.name, "0001") <= step)


def alembic_config(conn: SAConnection) -> Config:
    """Return the Alembic configuration that runs the migrations on `conn`."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


__all__ = ["KIND_ADDED_IN", "MIGRATIONS", "SCHEMA_HEAD", "alembic_config", "kinds_at"]
