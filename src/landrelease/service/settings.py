"""The service's settings: from `landrelease serve` flags or `LANDRELEASE_*` environment."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """What a server needs to know; each is also read from env `LANDRELEASE_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="LANDRELEASE_", extra="ignore")

    db: str = Field("landrelease.gpkg", description="registry file or database URL")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    workers: int = Field(1, ge=1, le=64)
    public_grid_m: float = Field(
        1000.0, gt=0, description="cell size of the public view's generalised areas, metres"
    )
    session_hours: float = Field(12.0, gt=0, description="how long a browser login lasts")
    login_attempts: int = Field(
        5, ge=1, description="failed logins allowed per user and per address in a window"
    )
    login_window_s: float = Field(900.0, gt=0, description="the window of login_attempts")
    page_limit: int = Field(10, ge=1, description="OGC API items per page when none is asked")
    max_limit: int = Field(10_000, ge=1, description="the most items one page may hold")
    feature_cache_mb: float = Field(
        300.0, ge=0, description="memory per worker for encoded OGC API features, megabytes"
    )
    max_upload_mb: float = Field(
        200.0, gt=0, description="the largest file an import may upload, megabytes (413 beyond)"
    )
    log_requests: bool = True
