"""Fixtures: throw-away registries, and the CLI run in-process.

A registry a test may change is always its own: a session-wide template is built once and
copied for each test that asks for `registry_path` or `reg`. `--backend` chooses where
registries live: GeoPackage files in tmp_path (`sqlite`, the default) or databases on the
cluster named by LANDRELEASE_TEST_PG (`postgis`; see tests/backends.py). On PostGIS a
registry's location is its URL (a str), which `Registry.open`, `open_store`, `--db`,
`snapshot` and `table_counts` take as they take a path; a test about the file itself is
marked `sqlite_only(reason=...)` and skipped there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

import backends
from fixtures import KHARKIV, hazard, polygon, snapshot, table_counts
from landrelease.registry import Registry

__all__ = ["snapshot", "table_counts"]

ACTOR = "tester"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        choices=("sqlite", "postgis"),
        default="sqlite",
        help="where the tests' registries live: GeoPackage files (sqlite, the default) or "
        f"databases on the PostgreSQL cluster of {backends.PG_ENV} (postgis)",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("backend") == "postgis" and backends.pg_admin_url() is None:
        raise pytest.UsageError(
            f"--backend postgis needs {backends.PG_ENV}, the URL of a PostgreSQL cluster with "
            "PostGIS that tests may use as they like, e.g. from `scripts/pg-throwaway start DIR` "
            "(or run `make test-postgis`)"
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the tests about the GeoPackage file itself when the backend is PostGIS."""
    if config.getoption("backend") != "postgis":
        return
    for item in items:
        marker = item.get_closest_marker("sqlite_only")
        if marker is not None:
            reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
            item.add_marker(pytest.mark.skip(reason=f"sqlite_only: {reason}"))


@pytest.fixture(scope="session")
def backend(pytestconfig: pytest.Config) -> str:
    """The backend of this run's registries: "sqlite" or "postgis"."""
    return str(pytestconfig.getoption("backend"))


Location = Path | str  # of a registry: a GeoPackage file, or a database URL
NewRegistry = Callable[..., str]


@pytest.fixture
def new_registry(backend: str, tmp_path: Path) -> NewRegistry:
    """Return new_registry(name="registry"): where this test may make a new registry.

    The path of `<name>.gpkg` in tmp_path, or on PostGIS the URL of a new database without a
    registry (dropped when the run ends); open it with `create=True`.
    """

    def make(name: str = "registry") -> str:
        return backends.new_registry_url(tmp_path, backend, name)

    return make


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests must not depend on the caller's environment."""
    monkeypatch.delenv("LANDRELEASE_DB", raising=False)
    monkeypatch.delenv("LANDRELEASE_DEBUG", raising=False)
    monkeypatch.delenv("LANDRELEASE_FUTURE_DATE_TOLERANCE_DAYS", raising=False)
    monkeypatch.delenv("LANDRELEASE_BUSY_TIMEOUT_MS", raising=False)
    monkeypatch.setenv("LANDRELEASE_ACTOR", ACTOR)


RunCli = Callable[[Sequence[str]], tuple[int, str, str]]


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> RunCli:
    """Return run(args) -> (exit code, stdout, stderr), calling `landrelease.cli.main`."""
    from landrelease.cli import main

    def run(args: Sequence[str]) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        else:  # pragma: no cover - main always exits
            code = 0
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _build_template(path: Location) -> dict[str, Any]:
    with Registry.open(path, create=True) as reg:
        a, b, c = reg.add_records(
            "hazards",
            [
                hazard(0, name="Kyiv field"),
                hazard(
                    1,
                    name="Kharkiv orchard",
                    status="confirmed",
                    evidence="AP mine seen by a farmer",
                    geometry=polygon(1, KHARKIV),
                ),
                hazard(2, name="Kyiv forest", land_use="forest"),
            ],
            actor=ACTOR,
            reason="template",
        )
        # refs come back in storage order; find them by name
        refs = {reg.hazard(r).name: r for r in (a, b, c)}
        kyiv, kharkiv = refs["Kyiv field"], refs["Kharkiv orchard"]
        reg.add_records(
            "events",
            [
                {
                    "area_ref": kyiv,
                    "profile_id": "persistent-ap-mine",
                    "quantity_best": 10,
                    "emplaced_on": "2022-03-01",
                }
            ],
            actor=ACTOR,
        )
        reg.add_records(
            "items",
            [
                {
                    "area_ref": kharkiv,
                    "category": "ap_mine",
                    "state": "destroyed",
                    "found_on": "2024-04-01",
                    "geometry": polygon(1, KHARKIV).centroid,
                }
            ],
            actor=ACTOR,
        )
    return {"kyiv": kyiv, "kharkiv": kharkiv, "forest": refs["Kyiv forest"]}


@pytest.fixture(scope="session")
def template(backend: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A small registry built once: 3 hazard areas, an event and an item. Never changed.

    "path" is where it is: a file, or a database URL on PostGIS.
    """
    path: Location
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.gpkg"
    else:
        path = backends.new_database("template")
    refs = _build_template(path)
    return {"path": path, **refs}


@pytest.fixture
def registry_path(template: dict[str, Any], tmp_path: Path) -> Location:
    """A copy of the template registry that this test may change (a path, or a URL)."""
    return backends.copy_registry(template["path"], tmp_path / "registry.gpkg")


@pytest.fixture
def refs(template: dict[str, Any]) -> dict[str, str]:
    """The refs of the template's hazard areas: kyiv (suspected), kharkiv (confirmed), forest."""
    return {k: template[k] for k in ("kyiv", "kharkiv", "forest")}


@pytest.fixture
def reg(registry_path: Location) -> Iterator[Registry]:
    """An open Registry on this test's own copy of the template."""
    with Registry.open(registry_path) as r:
        yield r


@pytest.fixture
def empty_path(new_registry: NewRegistry) -> str:
    """Where `empty_reg` is: a file path, or a database URL."""
    return new_registry("empty")


@pytest.fixture
def empty_reg(empty_path: str) -> Iterator[Registry]:
    """A new, empty registry of this test (at `empty_path`)."""
    with Registry.open(empty_path, create=True) as r:
        yield r
