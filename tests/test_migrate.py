"""`landrelease migrate`: a registry copied between backends, exactly, in one transaction.

The source is a small demo registry (records with history, batches, reference layers, a saved
ranking) with a user, a session, a pending proposal and an edit made outside landrelease.
A copy must hold the same rows: every record's current row as stored, every earlier version,
the geometries WKB-equal; tokens keep working, and the copy's history triggers version the
next edit as they did before.
"""

from __future__ import annotations

import json
import sqlite3
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely

import backends
from conftest import RunCli
from fixtures import hazard, polygon
from gdal_tools import validate_gpkg
from landrelease import access
from landrelease.demo import build_demo
from landrelease.domain.records import HAZARDS, KINDS
from landrelease.migrating import migrate
from landrelease.registry import Registry
from landrelease.store import geopackage as gpkg
from landrelease.store import open_store
from landrelease.store.base import GEOM
from landrelease.store.transfer import tables

AREAS = 12


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A demo registry with users, a session, a proposal and an edit made outside landrelease."""
    path = tmp_path_factory.mktemp("migrate") / "source.gpkg"
    build_demo(path, areas=AREAS)
    with Registry.open(path) as reg:
        token = access.add_user(reg, "olena", "editor", actor="tester")
        access.add_user(reg, "taras", "viewer", actor="tester")
        access.revoke_user(reg, "taras", actor="tester")
        assert access.start_session(reg, "olena", token, hours=8) is not None
        areas = reg.records("hazards")
        suspected = areas[areas["status"] == "suspected"]["ref"].tolist()
        with reg.store.unit_of_work(write=True) as uow:  # as an editor's proposal is kept
            uow.proposals.add(
                ref=suspected[0],
                from_status="suspected",
                to_status="cancelled",
                reason="no sign of contamination",
                expected_version=1,
                proposed_by="olena",
                proposed_at="2024-05-01T09:30:00.000Z",
            )
        edited = next(r for r in areas["ref"] if r != suspected[0])
    with sqlite3.connect(path) as conn:  # as QGIS would: versioned and flagged by the triggers
        gpkg.register_functions(conn)
        conn.execute("UPDATE hazard_areas SET name = 'renamed in QGIS' WHERE ref = ?", (edited,))
    return {"path": path, "token": token, "edited": edited}


def _rows(path: Path, table: str, order: tuple[str, ...] = ("fid",)) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"SELECT * FROM {table} ORDER BY {', '.join(order)}").fetchall()


def _layer_tables(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT table_name FROM landrelease_reference_layers ORDER BY 1")
        return [r[0] for r in rows]


def _geometries(path: Path, table: str) -> list[bytes | None]:
    """Return the WKB of every geometry of `table`, in fid order."""
    with sqlite3.connect(path) as conn:
        blobs = [r[0] for r in conn.execute(f"SELECT {GEOM} FROM {table} ORDER BY fid")]
    return [None if b is None else gpkg.wkb_of(b) for b in blobs]


def _versions(url: str | Path) -> dict[str, list[dict[str, Any]]]:
    """Return every version of every record of a registry, by ref (geometries as WKB)."""
    store = open_store(url, readonly=True)
    try:
        with store.unit_of_work() as uow:
            refs = [r for k in KINDS.values() for r in sorted(uow.records(k).values("ref"))]
            out = {ref: uow.history.versions(ref) for ref in refs}
    finally:
        store.close()
    for versions in out.values():
        for v in versions:
            v["geometry"] = None if v["geometry"] is None else shapely.to_wkb(v["geometry"])
    return out


def _assert_same_registry(a: Path, b: Path) -> None:
    """Assert that two registry files hold the same rows in every copied table and layer."""
    for table in tables():
        assert _rows(a, table.name, table.order) == _rows(b, table.name, table.order), table.name
    assert _layer_tables(a) == _layer_tables(b)
    for t in _layer_tables(a):
        assert _rows(a, t) == _rows(b, t), t
    with sqlite3.connect(a) as ca, sqlite3.connect(b) as cb:
        sql = "SELECT * FROM landrelease_reference_layers ORDER BY name"
        assert ca.execute(sql).fetchall() == cb.execute(sql).fetchall()


# -- GeoPackage to GeoPackage ---------------------------------------------------------------


@pytest.fixture(scope="module")
def copied(source: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    target = tmp_path_factory.mktemp("migrate") / "copy.gpkg"
    seen: list[tuple[str, int, int]] = []
    summary = migrate(
        str(source["path"]),
        str(target),
        actor="tester",
        progress=lambda t, d, n: seen.append((t, d, n)),
    )
    return {"path": target, "summary": summary, "seen": seen}


def test_a_copy_holds_every_row_of_every_table(
    source: dict[str, Any], copied: dict[str, Any]
) -> None:
    _assert_same_registry(source["path"], copied["path"])
    counts = {c.table: (c.source, c.target) for c in copied["summary"]}
    assert {t.name for t in tables()} <= set(counts)
    assert set(_layer_tables(source["path"])) <= set(counts)
    assert all(s == t for s, t in counts.values()), counts
    assert counts["hazard_areas"] == (AREAS, AREAS)
    assert counts["hazard_areas_history"][0] > 0
    assert counts["landrelease_users"] == (2, 2)
    assert counts["landrelease_sessions"] == (1, 1)
    assert counts["landrelease_status_proposals"] == (1, 1)
    assert counts["landrelease_submissions"][0] == 6  # the demo queues six for review
    assert counts["landrelease_submission_events"][0] >= 6
    assert counts["landrelease_ranking_areas"][0] > 0
    # the progress reached the end of every table
    last = {t: (d, n) for t, d, n in copied["seen"]}
    assert all(d == n for d, n in last.values()) and set(last) == set(counts)


def test_every_table_of_landrelease_is_copied(source: dict[str, Any]) -> None:
    with sqlite3.connect(source["path"]) as conn:
        ours = {
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'landrelease%'"
            )
        }
    # reference layers are copied layer by layer with their list (test above)
    assert ours - {t.name for t in tables()} == {"landrelease_reference_layers"}


def test_a_copy_keeps_versions_history_and_geometries(
    source: dict[str, Any], copied: dict[str, Any]
) -> None:
    for kind in KINDS.values():
        if kind.geometry:
            for table in (kind.table, f"{kind.table}_history"):
                a, b = _geometries(source["path"], table), _geometries(copied["path"], table)
                assert a == b, table  # the same WKB, byte for byte
    assert _versions(source["path"]) == _versions(copied["path"])
    edited = _versions(copied["path"])[source["edited"]]
    assert edited[-1]["actor"] == "external" and edited[-1]["needs_check"]
    with Registry.open(source["path"]) as a, Registry.open(copied["path"]) as b:
        assert a.layers() == b.layers()
        assert a.rankings() == b.rankings()
        for ranking in a.rankings():
            assert a.ranking(ranking["id"]) == b.ranking(ranking["id"])


def test_a_copied_token_still_signs_in_and_a_proposal_waits(
    source: dict[str, Any], copied: dict[str, Any]
) -> None:
    with Registry.open(copied["path"]) as reg:
        user = access.user_for_token(reg, source["token"])
        assert user is not None and user.name == "olena"
        assert [u["name"] for u in access.users(reg)] == ["olena", "taras"]
        assert len(access.proposals(reg, "pending")) == 1


def test_a_copy_passes_gdal_and_its_rtrees_check(copied: dict[str, Any]) -> None:
    with sqlite3.connect(copied["path"]) as conn:
        trees = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE name LIKE 'rtree%' AND sql LIKE 'CREATE "
                "VIRTUAL TABLE%'"
            )
        ]
        assert trees
        for tree in trees:
            assert conn.execute(f"SELECT rtreecheck('{tree}')").fetchone() == ("ok",), tree
        counts = dict(conn.execute("SELECT table_name, feature_count FROM gpkg_ogr_contents"))
        for table, n in counts.items():
            assert conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] == n, table
        box = conn.execute(
            "SELECT min_x, min_y, max_x, max_y FROM gpkg_contents WHERE table_name = ?",
            (HAZARDS.table,),
        ).fetchone()
    geoms = shapely.from_wkb(np.array(_geometries(copied["path"], HAZARDS.table), dtype=object))
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    assert box[0] <= minx and box[1] <= miny and box[2] >= maxx and box[3] >= maxy
    run = validate_gpkg(copied["path"])
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_copy_versions_the_next_edit_as_the_source_did(
    copied: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "edited.gpkg"
    path.write_bytes(copied["path"].read_bytes())
    with Registry.open(path) as reg:
        ref = reg.records("hazards")["ref"].iloc[0]
        before = reg.history(ref)
        reg.update_record("hazards", ref, {"name": "after the copy"}, actor="tester")
        after = reg.history(ref)
        assert len(after) == len(before) + 1 and after[-1]["actor"] == "tester"
        new = reg.add_records("hazards", [_far_hazard()], actor="tester", reason="after")
    with sqlite3.connect(path) as conn:
        gpkg.register_functions(conn)
        fids = [r[0] for r in conn.execute("SELECT fid FROM hazard_areas ORDER BY fid")]
        stamped = conn.execute(
            "SELECT changed_by, version FROM hazard_areas WHERE ref = ?", (new[0],)
        ).fetchone()
        conn.execute(  # a row added by another program gets a ref and a version
            "INSERT INTO contamination_events (area_ref, profile_id, quantity_best, emplaced_on) "
            "VALUES (?, 'uxo-item', 3, '2022-04-01')",
            (ref,),
        )
        external = conn.execute(
            "SELECT ref, version, changed_by FROM contamination_events ORDER BY fid DESC LIMIT 1"
        ).fetchone()
    assert fids[-1] == AREAS + 1 and stamped == ("tester", 1)
    assert external[0] and external[1:] == (1, "external")


def test_records_without_geometry_are_copied(tmp_path: Path) -> None:
    path, target = tmp_path / "planned.gpkg", tmp_path / "copy.gpkg"
    with Registry.open(path, create=True) as reg:
        (area,) = reg.add_records("hazards", [hazard(0)], actor="tester")
        planned = {"area_ref": area, "activity_type": "nts", "start_date": "2024-01-01"}
        reg.add_records("activities", [planned], actor="tester")
    counts = {c.table: (c.source, c.target) for c in migrate(str(path), str(target), actor="t")}
    assert counts["activities"] == (1, 1)
    assert _rows(path, "activities") == _rows(target, "activities")


def _far_hazard() -> dict[str, Any]:
    return hazard(0, name="added after the copy", geometry=polygon(0, (24.0, 49.0)))


# -- refusals --------------------------------------------------------------------------------


def test_an_existing_file_is_refused_and_left_alone(
    source: dict[str, Any], tmp_path: Path, run_cli: RunCli
) -> None:
    target = tmp_path / "taken.gpkg"
    target.write_bytes(b"not ours")
    code, _out, err = run_cli(["migrate", "--from", source["path"], "--to", target])
    assert code == 2 and str(target) in err and "exists" in err
    assert target.read_bytes() == b"not ours"


def test_a_missing_source_is_refused(tmp_path: Path, run_cli: RunCli) -> None:
    target = tmp_path / "copy.gpkg"
    code, _out, err = run_cli(["migrate", "--from", tmp_path / "none.gpkg", "--to", target])
    assert code == 2 and "none.gpkg" in err
    assert not target.exists()


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("mysql://db.example/registry", "mysql:// is not a registry location"),
        ("postgresql://", "names no database"),
    ],
)
def test_a_bad_location_is_refused(
    source: dict[str, Any], tmp_path: Path, run_cli: RunCli, given: str, said: str
) -> None:
    code, _out, err = run_cli(["migrate", "--from", source["path"], "--to", given])
    assert code == 2 and said in err and "--to" in err
    code, _out, err = run_cli(["migrate", "--from", given, "--to", tmp_path / "copy.gpkg"])
    assert code == 2 and said in err and "--from" in err
    assert not (tmp_path / "copy.gpkg").exists()


def test_a_copy_onto_itself_is_refused(source: dict[str, Any], run_cli: RunCli) -> None:
    before = source["path"].read_bytes()
    code, _out, err = run_cli(["migrate", "--from", source["path"], "--to", source["path"]])
    assert code == 2 and "registry to copy from" in err
    assert source["path"].read_bytes() == before


def test_a_copy_that_fails_leaves_no_file(source: dict[str, Any], tmp_path: Path) -> None:
    target = tmp_path / "copy.gpkg"

    def stop(table: str, done: int, total: int) -> None:
        if table == "landrelease_users":
            raise KeyboardInterrupt  # the user gives up half-way

    with pytest.raises(KeyboardInterrupt):
        migrate(str(source["path"]), str(target), actor="tester", progress=stop)
    assert sorted(tmp_path.iterdir()) == []


def test_the_cli_prints_rows_per_table(
    source: dict[str, Any], tmp_path: Path, run_cli: RunCli
) -> None:
    target = tmp_path / "copy.gpkg"
    code, out, err = run_cli(["migrate", "--from", source["path"], "--to", target, "--json"])
    assert code == 0, err
    rows = {r["table"]: (r["source"], r["target"]) for r in json.loads(out)}
    assert rows["hazard_areas"] == (AREAS, AREAS)
    code, out, err = run_cli(["migrate", "--from", target, "--to", tmp_path / "again.gpkg"])
    assert code == 0, err
    assert "hazard_areas_history" in out and "again.gpkg" in out


# -- GeoPackage to PostGIS and back ------------------------------------------------------------

needs_pg = pytest.mark.skipif(
    backends.pg_admin_url() is None, reason=f"{backends.PG_ENV} names no PostgreSQL cluster"
)


@needs_pg
def test_a_round_trip_through_postgis_changes_nothing(
    source: dict[str, Any], tmp_path: Path
) -> None:
    url = backends.new_database("mig")
    there = migrate(str(source["path"]), url, actor="tester")
    back_path = tmp_path / "back.gpkg"
    back = migrate(url, str(back_path), actor="tester")
    assert [(c.table, c.source, c.target) for c in there] == [
        (c.table, c.source, c.target) for c in back
    ]
    _assert_same_registry(source["path"], back_path)
    with Registry.open(url) as reg:
        assert access.user_for_token(reg, source["token"]) is not None
        with Registry.open(source["path"]) as src:
            for ref in src.records("hazards")["ref"]:
                assert src.history(ref) == reg.history(ref), ref
            assert src.layers() == reg.layers()
            assert src.rankings() == reg.rankings()
    run = validate_gpkg(back_path)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.fixture
def owned_database() -> Iterator[str]:
    """Yield the URL of a new database (with PostGIS) owned by a role that is no superuser:
    a team's own database user, who may create tables in it and nothing more."""
    import psycopg

    admin = backends.pg_admin_url()
    assert admin is not None
    url = backends.new_database("migowned")
    role = f"lrt_mig_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f'ALTER DATABASE "{url.rsplit("/", 1)[-1]}" OWNER TO {role}')
    parts = urllib.parse.urlsplit(url)
    yield urllib.parse.urlunsplit(parts._replace(netloc=f"{role}@{parts.netloc.split('@')[-1]}"))
    with psycopg.connect(url, autocommit=True) as conn:  # as the superuser, in that database
        conn.execute(f"REASSIGN OWNED BY {role} TO CURRENT_USER")
        conn.execute(f"DROP OWNED BY {role}")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP ROLE {role}")


