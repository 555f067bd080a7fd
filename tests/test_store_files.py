"""The registry file and its surroundings: bad paths, read-only files, folders and media,
journal modes left by a killed write, and what the encoder refuses to store.

Each CLI case here exited 1 with SQL text before its fix; now each is exit 2 with one line
naming the path and what to do, and the file is left exactly as it was.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import shapely

from fixtures import KYIV, hazard, polygon, snapshot, write_geojson
from landrelease.registry import Registry
from landrelease.store import geopackage as gpkg
from landrelease.store.sqlite import SCHEMA_HEAD

pytestmark = pytest.mark.sqlite_only(
    reason="the registry file and its folder: paths, permissions, journal modes"
)

EXE = str(Path(sys.executable).with_name("landrelease"))


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANDRELEASE_")}
    env.update(LANDRELEASE_ACTOR="tester", **extra)
    return env


def _cli(args: Sequence[object], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXE, *map(str, args)], capture_output=True, text=True, env=_env(**env), timeout=300
    )


def _read_only(target: Path, args: Sequence[object]) -> subprocess.CompletedProcess[str]:
    """Run the CLI with `target` (a folder or a file) read-only, as a mount or chmod makes it.

    As root, file modes do not stop a write, so `target` is bind-mounted read-only in a
    mount namespace of the command alone (what a read-only USB stick or share looks like).
    """
    cmd = [EXE, *map(str, args)]
    if os.geteuid() == 0:
        t = shlex.quote(str(target))
        script = f'mount --bind {t} {t} && mount -o remount,bind,ro {t} && exec "$@"'
        return subprocess.run(
            ["unshare", "-m", "sh", "-c", script, "sh", *cmd],
            capture_output=True,
            text=True,
            env=_env(),
            timeout=300,
        )
    modes = {p: p.stat().st_mode for p in [target, *(target.iterdir() if target.is_dir() else [])]}
    try:
        for p in modes:
            p.chmod(0o555 if p.is_dir() else 0o444)
        return subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=300)
    finally:
        for p, mode in modes.items():
            p.chmod(mode)


def _one_line_error(run: subprocess.CompletedProcess[str], *words: str) -> None:
    assert run.returncode == 2, (run.returncode, run.stderr)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), run.stderr
    assert "[SQL" not in run.stderr and "sqlite3" not in run.stderr.lower()
    for w in words:
        assert w in run.stderr, (w, run.stderr)


def _checkpointed(path: Path) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


# -- bad paths -----------------------------------------------------------------------------


def test_db_naming_a_folder_is_exit_2(tmp_path: Path) -> None:
    for args in (["hazards", "list"], ["init"], ["import", "x.geojson"]):
        run = _cli([*args, "--db", tmp_path])
        _one_line_error(run, str(tmp_path), "folder")


def test_init_in_a_missing_folder_is_exit_2(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "dir" / "x.gpkg"
    run = _cli(["init", "--db", target])
    _one_line_error(run, str(target.parent), "does not exist")
    assert not (tmp_path / "missing").exists()


def test_a_file_that_is_not_a_registry_is_exit_2(tmp_path: Path) -> None:
    plain = tmp_path / "plain.gpkg"
    conn = sqlite3.connect(plain)
    conn.execute("CREATE TABLE t (a)")
    conn.close()
    _one_line_error(_cli(["hazards", "list", "--db", plain]), "an SQLite database but not")
    text = tmp_path / "notes.gpkg"
    text.write_text("hello", encoding="utf-8")
    _one_line_error(_cli(["hazards", "list", "--db", text]), "not a GeoPackage/SQLite file")


def test_a_damaged_registry_is_exit_2(registry_path: Path, tmp_path: Path) -> None:
    _checkpointed(registry_path)
    data = registry_path.read_bytes()
    for share in (0.3, 0.7):
        cut = tmp_path / f"cut{share}.gpkg"
        cut.write_bytes(data[: int(len(data) * share)])
        run = _cli(["hazards", "list", "--db", cut, "--json"])
        _one_line_error(run, str(cut), "damaged or cut short")


# -- read-only registries ------------------------------------------------------------------


@pytest.fixture
def folder(registry_path: Path, tmp_path: Path) -> Path:
    """A folder holding only a copy of the template registry (checkpointed: no -wal)."""
    _checkpointed(registry_path)
    dest = tmp_path / "handed-over"
    dest.mkdir()
    shutil.copyfile(registry_path, dest / "registry.gpkg")
    return dest


@pytest.mark.parametrize("what", ["folder", "file"])
def test_a_read_only_registry_can_be_read_but_not_written(
    folder: Path, refs: dict[str, str], tmp_path: Path, what: str
) -> None:
    db = folder / "registry.gpkg"
    target = folder if what == "folder" else db
    before = snapshot(db)
    listed = _read_only(target, ["hazards", "list", "--db", db, "--json"])
    assert listed.returncode == 0, listed.stderr
    assert sorted(r["ref"] for r in __import__("json").loads(listed.stdout)) == sorted(
        refs.values()
    )
    for args in (["hazards", "show", refs["kyiv"]], ["history", refs["kyiv"]]):
        run = _read_only(target, [*args, "--db", db])
        assert run.returncode == 0, run.stderr
        assert refs["kyiv"] in run.stdout
    new = write_geojson(tmp_path / "new.geojson", [hazard(40)])
    for args in (
        ["hazards", "set-status", refs["kyiv"], "confirmed", "--reason", "AP mine seen"],
        ["import", new],
    ):
        run = _read_only(target, [*args, "--db", db])
        _one_line_error(run, str(db), "read-only")
    assert snapshot(db) == before
    assert sorted(p.name for p in folder.iterdir()) == ["registry.gpkg"]


def test_a_read_only_folder_with_an_unmerged_wal_still_reads(
    registry_path: Path, refs: dict[str, str], tmp_path: Path
) -> None:
    dest = tmp_path / "copy"
    dest.mkdir()
    for suffix in ("", "-wal", "-shm"):
        src = Path(f"{registry_path}{suffix}")
        if src.exists():
            shutil.copyfile(src, dest / f"registry.gpkg{suffix}")
    run = _read_only(dest, ["hazards", "list", "--db", dest / "registry.gpkg", "--json"])
    assert run.returncode == 0, run.stderr


def test_init_in_a_read_only_folder_is_exit_2(folder: Path) -> None:
    run = _read_only(folder, ["init", "--db", folder / "new.gpkg"])
    _one_line_error(run, str(folder), "cannot be written")


# -- journal mode --------------------------------------------------------------------------

_KILL_AT = {
    # after the switch to a rollback journal, before any row is written
    "switched": "landrelease.store.sqlite._set_journal",
    # in the middle of the bulk write (rows in, R-tree being packed)
    "writing": "landrelease.store.geopackage.bulk_load_rtree",
    # after the commit, before the switch back to WAL
    "committed": "landrelease.store.sqlite._set_journal",
}


def _import_killed_at(phase: str, db: Path, source: Path) -> int:
    """Run an import of `source` in a child that SIGKILLs itself at `phase`; return its code."""
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        import landrelease.importing as importing
        import landrelease.store.sqlite as sqlite_store
        import landrelease.store.geopackage as gpkg
        from landrelease.registry import Registry

        importing.BULK_ROWS = 10  # the bulk journal for a small batch
        phase = {phase!r}
        real_journal, real_rtree = sqlite_store._set_journal, gpkg.bulk_load_rtree

        def journal(raw, mode, *, wait):
            if phase == "committed" and mode == "wal":
                os.kill(os.getpid(), signal.SIGKILL)
            took = real_journal(raw, mode, wait=wait)
            if phase == "switched" and mode == "delete":
                assert took, "the bulk journal was not taken"
                os.kill(os.getpid(), signal.SIGKILL)
            return took

        def rtree(*args, **kwargs):
            real_rtree(*args, **kwargs)
            if phase == "writing":
                os.kill(os.getpid(), signal.SIGKILL)

        sqlite_store._set_journal = journal
        gpkg.bulk_load_rtree = rtree
        with Registry.open({str(db)!r}) as reg:
            reg.import_file({str(source)!r}, actor="killed")
        sys.exit(3)  # not killed: the phase was never reached
        """
    )
    return subprocess.run(
        [sys.executable, "-c", script], env=_env(), capture_output=True, timeout=300
    ).returncode


