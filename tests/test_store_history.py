"""History kept by the database: edits made outside landrelease are versioned and checked.

QGIS and GDAL write the registry file with their own SQLite; here a plain sqlite3 connection
(with the GeoPackage functions GDAL registers) and Debian's `ogrinfo -sql` play that part.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest
import shapely
import shapely.affinity

from fixtures import polygon
from landrelease.registry import Registry
from landrelease.store import geopackage as gpkg

pytestmark = pytest.mark.sqlite_only(
    reason="edits the file with sqlite3 and ogrinfo (PostGIS: test_store_postgis.py)"
)

OGRINFO = shutil.which("ogrinfo")
FIXTURE = Path(__file__).parent / "data" / "registry-0002.gpkg"


def _qgis(path: Path) -> sqlite3.Connection:
    """Return a connection that writes as QGIS does: its own SQLite, GDAL's functions."""
    conn = sqlite3.connect(path, isolation_level=None)
    gpkg.register_functions(conn)
    return conn


def _row(path: Path, ref: str, cols: str = "version, changed_by, needs_check") -> tuple:
    conn = sqlite3.connect(path)
    try:
        for t in ("hazard_areas", "contamination_events", "activities", "items", "accidents"):
            row = conn.execute(f"SELECT {cols} FROM {t} WHERE ref = ?", (ref,)).fetchone()
            if row is not None:
                return tuple(row)
    finally:
        conn.close()
    raise AssertionError(f"no {ref}")


def _blob(g: Any) -> bytes:
    blob = gpkg.encode([g], multi=True, layer_type="MULTIPOLYGON")[0]
    assert blob is not None
    return blob


def test_an_attribute_edit_outside_makes_an_external_version(
    registry_path: Path, refs: dict[str, str]
) -> None:
    area = refs["kyiv"]
    with _qgis(registry_path) as conn:
        conn.execute("UPDATE hazard_areas SET name = 'renamed in QGIS' WHERE ref = ?", (area,))
    assert _row(registry_path, area) == (2, "external", 1)
    with Registry.open(registry_path) as reg:
        history = reg.history(area)
        assert [h["version"] for h in history] == [1, 2]
        assert history[1]["actor"] == "external" and history[1]["action"] == "external"
        assert history[1]["changes"] == {"name": ["Kyiv field", "renamed in QGIS"]}
        # the next landrelease write records only its own change
        reg.update_record("hazards", area, {"notes": "fenced"}, actor="officer")
        last = reg.history(area)[-1]
    assert last["actor"] == "officer" and last["changes"] == {"notes": [None, "fenced"]}


def test_a_geometry_moved_outside_is_versioned_and_indexed(
    registry_path: Path, refs: dict[str, str]
) -> None:
    area = refs["forest"]
    moved = polygon(88)
    with _qgis(registry_path) as conn:
        conn.execute("UPDATE hazard_areas SET geom = ? WHERE ref = ?", (_blob(moved), area))
        assert conn.execute("SELECT rtreecheck('rtree_hazard_areas_geom')").fetchone()[0] == "ok"
        assert (
            conn.execute("SELECT rtreecheck('rtree_hazard_areas_history_geom')").fetchone()[0]
            == "ok"
        )
    assert _row(registry_path, area) == (2, "external", 1)
    with Registry.open(registry_path) as reg:
        assert reg.hazard(area).geometry.geoms[0].equals(moved)
        assert "geometry" in reg.history(area)[1]["changes"]
        found = reg.hazards(bbox=moved.bounds)
        assert area in set(found["ref"])


def test_writing_the_same_values_makes_no_version(
    registry_path: Path, refs: dict[str, str]
) -> None:
    # GDAL writes every column of a feature it saves, changed or not.
    area = refs["kyiv"]
    with _qgis(registry_path) as conn:
        conn.execute(
            "UPDATE hazard_areas SET name = name, status = status, geom = geom WHERE ref = ?",
            (area,),
        )
    assert _row(registry_path, area) == (1, "tester", 0)


@pytest.mark.parametrize(
    "sql, words",
    [
        ("UPDATE hazard_areas SET status = 'released' WHERE ref = ?", "hazards set-status"),
        ("DELETE FROM hazard_areas WHERE ref = ?", "never deleted"),
        ("UPDATE hazard_areas SET status = 'bogus' WHERE ref = ?", "status must be one of"),
        ("UPDATE hazard_areas SET land_use = 'moon' WHERE ref = ?", "land_use must be one of"),
    ],
    ids=["status", "delete", "bad-status", "bad-land-use"],
)
def test_what_only_landrelease_may_do_is_refused_outside(
    registry_path: Path, refs: dict[str, str], sql: str, words: str
) -> None:
    from fixtures import snapshot

    before = snapshot(registry_path)
    with _qgis(registry_path) as conn, pytest.raises(sqlite3.DatabaseError, match=words):
        conn.execute(sql, (refs["kharkiv"],))
    assert snapshot(registry_path) == before