@needs_pg
def test_a_copy_by_a_database_owner_who_is_no_superuser_is_exact_and_stays_versioned(
    source: dict[str, Any], owned_database: str
) -> None:
    summary = migrate(str(source["path"]), owned_database, actor="tester")
    assert all(c.source == c.target for c in summary)
    assert _versions(source["path"]) == _versions(owned_database)
    with Registry.open(owned_database) as reg:
        areas = reg.records("hazards")
        ref = areas["ref"].iloc[0]
        before = reg.history(ref)
        reg.update_record("hazards", ref, {"name": "after the copy"}, actor="tester")
        after = reg.history(ref)
        assert len(after) == len(before) + 1 and after[-1]["actor"] == "tester"
        new = reg.add_records("hazards", [_far_hazard()], actor="tester", reason="after")
    import psycopg

    with psycopg.connect(owned_database) as conn:  # the identity counters went on from the copy
        row = conn.execute("SELECT fid FROM hazard_areas WHERE ref = %s", (new[0],)).fetchone()
        assert row == (AREAS + 1,)


@needs_pg
def test_a_database_holding_a_registry_is_refused(source: dict[str, Any], run_cli: RunCli) -> None:
    url = backends.new_database("migtaken")
    open_store(url, create=True).close()
    with Registry.open(url) as reg:
        before = len(reg.records("hazards"))
    code, _out, err = run_cli(["migrate", "--from", source["path"], "--to", url])
    assert code == 2 and url.rsplit("/", 1)[-1] in err
    with Registry.open(url) as reg:
        assert len(reg.records("hazards")) == before == 0