def _journal_mode(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return str(conn.execute("PRAGMA journal_mode").fetchone()[0])
    finally:
        conn.close()


@pytest.mark.parametrize("phase", list(_KILL_AT))
def test_a_write_killed_in_the_bulk_journal_leaves_wal_after_the_next_command(
    registry_path: Path, tmp_path: Path, phase: str
) -> None:
    source = write_geojson(tmp_path / "batch.geojson", [hazard(300 + i) for i in range(60)])
    with Registry.open(registry_path) as reg:
        before = reg.summary()["hazards"]
    assert _import_killed_at(phase, registry_path, source) == -9
    # the next command, a read, finds the registry whole and puts it back in WAL mode
    run = _cli(["hazards", "list", "--db", registry_path, "--json"])
    assert run.returncode == 0, run.stderr
    assert _journal_mode(registry_path) == "wal"
    n = len(__import__("json").loads(run.stdout))
    assert n == (before + 60 if phase == "committed" else before)
    conn = sqlite3.connect(registry_path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()


# -- what the encoder stores ---------------------------------------------------------------


def test_the_encoder_refuses_what_its_layer_does_not_declare() -> None:
    flat = polygon(0)
    high = shapely.force_3d(flat, 120.0)
    with pytest.raises(ValueError, match="Polygon Z"):
        gpkg.encode(np.array([flat, high], dtype=object), multi=True, layer_type="MULTIPOLYGON")
    with pytest.raises(ValueError, match="Point"):
        gpkg.encode(np.array([shapely.Point(*KYIV)]), multi=True, layer_type="MULTIPOLYGON")
    with pytest.raises(ValueError, match="Polygon"):
        gpkg.encode(np.array([flat]), layer_type="POINT")
    with pytest.raises(ValueError, match="Point Z"):
        gpkg.encode(np.array([shapely.Point(*KYIV, 100.0)]))
    blob = gpkg.encode(np.array([flat]), multi=True, layer_type="MULTIPOLYGON")[0]
    assert blob is not None and not shapely.has_z(shapely.from_wkb(gpkg.wkb_of(blob)))


def test_a_polygon_z_is_stored_as_iso_2d_wkb(registry_path: Path, tmp_path: Path) -> None:
    high = shapely.force_3d(polygon(41), 150.0)
    source = write_geojson(tmp_path / "z.geojson", [hazard(41, geometry=high)])
    run = _cli(["import", source, "--db", registry_path, "--json"])
    assert run.returncode == 0, run.stderr
    assert "Z" in run.stdout or "height" in run.stdout  # the warning says Z was dropped
    conn = sqlite3.connect(registry_path)
    try:
        blob = conn.execute("SELECT geom FROM hazard_areas ORDER BY fid DESC LIMIT 1").fetchone()[0]
    finally:
        conn.close()
    wkb = gpkg.wkb_of(blob)
    assert wkb[:5] == b"\x01\x06\x00\x00\x00"  # ISO WKB MultiPolygon, 2D, little-endian
    assert wkb[9:14] == b"\x01\x03\x00\x00\x00"  # its part: a 2D Polygon
    assert shapely.equals(shapely.from_wkb(wkb).geoms[0], polygon(41))


def test_the_schema_head_is_the_newest_migration() -> None:
    from alembic.script import ScriptDirectory

    from landrelease.store.sqlite import MIGRATIONS

    assert ScriptDirectory(str(MIGRATIONS)).get_current_head() == SCHEMA_HEAD