def test_an_area_drawn_outside_gets_its_ref_and_is_flagged(registry_path: Path) -> None:
    with _qgis(registry_path) as conn:
        conn.execute(
            "INSERT INTO hazard_areas (geom, name, evidence) VALUES (?, 'drawn in QGIS', 'seen')",
            (_blob(polygon(89)),),
        )
        ref, status, version, by, flag = conn.execute(
            "SELECT ref, status, version, changed_by, needs_check FROM hazard_areas "
            "WHERE name = 'drawn in QGIS'"
        ).fetchone()
    year = dt.date.today().year
    assert ref == f"UA-{year}-00001" or ref.startswith(f"UA-{year}-")
    assert (status, version, by, flag) == ("suspected", 1, "external", 1)
    with Registry.open(registry_path) as reg:
        # landrelease's next ref of the year follows it
        [mine] = reg.add_records(
            "hazards",
            [{"name": "imported", "evidence": "x", "geometry": polygon(90)}],
            actor="t",
        )
        assert mine != ref and mine.startswith(f"UA-{year}-")
        assert reg.history(ref)[0]["actor"] == "external"


def test_the_check_flag_is_not_cleared_outside(registry_path: Path, refs: dict[str, str]) -> None:
    area = refs["kyiv"]
    with _qgis(registry_path) as conn:
        conn.execute("UPDATE hazard_areas SET notes = 'x' WHERE ref = ?", (area,))
        conn.execute("UPDATE hazard_areas SET needs_check = 0 WHERE ref = ?", (area,))
    assert _row(registry_path, area) == (2, "external", 1)


