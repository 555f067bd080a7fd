"""The PostGIS backend itself: its schema, the triggers that keep history, COPY, locks, errors.

What every backend must do is pinned by tests/test_store_contract.py; here is what is
PostgreSQL's own. QGIS (or any SQL client) connected to the database writes with plain SQL:
a raw psycopg connection plays that part, and each rule of the triggers is tried with it.
Runs only when a throw-away cluster is given (LANDRELEASE_TEST_PG, see tests/backends.py).
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import re
import sqlite3
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
import shapely
from psycopg import errors

from backends import copy_database, database_url, new_database, pg_admin_url
from conftest import _build_template
from fixtures import hazard, polygon, snapshot
from landrelease.domain.errors import (
    ConflictError,
    DuplicateGeometry,
    InputFileError,
    LandreleaseError,
    NotFound,
    RegistryBusy,
    RegistryReadOnly,
    ValidationError,
)
from landrelease.domain.records import HAZARDS, ITEMS, KINDS
from landrelease.registry import Registry
from landrelease.store import history, open_store, postgis_schema
from landrelease.store.postgis import PostgisStore
from landrelease.store.postgis_uow import encode_geometries
from landrelease.store.sqlite import SCHEMA_HEAD

if pg_admin_url() is None:
    pytest.skip("needs a PostgreSQL cluster: set LANDRELEASE_TEST_PG", allow_module_level=True)

AT = "2026-01-02T03:04:05.678Z"


@pytest.fixture(scope="module")
def made() -> dict[str, Any]:
    """A small registry made once in PostGIS (as tests/conftest.py makes the file's)."""
    url = new_database("pgtemplate")
    return {"url": url, **_build_template(url)}


@pytest.fixture
def db(made: dict[str, Any]) -> str:
    """The URL of this test's own copy of the small registry."""
    return copy_database(made["url"], "pg")


@pytest.fixture
def pg_refs(made: dict[str, Any]) -> dict[str, str]:
    """The refs of its hazard areas: kyiv (suspected), kharkiv (confirmed), forest."""
    return {k: made[k] for k in ("kyiv", "kharkiv", "forest")}


def sql(url: str, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one statement as another program would (its own connection, autocommit)."""
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(statement, params or None)
        return cur.fetchall() if cur.description else []


def stamp(url: str, ref: str) -> tuple[Any, ...]:
    return sql(
        url, "SELECT version, changed_by, needs_check FROM hazard_areas WHERE ref = %s", (ref,)
    )[0]


# -- the schema ----------------------------------------------------------------------------


def test_geometries_are_typed_in_4326_and_gist_indexed(db: str) -> None:
    types = {
        table: (kind_type, srid)
        for table, kind_type, srid in sql(
            db,
            "SELECT f_table_name, type, srid FROM geometry_columns WHERE f_table_schema = 'public'",
        )
    }
    expected = {}
    for kind in KINDS.values():
        if kind.geometry:
            wanted = ("MULTIPOLYGON" if kind.geometry == "polygon" else "POINT", 4326)
            expected[kind.table] = expected[history.history_table(kind)] = wanted
    assert {t: types[t] for t in expected} == expected
    gist = {
        t
        for (t,) in sql(
            db, "SELECT tablename FROM pg_indexes WHERE indexdef LIKE %s", ("%USING gist (geom)%",)
        )
    }
    assert set(expected) <= gist
    assert sql(db, "SELECT version_num FROM alembic_version") == [(SCHEMA_HEAD,)]


def test_tables_and_columns_are_named_as_in_the_file(db: str, tmp_path: Path) -> None:
    # A registry copies between backends by these names.
    file = tmp_path / "twin.gpkg"
    open_store(file, create=True).close()
    ours = [k.table for k in KINDS.values()] + [history.history_table(k) for k in KINDS.values()]
    conn = sqlite3.connect(file)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        tables = [t for t in tables if t in ours or t.startswith("landrelease_")]
        in_file = {t: [r[1] for r in conn.execute(f"PRAGMA table_info({t})")] for t in tables}
    finally:
        conn.close()
    in_db: dict[str, list[str]] = {}
    for table, column in sql(
        db,
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
    ):
        if table in in_file:
            in_db.setdefault(table, []).append(column)
    assert in_db == in_file


def test_the_triggers_refuse_with_the_words_of_the_file() -> None:
    in_file = " ".join(s for kind in KINDS.values() for s in history.triggers(kind))
    in_db = " ".join(
        s
        for kind in KINDS.values()
        for s in [postgis_schema.guard_function(kind), *postgis_schema.triggers(kind)]
    )
    messages = set(re.findall(r"'(landrelease: [^']*)'", in_db))
    assert len(messages) > 10 and postgis_schema.STATUS_GUARD in messages
    assert [m for m in messages if m not in in_file] == []


# -- edits outside landrelease: the triggers -------------------------------------------------


def test_an_attribute_edit_outside_makes_an_external_version(
    db: str, pg_refs: dict[str, str]
) -> None:
    area = pg_refs["kyiv"]
    sql(db, "UPDATE hazard_areas SET name = 'renamed in QGIS' WHERE ref = %s", (area,))
    assert stamp(db, area) == (2, "external", True)
    [(version, name, valid_from, valid_to)] = sql(
        db,
        "SELECT version, name, valid_from, valid_to FROM hazard_areas_history WHERE ref = %s",
        (area,),
    )
    assert (version, name) == (1, "Kyiv field") and valid_from < valid_to
    with Registry.open(db) as reg:
        versions = reg.history(area)
        assert [h["version"] for h in versions] == [1, 2]
        assert versions[1]["actor"] == "external" and versions[1]["action"] == "external"
        assert versions[1]["changes"] == {"name": ["Kyiv field", "renamed in QGIS"]}
        reg.update_record("hazards", area, {"notes": "fenced"}, actor="officer")
        last = reg.history(area)[-1]
    assert last["actor"] == "officer" and last["changes"] == {"notes": [None, "fenced"]}


def test_a_geometry_moved_outside_is_versioned_and_found_by_its_box(
    db: str, pg_refs: dict[str, str]
) -> None:
    area, moved = pg_refs["forest"], polygon(88)
    sql(
        db,
        "UPDATE hazard_areas SET geom = ST_Multi(ST_GeomFromText(%s, 4326)) WHERE ref = %s",
        (moved.wkt, area),
    )
    assert stamp(db, area) == (2, "external", True)
    with Registry.open(db) as reg:
        assert reg.hazard(area).geometry.geoms[0].equals(moved)
        assert "geometry" in reg.history(area)[1]["changes"]
        assert area in set(reg.hazards(bbox=moved.bounds)["ref"])


def test_writing_the_same_values_makes_no_version(db: str, pg_refs: dict[str, str]) -> None:
    # QGIS writes every column of a feature it saves, changed or not.
    area = pg_refs["kyiv"]
    sql(
        db,
        "UPDATE hazard_areas SET name = name, status = status, geom = geom, reported_on = "
        "reported_on WHERE ref = %s",
        (area,),
    )
    assert stamp(db, area) == (1, "tester", False)
    assert sql(db, "SELECT count(*) FROM hazard_areas_history") == [(0,)]


@pytest.mark.parametrize(
    "statement, words",
    [
        ("UPDATE hazard_areas SET status = 'released' WHERE ref = %s", "hazards set-status"),
        ("DELETE FROM hazard_areas WHERE ref = %s", "never deleted"),
        ("UPDATE hazard_areas SET status = 'bogus' WHERE ref = %s", "status must be one of"),
        ("UPDATE hazard_areas SET land_use = 'moon' WHERE ref = %s", "land_use must be one of"),
        ("UPDATE items SET state = 'lost' WHERE area_ref = %s", "state must be one of"),
        (
            "INSERT INTO hazard_areas (name, land_use) VALUES (%s, 'moon')",
            "land_use must be one of",
        ),
        ("TRUNCATE hazard_areas", "never deleted"),
        ("UPDATE hazard_areas_history SET name = 'x' WHERE ref = %s", "history is never changed"),
        ("DELETE FROM hazard_areas_history WHERE ref = %s", "history is never deleted"),
        ("TRUNCATE hazard_areas_history", "history is never deleted"),
    ],
    ids=[
        "status",
        "delete",
        "bad-status",
        "bad-land-use",
        "bad-item-state",
        "insert-bad-land-use",
        "truncate",
        "history-update",
        "history-delete",
        "history-truncate",
    ],
)
def test_what_only_landrelease_may_do_is_refused_outside(
    db: str, pg_refs: dict[str, str], statement: str, words: str
) -> None:
    area = pg_refs["kharkiv"]
    sql(db, "UPDATE hazard_areas SET notes = 'a history row' WHERE ref = %s", (area,))
    before = snapshot(db)
    params = (area,) if "%s" in statement else ()
    with pytest.raises(errors.RaiseException, match=words):
        sql(db, statement, params)
    assert snapshot(db) == before


def test_an_area_drawn_outside_gets_its_ref_and_is_flagged(db: str) -> None:
    year = dt.datetime.now(dt.UTC).year
    insert = (
        "INSERT INTO hazard_areas (geom, name, evidence, reported_on) VALUES "
        "(ST_Multi(ST_GeomFromText(%s, 4326)), %s, 'seen', %s) RETURNING ref, status, version, "
        "changed_by, needs_check, change_action"
    )
    [undated] = sql(db, insert, (polygon(89).wkt, "drawn in QGIS", None))
    [dated] = sql(db, insert, (polygon(90).wkt, "drawn later", "2024-05-01"))
    assert undated == (f"UA-{year}-00001", "suspected", 1, "external", True, "create")
    # the template's three areas of 2024 took serials 1-3 of UA-2024
    assert dated[0] == "UA-2024-00004" and dated[1:] == undated[1:]
    [event] = sql(
        db,
        "INSERT INTO contamination_events (area_ref, profile_id, quantity_best, emplaced_on) "
        "VALUES (%s, 'persistent-ap-mine', 3, '2022-03-01') RETURNING ref",
        (dated[0],),
    )
    assert event == ("UA-EV-2022-00002",)  # after the template's event
    with Registry.open(db) as reg:
        # landrelease's next ref of the year follows them
        [mine] = reg.add_records("hazards", [hazard(91, reported_on="2024-06-01")], actor="t")
        assert mine == "UA-2024-00005"
        assert reg.history(dated[0])[0]["actor"] == "external"


def test_the_check_flag_is_not_cleared_outside(db: str, pg_refs: dict[str, str]) -> None:
    area = pg_refs["kyiv"]
    sql(db, "UPDATE hazard_areas SET notes = 'x' WHERE ref = %s", (area,))
    sql(db, "UPDATE hazard_areas SET needs_check = false WHERE ref = %s", (area,))
    sql(db, "UPDATE hazard_areas SET needs_check = NULL WHERE ref = %s", (area,))
    assert stamp(db, area) == (2, "external", True)


def test_versions_written_by_landrelease_go_to_history(db: str, pg_refs: dict[str, str]) -> None:
    area = pg_refs["kyiv"]
    with Registry.open(db) as reg:
        reg.set_status(area, "confirmed", actor="officer", reason="mine seen")
        reg.update_record("hazards", area, {"notes": "fenced"}, actor="officer")
        reg.revert(area, 1, actor="officer", reason="back")
        assert [h["action"] for h in reg.history(area)] == ["create", "status", "update", "revert"]
        assert reg.hazard(area).status == "suspected"
    rows = sql(
        db,
        "SELECT version, status, changed_by, valid_from, valid_to FROM hazard_areas_history "
        "WHERE ref = %s ORDER BY version",
        (area,),
    )
    assert [(v, s, by) for v, s, by, _f, _t in rows] == [
        (1, "suspected", "tester"),
        (2, "confirmed", "officer"),
        (3, "confirmed", "officer"),
    ]
    assert all(f < t for _v, _s, _by, f, t in rows)
    assert [t for *_, t in rows[:-1]] == [f for _v, _s, _by, f, _t in rows[1:]]


# -- writes: COPY in one transaction, all or nothing -----------------------------------------


def _areas(n: int, first: int = 0, **fields: list[Any]) -> dict[str, Any]:
    refs = [f"UA-2025-{first + i + 1:05d}" for i in range(n)]
    cols: dict[str, Any] = {
        "ref": refs,
        "name": [f"area {r}" for r in refs],
        "status": ["suspected"] * n,
        "reported_on": ["2025-01-02"] * n,
        "geometry": np.array(
            [shapely.MultiPolygon([polygon(first + i)]) for i in range(n)], dtype=object
        ),
        "geom_key": list(range(10_000 + first, 10_000 + first + n)),
    }
    cols.update(fields)
    return cols


def test_a_few_thousand_records_go_in_by_one_copy_in_one_transaction(db: str) -> None:
    n = 3000
    with Registry.open(db) as reg, reg.store.unit_of_work(write=True, bulk=True) as uow:
        batch = uow.batches.add(
            HAZARDS, at=AT, actor="bulk", reason=None, source="x", sha256=None, records=n
        )
        uow.records(HAZARDS).add(_areas(n), at=AT, actor="bulk", reason=None, batch=batch)
    [(count, transactions, versions, flagged)] = sql(
        db,
        "SELECT count(*), count(DISTINCT xmin::text), max(version), "
        "count(*) FILTER (WHERE needs_check) FROM hazard_areas WHERE changed_by = 'bulk'",
    )
    assert (count, transactions, versions, flagged) == (n, 1, 1, 0)
    assert sql(db, "SELECT count(*) FROM hazard_areas_history") == [(0,)]
    with Registry.open(db) as reg:
        box = polygon(1234).bounds
        assert list(reg.hazards(bbox=box)["ref"]) == ["UA-2025-01235"]
        with reg.store.unit_of_work() as uow:
            assert uow.records(HAZARDS).get("UA-2025-03000")["reported_on"] == "2025-01-02"


@pytest.mark.parametrize("clash", ["ref", "geom_key"])
def test_a_batch_meeting_a_stored_record_writes_nothing(db: str, clash: str) -> None:
    with Registry.open(db) as reg:
        with reg.store.unit_of_work(write=True) as uow:
            uow.records(HAZARDS).add(_areas(1, 5000), at=AT, actor="a", reason=None, batch=None)
        before = snapshot(db)
        batch = _areas(2000)
        if clash == "ref":
            batch["ref"][-1] = "UA-2025-05001"
        else:
            batch["geom_key"][-1] = 15_000
        error = ConflictError if clash == "ref" else DuplicateGeometry
        with pytest.raises(error) as info, reg.store.unit_of_work(write=True) as uow:
            uow.settings.set("kept", "no")
            records = uow.records(HAZARDS)
            try:
                records.add(batch, at=AT, actor="b", reason=None, batch=None)
            finally:
                assert records.count() == 4  # the unit of work goes on without the batch
        if clash == "geom_key":
            assert info.value.stored_ref == "UA-2025-05001"  # type: ignore[attr-defined]
    assert snapshot(db) == before


def test_a_failing_step_leaves_the_database_as_it_was(db: str, pg_refs: dict[str, str]) -> None:
    before = snapshot(db)
    with Registry.open(db) as reg, pytest.raises(ValidationError, match="quantity_best"):
        with reg.store.unit_of_work(write=True) as uow:
            reg.add_records("hazards", [hazard(41)], actor="t", uow=uow)
            uow.settings.set("submission:18", "approved")
            bad = {
                "area_ref": pg_refs["kyiv"],
                "profile_id": "persistent-ap-mine",
                "quantity_best": "many",
                "emplaced_on": "2023-05-01",
            }
            reg.add_records("events", [bad], actor="t", uow=uow)
    assert snapshot(db) == before


def test_the_geometries_are_sent_as_ewkb_in_4326(db: str) -> None:
    square = shapely.box(30.0, 50.0, 30.01, 50.01)
    encoded = encode_geometries(HAZARDS, np.array([square, None, shapely.MultiPolygon([square])]))
    assert encoded[1] is None and encoded[0] == encoded[2]
    assert sql(
        db, "SELECT ST_AsText(%s::geometry), ST_SRID(%s::geometry)", (encoded[0], encoded[0])
    ) == [("MULTIPOLYGON(((30.01 50,30.01 50.01,30 50.01,30 50,30.01 50)))", 4326)]
    [point] = encode_geometries(ITEMS, np.array([shapely.Point(30.5, 50.4)]))
    assert sql(db, "SELECT ST_AsEWKT(%s::geometry)", (point,)) == [("SRID=4326;POINT(30.5 50.4)",)]
    with pytest.raises(ValueError, match="Point Z"):
        encode_geometries(ITEMS, np.array([shapely.Point(30.5, 50.4, 1.0)]))
    with pytest.raises(ValueError, match="Point in a MULTIPOLYGON"):
        encode_geometries(HAZARDS, np.array([shapely.Point(30.5, 50.4)]))


def test_layer_descriptions_are_table_comments(db: str) -> None:
    store = open_store(db)
    try:
        with store.unit_of_work(write=True) as uow:
            uow.prefix_layer_descriptions("SYNTHETIC DEMO DATA. ")
    finally:
        store.close()
    [(comment,)] = sql(db, "SELECT obj_description('hazard_areas'::regclass, 'pg_class')")
    assert comment.startswith("SYNTHETIC DEMO DATA. Hazardous areas")


# -- locks, snapshots, pools -----------------------------------------------------------------


def test_a_writer_waits_for_the_write_lock_and_is_told_who_holds_it(
    db: str, pg_refs: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANDRELEASE_BUSY_TIMEOUT_MS", "200")
    area = pg_refs["kyiv"]
    with Registry.open(db) as first, Registry.open(db) as second:
        with first.store.unit_of_work(write=True, note="an import of big.geojson by alice") as uow:
            with pytest.raises(RegistryBusy, match="an import of big.geojson by alice started at"):
                second.set_status(area, "confirmed", actor="bob", reason="seen")
            assert second.hazard(area).version == 1  # readers are not held up
            uow.settings.set("k", "v")
        second.set_status(area, "confirmed", actor="bob", reason="seen")
        assert second.hazard(area).version == 2


def test_a_record_held_by_another_program_is_busy(
    db: str, pg_refs: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANDRELEASE_BUSY_TIMEOUT_MS", "200")
    area = pg_refs["forest"]
    with psycopg.connect(db) as qgis:  # a transaction QGIS keeps open while editing
        qgis.execute("UPDATE hazard_areas SET notes = 'being edited' WHERE ref = %s", (area,))
        with Registry.open(db) as reg:
            with pytest.raises(RegistryBusy, match="another program"):
                reg.update_record("hazards", area, {"name": "mine"}, actor="t")
            assert reg.hazard(area).notes is None
        qgis.rollback()


def _count_and_write(queue: Any) -> None:
    """In a forked process: read and write through the store the parent opened."""
    store = _FORKED["store"]
    try:
        with store.unit_of_work(write=True) as uow:
            uow.settings.set("child", "wrote")
            queue.put(uow.records(HAZARDS).count())
    except BaseException as exc:  # the parent asserts on what comes back
        queue.put(repr(exc))


_FORKED: dict[str, Any] = {}


def test_a_forked_process_uses_connections_of_its_own(db: str) -> None:
    store = open_store(db)
    try:
        with store.unit_of_work() as uow:
            assert uow.records(HAZARDS).count() == 3  # the parent's pool is open
        _FORKED["store"] = store
        ctx = multiprocessing.get_context("fork")
        queue = ctx.Queue()
        child = ctx.Process(target=_count_and_write, args=(queue,))
        child.start()
        child.join(60)
        assert child.exitcode == 0 and queue.get(timeout=5) == 3
        with store.unit_of_work() as uow:  # the parent's connections still work
            assert uow.settings.get("child") == "wrote"
    finally:
        _FORKED.clear()
        store.close()


def test_threads_share_the_pool(db: str) -> None:
    with Registry.open(db) as reg:

        def read(i: int) -> int:
            with reg.store.unit_of_work() as uow:
                return uow.records(HAZARDS).count() + i

        with ThreadPoolExecutor(max_workers=24) as pool:
            assert list(pool.map(read, range(100))) == [3 + i for i in range(100)]


def test_a_read_is_one_snapshot_begun_by_its_first_statement(
    db: str, pg_refs: dict[str, str]
) -> None:
    with Registry.open(db) as reg, reg.store.unit_of_work() as uow:
        # nothing read yet: no snapshot taken, so a commit now is seen
        sql(db, "UPDATE hazard_areas SET notes = 'first' WHERE ref = %s", (pg_refs["kyiv"],))
        assert uow.records(HAZARDS).get(pg_refs["kyiv"])["notes"] == "first"
        sql(db, "UPDATE hazard_areas SET notes = 'second' WHERE ref = %s", (pg_refs["kyiv"],))
        assert uow.records(HAZARDS).get(pg_refs["kyiv"])["notes"] == "first"


def test_every_statement_writing_a_record_table_moves_its_change_counter(
    db: str, pg_refs: dict[str, str]
) -> None:
    def counters() -> dict[str, int]:
        return dict(sql(db, f"SELECT table_name, changes FROM {postgis_schema.CHANGES}"))

    before = counters()
    assert set(before) == {kind.table for kind in KINDS.values()}
    sql(db, "UPDATE hazard_areas SET notes = 'x' WHERE ref = %s", (pg_refs["kyiv"],))
    sql(db, "UPDATE hazard_areas SET notes = 'x' WHERE false")  # a statement, no row
    with pytest.raises(errors.RaiseException):
        sql(db, "DELETE FROM hazard_areas")  # refused: the count goes back with it
    role = f"lrt_editor_{uuid.uuid4().hex[:8]}"  # may edit the records only, as QGIS's user
    sql(db, f"CREATE ROLE {role}")
    try:
        sql(db, f"GRANT SELECT, UPDATE ON hazard_areas TO {role}")
        sql(db, f"GRANT SELECT, INSERT ON hazard_areas_history TO {role}")
        sql(db, f"GRANT SELECT, UPDATE ON landrelease_ref_counters TO {role}")
        with psycopg.connect(db, autocommit=True) as conn:
            conn.execute(f"SET ROLE {role}")
            conn.execute("UPDATE hazard_areas SET notes = 'y' WHERE ref = %s", (pg_refs["kyiv"],))
    finally:
        sql(db, f"DROP OWNED BY {role}")
        sql(db, f"DROP ROLE {role}")
    after = counters()
    assert after.pop(HAZARDS.table) == before.pop(HAZARDS.table) + 3
    assert after == before


def test_a_box_edited_outside_is_seen_by_the_next_read_from_memory(
    db: str, pg_refs: dict[str, str]
) -> None:
    with Registry.open(db) as reg:
        ref = pg_refs["kyiv"]
        area = reg.hazard(ref).geometry
        box = tuple(area.bounds)
        cols, matched = reg.record_page("hazards", columns=["ref", "version"], bbox=box)
        assert ref in cols["ref"] and matched == len(cols["ref"])
        far = shapely.affinity.translate(area, 3.0, 0.0)
        sql(
            db,
            "UPDATE hazard_areas SET geom = ST_Multi(ST_GeomFromText(%s, 4326)) WHERE ref = %s",
            (far.wkt, ref),
        )
        cols, _ = reg.record_page("hazards", columns=["ref", "version"], bbox=box)
        assert ref not in cols["ref"]
        cols, _ = reg.record_page("hazards", columns=["ref", "version"], bbox=far.bounds)
        assert cols["ref"] == [ref]
        assert cols["version"] == [reg.hazard(ref).version]


def test_a_connection_the_server_ended_fails_once_then_the_pool_is_checked(db: str) -> None:
    with Registry.open(db) as reg:
        with ThreadPoolExecutor(max_workers=4) as pool:  # several pooled connections
            list(pool.map(lambda _: reg.count("hazards"), range(16)))
        sql(
            db,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = 'landrelease'",
        )
        with pytest.raises(LandreleaseError, match="connection failed"):
            reg.count("hazards")
        assert [reg.count("hazards") for _ in range(8)] == [3] * 8


# -- opening: URLs, databases that are no registry, rights ----------------------------------


def test_a_url_that_cannot_be_reached_names_it_without_its_password() -> None:
    with pytest.raises(LandreleaseError) as info:
        open_store("postgresql://lr:s3cret@127.0.0.1:1/nothing")
    text = str(info.value)
    assert "s3cret" not in text and "lr:***@127.0.0.1:1/nothing" in text
    assert "cannot connect" in text


def test_a_missing_database_or_one_without_a_registry_is_not_found() -> None:
    admin = pg_admin_url()
    assert admin is not None
    missing = database_url(admin, f"lrt_missing_{uuid.uuid4().hex[:8]}")
    with pytest.raises(NotFound, match="does not exist"):
        open_store(missing)
    empty = new_database("empty")
    with pytest.raises(NotFound, match="landrelease init"):
        open_store(empty)
    sql(empty, "CREATE TABLE parcels (id integer)")
    with pytest.raises(InputFileError, match="not a landrelease registry"):
        open_store(empty)
    sql(empty, "CREATE TABLE hazard_areas (id integer)")
    before = snapshot(empty)
    with pytest.raises(InputFileError, match='"hazard_areas" that is not part of a landrelease'):
        open_store(empty, create=True)
    assert snapshot(empty) == before


def test_the_cli_says_one_line_for_a_bad_url(run_cli: Any) -> None:
    code, _out, err = run_cli(["hazards", "list", "--db", "postgresql://lr:pw@127.0.0.1:1/x"])
    assert code == 2 and len(err.strip().splitlines()) == 1 and ":pw@" not in err


def test_what_a_user_may_not_do_is_said_before_anything_is_written(db: str) -> None:
    role = f"lrt_user_{uuid.uuid4().hex[:8]}"
    try:
        sql(db, f"CREATE ROLE {role} LOGIN")
    except errors.InsufficientPrivilege:
        pytest.skip("the test cluster's user may not create roles")
    bare = new_database("nopostgis", template="template0")
    try:
        sql(db, f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
        as_role = {}
        for name, url in (("reader", db), ("maker", bare)):
            parts = urllib.parse.urlsplit(url)
            netloc = f"{role}@{parts.hostname}:{parts.port}"
            as_role[name] = urllib.parse.urlunsplit(parts._replace(netloc=netloc))
        with Registry.open(as_role["reader"]) as reg:  # may read, not write: read-only
            assert reg.store.readonly and len(reg.hazards()["ref"]) == 3
            with pytest.raises(RegistryReadOnly, match="write access"):
                reg.update_record("hazards", reg.hazards()["ref"][0], {"notes": "x"}, actor="t")
        with pytest.raises(LandreleaseError, match="CREATE EXTENSION postgis"):
            open_store(as_role["maker"], create=True)  # PostGIS needs a superuser
        assert sql(bare, "SELECT count(*) FROM pg_extension WHERE extname = 'postgis'") == [(0,)]
    finally:
        sql(db, f"DROP OWNED BY {role}")
        sql(bare, f"DROP OWNED BY {role}")
        sql(db, f"DROP ROLE {role}")


def test_database_errors_that_mean_something_are_ours(db: str) -> None:

    store = PostgisStore(db)
    assert isinstance(store._error(errors.DeadlockDetected("deadlock detected"), 0), ConflictError)
    assert isinstance(store._error(errors.SerializationFailure("could not"), 0), ConflictError)
    busy = store._error(errors.LockNotAvailable("canceling statement due to lock timeout"), 0)
    assert isinstance(busy, RegistryBusy) and "another program" in str(busy)
    refused = store._error(errors.RaiseException("landrelease: history is never changed"), 0)
    assert isinstance(refused, ValidationError) and str(refused).startswith("landrelease:")
    assert store._error(errors.UniqueViolation("duplicate key"), 0) is None  # the caller's


def test_as_many_reads_as_the_pool_holds_all_answer_boxes_from_memory(
    db: str, pg_refs: dict[str, str]
) -> None:
    """Each read asks the box index through its own connection: a pool's worth of reads at
    once, each holding its connection, do not wait for one more (they did, until the pool
    gave up and called the registry busy)."""
    import threading

    from landrelease.store.postgis import POOL_SIZE

    store = open_store(db)
    together = threading.Barrier(POOL_SIZE, timeout=20)

    def read() -> list[str]:
        with store.unit_of_work() as uow:
            records = uow.records(HAZARDS)
            records.get(pg_refs["kyiv"])  # the read holds its pooled connection from here
            together.wait()  # every connection of the pool is held by a read now
            got = records.select(columns=["ref", "version"], bbox=(22, 44, 41, 53), geometry=False)
            return sorted(got["ref"])

    try:
        with ThreadPoolExecutor(max_workers=POOL_SIZE) as pool:
            answers = list(pool.map(lambda _: read(), range(POOL_SIZE)))
    finally:
        store.close()
    assert all(a == answers[0] for a in answers) and set(pg_refs.values()) <= set(answers[0])
