"""Writers racing each other on one registry file: the database itself keeps it consistent.

Each test here failed before its fix: two imports of one polygon both landed; a long import
held the write lock while it checked geometries, so another writer failed after 10 s.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from backends import is_database
from conftest import NewRegistry
from fixtures import hazard, polygon, query, write_geojson
from landrelease.domain.errors import RegistryBusy, ValidationError
from landrelease.importing import Importer
from landrelease.registry import Registry

EXE = str(Path(sys.executable).with_name("landrelease"))
ACTOR = "tester"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANDRELEASE_")}
    env.update(LANDRELEASE_ACTOR=ACTOR, **extra)
    return env


def _stored_with_geometry(path: Path | str, geometry_wkb: bytes) -> int:
    import shapely

    from landrelease.store import geopackage as gpkg

    if is_database(path):
        stored = shapely.from_wkb(
            [g for (g,) in query(path, "SELECT ST_AsBinary(geom) FROM hazard_areas")]
        )
    else:
        stored = gpkg.decode([g for (g,) in query(path, "SELECT geom FROM hazard_areas")])
    target = shapely.from_wkb(geometry_wkb)
    return sum(
        bool(shapely.equals(g.geoms[0] if g.geom_type == "MultiPolygon" else g, target))
        for g in stored
    )


def test_a_duplicate_stored_between_the_check_and_the_write_is_refused(
    registry_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Import A checks its batch; before it writes, import B of the same polygon lands.
    shape = polygon(77)
    other = Registry.open(registry_path)
    landed: list[str] = []
    original = Importer._write

    def write_after_a_rival(self: Importer, *args: Any, **kwargs: Any) -> None:
        if not landed:
            landed.append("racing")
            landed[:] = other.add_records("hazards", [hazard(77, name="B")], actor="b")
        original(self, *args, **kwargs)

    monkeypatch.setattr(Importer, "_write", write_after_a_rival)
    with Registry.open(registry_path) as reg:
        before = reg.summary()["hazards"]
        with pytest.raises(ValidationError) as info:
            reg.add_records("hazards", [hazard(77, name="A")], actor="a")
        assert info.value.field == "geometry"
        assert landed and landed[0] in str(info.value)
        assert "probable duplicate" in str(info.value)
        assert reg.summary()["hazards"] == before + 1  # B only
    other.close()
    assert _stored_with_geometry(registry_path, shape.wkb) == 1


@pytest.mark.sqlite_only(reason="the file's unique index, through sqlite3")
def test_the_file_itself_refuses_a_second_current_area_of_one_shape(registry_path: Path) -> None:
    # Whatever program writes the file, the unique geometry key holds.
    from landrelease.store import geopackage as gpkg

    conn = sqlite3.connect(registry_path)
    gpkg.register_functions(conn)  # the GeoPackage functions GDAL and QGIS provide
    try:
        key = conn.execute("SELECT geom_key FROM hazard_areas LIMIT 1").fetchone()[0]
        with pytest.raises(sqlite3.IntegrityError, match="geom_key"):
            conn.execute("UPDATE hazard_areas SET geom_key = ? WHERE fid = 2", (key,))
    finally:
        conn.close()


def test_an_edit_to_another_areas_shape_is_refused_naming_it(
    reg: Registry, refs: dict[str, str]
) -> None:
    other = reg.hazard(refs["kharkiv"]).geometry
    with pytest.raises(ValidationError) as info:
        reg.update_record("hazards", refs["kyiv"], {"geometry": other}, actor=ACTOR)
    assert refs["kharkiv"] in str(info.value) and info.value.field == "geometry"
    assert reg.hazard(refs["kyiv"]).version == 1


def test_two_processes_importing_one_polygon_store_it_once(
    tmp_path: Path, new_registry: NewRegistry
) -> None:
    db = new_registry("race")
    subprocess.run([EXE, "init", "--db", str(db)], check=True, env=_env(), capture_output=True)
    for trial in range(3):
        files = [
            write_geojson(tmp_path / f"t{trial}-{who}.geojson", [hazard(100 + trial, name=who)])
            for who in ("first", "second")
        ]
        procs = [
            subprocess.Popen(
                [EXE, "import", str(f), "--db", str(db), "--json"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=_env(),
            )
            for f in files
        ]
        results = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in procs]  # type: ignore[union-attr]
        codes = sorted(r[0] for r in results)
        assert codes == [0, 2], results
        (ok,) = [r for r in results if r[0] == 0]
        (refused,) = [r for r in results if r[0] == 2]
        stored_ref = json.loads(ok[1])["refs"][0]
        assert stored_ref in refused[2] and "probable duplicate" in refused[2]
        assert len(refused[2].strip().splitlines()) == 1
        assert _stored_with_geometry(db, polygon(100 + trial).wkb) == 1


def _huge_polygon(vertices: int) -> Any:
    import numpy as np
    import shapely

    t = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
    r = 0.01 * (1 + 0.2 * np.sin(7 * t))
    return shapely.Polygon(np.column_stack([30.5 + r * np.cos(t), 50.45 + r * np.sin(t)]))


def test_the_write_lock_is_not_held_while_geometries_are_checked(
    registry_path: Path, refs: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # While an import's shape checks run, another writer's change goes through at once.
    import landrelease.importing as importing

    done: list[str] = []
    real = importing.check_geometries

    monkeypatch.setenv("LANDRELEASE_BUSY_TIMEOUT_MS", "0")  # a lock held now fails at once

    def slow_checks(*args: Any, **kwargs: Any) -> Any:
        time.sleep(1.0)  # checks that take a while: the import's other work is done by now
        with Registry.open(registry_path) as other:
            other.update_record(
                "hazards", refs["forest"], {"notes": "edited meanwhile"}, actor="other"
            )
            done.append("edited")
        return real(*args, **kwargs)

    monkeypatch.setattr(importing, "check_geometries", slow_checks)
    with Registry.open(registry_path) as reg:
        reg.add_records("hazards", [hazard(50)], actor=ACTOR)
        assert done == ["edited"]
        assert reg.hazard(refs["forest"]).notes == "edited meanwhile"


def test_a_writer_finding_the_registry_busy_gets_one_line_naming_the_import(
    registry_path: Path, refs: dict[str, str], tmp_path: Path
) -> None:
    # Hold the write lock as an import does, with its note, and let a CLI writer time out.
    import landrelease.store.sqlite as sqlite_store

    with Registry.open(registry_path) as reg:
        with reg.store.unit_of_work(write=True, note="an import of big.geojson by alice"):
            run = subprocess.run(
                [
                    EXE,
                    "hazards",
                    "set-status",
                    refs["kyiv"],
                    "confirmed",
                    "--db",
                    str(registry_path),
                    "--reason",
                    "AP mine seen",
                ],
                capture_output=True,
                text=True,
                env=_env(LANDRELEASE_BUSY_TIMEOUT_MS="300"),
                timeout=120,
            )
            # readers keep working meanwhile
            listed = subprocess.run(
                [EXE, "hazards", "list", "--db", str(registry_path), "--json"],
                capture_output=True,
                text=True,
                env=_env(),
                timeout=120,
            )
    assert run.returncode == 2, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert "busy" in run.stderr and "an import of big.geojson by alice" in run.stderr
    assert "try again" in run.stderr
    assert listed.returncode == 0 and len(json.loads(listed.stdout)) == 3
    assert not Path(f"{registry_path}-writer").exists()
    assert sqlite_store.busy_timeout_ms() == sqlite_store.BUSY_TIMEOUT_MS == 10_000


@pytest.mark.sqlite_only(reason="SQLite's write lock held by another program")
def test_busy_without_a_note_says_another_program_writes(
    registry_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANDRELEASE_BUSY_TIMEOUT_MS", "200")
    holder = sqlite3.connect(registry_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # as QGIS would while saving edits
    try:
        with Registry.open(registry_path) as reg:
            t0 = time.monotonic()
            with pytest.raises(RegistryBusy, match="another program"):
                with reg.store.unit_of_work(write=True):
                    pass
            assert time.monotonic() - t0 < 5
    finally:
        holder.execute("ROLLBACK")
        holder.close()