@needs_pg
def test_a_database_that_does_not_exist_is_refused(
    source: dict[str, Any], tmp_path: Path, run_cli: RunCli
) -> None:
    admin = backends.pg_admin_url()
    assert admin is not None
    missing = backends.database_url(admin, f"lrt_missing_{uuid.uuid4().hex[:8]}")
    code, _out, err = run_cli(["migrate", "--from", source["path"], "--to", missing])
    assert code == 2 and "does not exist" in err and missing.rsplit("/", 1)[-1] in err
    code, _out, err = run_cli(["migrate", "--from", missing, "--to", tmp_path / "copy.gpkg"])
    assert code == 2 and "does not exist" in err
    assert not (tmp_path / "copy.gpkg").exists()


@needs_pg
def test_a_copy_into_postgis_that_fails_leaves_the_database_as_it_was(
    source: dict[str, Any],
) -> None:
    import psycopg

    url = backends.new_database("migfail")

    def relations() -> list[tuple[str, str]]:
        with psycopg.connect(url) as conn:
            return conn.execute(
                "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n "
                "ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', "
                "'information_schema', 'pg_toast') ORDER BY 1, 2"
            ).fetchall()

    before = relations()

    def stop(table: str, done: int, total: int) -> None:
        if table == "landrelease_users":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        migrate(str(source["path"]), url, actor="tester", progress=stop)
    assert relations() == before
