"""The Alembic migrations of the registry's schema, which every backend runs.

One chain of migrations (`store/migrations/`) makes and upgrades a registry file and a
PostGIS database alike; each step runs the SQL of the backend it is given. The store hands
Alembic its own connection, so a migration runs inside the store's transaction.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Connection as SAConnection

MIGRATIONS = Path(__file__).with_name("migrations")
SCHEMA_HEAD = "0006"  # the newest migration; a test checks it against the migrations folder


def alembic_config(conn: SAConnection) -> Config:
    """Return the Alembic configuration that runs the migrations on `conn`."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


__all__ = ["MIGRATIONS", "SCHEMA_HEAD", "alembic_config"]
