"""Fixtures: throw-away registries in tmp_path, and the CLI run in-process.

A registry a test may change is always its own file: a session-wide template is built once
and copied for each test that asks for `registry_path` or `reg`.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from fixtures import KHARKIV, hazard, polygon, snapshot, table_counts
from landrelease.registry import Registry

__all__ = ["snapshot", "table_counts"]

ACTOR = "tester"


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


def _build_template(path: Path) -> dict[str, Any]:
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
def template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A small registry built once: 3 hazard areas, an event and an item. Never changed."""
    path = tmp_path_factory.mktemp("template") / "template.gpkg"
    refs = _build_template(path)
    return {"path": path, **refs}


@pytest.fixture
def registry_path(template: dict[str, Any], tmp_path: Path) -> Path:
    """A copy of the template registry that this test may change."""
    dest = tmp_path / "registry.gpkg"
    for suffix in ("", "-wal", "-shm"):
        src = Path(f"{template['path']}{suffix}")
        if src.exists():
            shutil.copyfile(src, f"{dest}{suffix}")
    return dest


@pytest.fixture
def refs(template: dict[str, Any]) -> dict[str, str]:
    """The refs of the template's hazard areas: kyiv (suspected), kharkiv (confirmed), forest."""
    return {k: template[k] for k in ("kyiv", "kharkiv", "forest")}


@pytest.fixture
def reg(registry_path: Path) -> Iterator[Registry]:
    """An open Registry on this test's own copy of the template."""
    with Registry.open(registry_path) as r:
        yield r


@pytest.fixture
def empty_reg(tmp_path: Path) -> Iterator[Registry]:
    """A new, empty registry of this test."""
    with Registry.open(tmp_path / "empty.gpkg", create=True) as r:
        yield r