@pytest.mark.skipif(OGRINFO is None, reason="needs Debian's gdal-bin (installed by .ci/run)")
def test_ogrinfo_edits_are_versioned_and_refusals_leave_the_file_as_it_was(
    registry_path: Path, refs: dict[str, str]
) -> None:
    assert OGRINFO is not None
    area = refs["kyiv"]

    def ogr(sql: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [OGRINFO, str(registry_path), "-sql", sql], capture_output=True, text=True, timeout=60
        )

    run = ogr(f"UPDATE hazard_areas SET name = 'by ogrinfo' WHERE ref = '{area}'")
    assert run.returncode == 0, run.stderr
    assert _row(registry_path, area) == (2, "external", 1)
    run = ogr(f"UPDATE hazard_areas SET status = 'released' WHERE ref = '{area}'")
    assert "set-status" in run.stderr  # ogrinfo says so, though it exits 0
    run = ogr(f"DELETE FROM hazard_areas WHERE ref = '{area}'")
    assert "never deleted" in run.stderr
    assert _row(registry_path, area, "version, status, name") == (2, "suspected", "by ogrinfo")
    listed = subprocess.run(
        [OGRINFO, "-so", str(registry_path), "hazard_areas_history"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Feature Count: 1" in listed.stdout and "valid_to" in listed.stdout


# -- the migration from the audit trail ----------------------------------------------------


def _audit_of_fixture() -> dict[str, list[dict[str, Any]]]:
    conn = sqlite3.connect(FIXTURE)
    try:
        rows = conn.execute(
            "SELECT ref, version, action, at, actor, reason, state, geom_wkb FROM audit_trail "
            "ORDER BY ref, version"
        ).fetchall()
    finally:
        conn.close()
    out: dict[str, list[dict[str, Any]]] = {}
    for ref, version, action, at, actor, reason, state, wkb in rows:
        out.setdefault(ref, []).append(
            {
                "version": version,
                "action": action,
                "at": at,
                "actor": actor,
                "reason": reason,
                "state": json.loads(state),
                "geometry": None if wkb is None else shapely.from_wkb(wkb),
            }
        )
    return out


def test_a_registry_of_the_audit_trail_release_keeps_every_version(tmp_path: Path) -> None:
    expected = _audit_of_fixture()
    assert sum(len(v) for v in expected.values()) == 12  # the fixture's 12 versions
    path = tmp_path / "old.gpkg"
    shutil.copyfile(FIXTURE, path)
    with Registry.open(path) as reg:
        for ref, versions in expected.items():
            with reg.store.unit_of_work() as uow:
                got = uow.history.versions(ref)
            assert [v["version"] for v in got] == [v["version"] for v in versions], ref
            for old, new in zip(versions, got, strict=True):
                assert (new["action"], new["at"], new["actor"], new["reason"]) == (
                    old["action"],
                    old["at"],
                    old["actor"],
                    old["reason"],
                ), ref
                assert new["state"] == old["state"], (ref, old["version"])
                if old["geometry"] is None:
                    assert new["geometry"] is None
                else:
                    assert new["geometry"].equals_exact(old["geometry"], tolerance=0)
        # the history reads as before, and a revert still works on a migrated record
        area = "UA-2024-00001"
        assert [h["action"] for h in reg.history(area)] == [
            "create",
            "update",
            "update",
            "status",
            "revert",
        ]
        reg.revert(area, 1, actor="t", reason="back to the first survey")
        assert reg.hazard(area).name == "Kyiv field" and reg.hazard(area).version == 6
    conn = sqlite3.connect(path)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert "audit_trail" not in tables
        batches = conn.execute("SELECT kind, actor, records FROM landrelease_batches").fetchall()
        assert ("hazards", "importer", 3) in batches
        for t in ("hazard_areas", "hazard_areas_history", "items", "items_history"):
            assert conn.execute(f"SELECT rtreecheck('rtree_{t}_geom')").fetchone()[0] == "ok"
    finally:
        conn.close()


def test_show_says_a_record_was_edited_outside_and_survives_bad_values(
    registry_path: Path, refs: dict[str, str], run_cli: Any
) -> None:
    area = refs["kyiv"]
    with _qgis(registry_path) as conn:
        conn.execute("UPDATE hazard_areas SET reported_on = 'last spring' WHERE ref = ?", (area,))
    code, out, err = run_cli(["hazards", "show", area, "--db", registry_path])
    assert code == 0, err
    assert "edited outside landrelease, not checked" in out and "last spring" in out
    code, out, err = run_cli(["hazards", "show", area, "--db", registry_path, "--json"])
    assert code == 0, err
    data = json.loads(out)
    assert data["needs_check"] is True and data["changed_by"] == "external"
    for args in (["hazards", "list", "--json"], ["history", area]):
        code, _out, err = run_cli([*args, "--db", registry_path])
        assert code == 0, err


def test_check_finds_the_stale_area_and_fix_settles_what_passes(
    registry_path: Path, refs: dict[str, str], run_cli: Any
) -> None:
    grown, away = refs["kyiv"], refs["forest"]
    with Registry.open(registry_path) as reg:
        before = reg.hazard(grown).area_m2
    doubled = shapely.affinity.scale(polygon(0), xfact=2.0, yfact=1.0)
    outside = shapely.affinity.translate(polygon(2), xoff=20.0)  # far east of Ukraine
    with _qgis(registry_path) as conn:
        conn.execute("UPDATE hazard_areas SET geom = ? WHERE ref = ?", (_blob(doubled), grown))
        conn.execute("UPDATE hazard_areas SET geom = ? WHERE ref = ?", (_blob(outside), away))
    code, out, err = run_cli(["check", "--db", registry_path, "--json"])
    assert code == 0, err
    found = {r["ref"]: r for r in json.loads(out)}
    assert set(found) == {grown, away}
    stored, measured = found[grown]["area_m2"]
    assert stored == pytest.approx(before) and measured == pytest.approx(2 * before, rel=0.01)
    assert found[grown]["problems"] == []
    assert found[away]["problems"][0]["field"] == "geometry"
    assert "outside Ukraine" in found[away]["problems"][0]["message"]
    code, out, err = run_cli(["check", "--db", registry_path, "--fix"])
    assert code == 0, err
    assert grown in out and away in out and "stay flagged" in out
    assert _row(registry_path, grown) == (3, "tester", 0)
    assert _row(registry_path, away) == (2, "external", 1)
    with Registry.open(registry_path) as reg:
        assert reg.hazard(grown).area_m2 == pytest.approx(2 * before, rel=0.01)
        last = reg.history(grown)[-1]
        assert last["action"] == "check" and "area_m2" in last["changes"]
    code, out, err = run_cli(["check", "--db", registry_path, "--json"])
    assert [r["ref"] for r in json.loads(out)] == [away]


def test_check_takes_a_record_keeping_its_own_shape_for_no_duplicate(
    registry_path: Path, refs: dict[str, str], run_cli: Any
) -> None:
    area = refs["kyiv"]
    with _qgis(registry_path) as conn:
        conn.execute("UPDATE hazard_areas SET name = 'renamed in QGIS' WHERE ref = ?", (area,))
    code, out, err = run_cli(["check", "--db", registry_path, "--json"])
    assert code == 0, err
    [found] = json.loads(out)
    assert found["ref"] == area and found["problems"] == []
