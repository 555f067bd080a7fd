"""The PostGIS tables beside the records: settings, serials, batches, users, sessions,
proposals, reference layers and saved rankings, each behaving as its SQLite twin.

Each test has a database of its own on the throw-away cluster (tests/backends.py), with the
tables of every migration step made by `side_tables_ddl`; the repositories run in a small
unit of work of this module (one psycopg transaction), and raw SQL plays QGIS or any other
client. Users, areas and layers are synthetic.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
import shapely

import backends

if backends.pg_admin_url() is None:
    pytest.skip(f"no PostgreSQL cluster for tests ({backends.PG_ENV})", allow_module_level=True)

import psycopg  # noqa: E402

from landrelease.domain.errors import ConflictError, NotFound, ValidationError  # noqa: E402
from landrelease.domain.records import KINDS  # noqa: E402
from landrelease.store import history, layers, rankings, schema, users  # noqa: E402
from landrelease.store.postgis_tables import (  # noqa: E402
    PgBatches,
    PgLayers,
    PgProposals,
    PgRankings,
    PgSerials,
    PgSessions,
    PgSettings,
    PgUsers,
    side_tables_ddl,
)

STEPS = ("0001", "0002", "0003", "0004", "0005", "0006")
AT = "2024-05-01T10:00:00.000Z"
X, Y = 36.2, 49.9  # near Kharkiv


class Unit:
    """A unit of work as the repositories use it: one transaction on one connection."""

    def __init__(self, conn: psycopg.Connection[Any], write: bool) -> None:
        self._conn = conn
        self.write = write

    def execute(self, sql: str, params: Any = ()) -> psycopg.Cursor[Any]:
        return self._conn.execute(sql, params)


@pytest.fixture
def db() -> str:
    """Return the URL of a new database holding the tables of every migration step."""
    url = backends.new_database("p2")
    with psycopg.connect(url) as conn:
        for step in STEPS:
            for sql in side_tables_ddl(step):
                conn.execute(sql, ())
    return url


@contextmanager
def unit(url: str, *, write: bool = False) -> Iterator[Unit]:
    """Yield a unit of work on `url`: committed if the block succeeds, else rolled back; a
    read one is a read-only snapshot."""
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        if not write:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield Unit(conn, write)


def raw(url: str, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
    """Run one statement as another SQL client would (its own transaction); return its rows."""
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else []


def table_rows(url: str, *tables: str) -> dict[str, list[tuple[Any, ...]]]:
    return {t: raw(url, f"SELECT * FROM {t} ORDER BY 1") for t in tables}


# -- the tables ------------------------------------------------------------------------------


def _sqlite_tables() -> tuple[dict[str, list[str]], set[str]]:
    """Return {table: its columns in order} and the trigger names of the same tables made by
    the SQLite backend."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(history.BATCHES_DDL)
        users.create_tables(conn.execute)
        layers.create_tables(conn.execute)
        rankings.create_tables(conn.execute)
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        out = {
            t: [r[1] for r in conn.execute(f"PRAGMA table_info({t})")]
            for t in tables
            if t != "sqlite_sequence"
        }
        triggers = {
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'")
        }
    finally:
        conn.close()
    for table in (schema.settings, schema.ref_counters):
        out[table.name] = [c.name for c in table.columns]
    return out, triggers


def test_the_tables_have_sqlites_names_and_columns_in_its_order(db: str) -> None:
    expected, triggers = _sqlite_tables()
    rows = raw(
        db,
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name LIKE 'landrelease%%' "
        "ORDER BY table_name, ordinal_position",
    )
    got: dict[str, list[str]] = {}
    for table, column in rows:
        got.setdefault(table, []).append(column)
    assert got == expected
    pg_triggers = {r[0] for r in raw(db, "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")}
    assert triggers <= pg_triggers


_DECIDED = (
    "INSERT INTO landrelease_status_proposals (ref, from_status, to_status, "
    "expected_version, proposed_by, proposed_at, state) "
    "VALUES ('UA-2024-00001', 'suspected', 'cancelled', 1, 'erin', 'x', 'approved')"
)
_SAVED = (
    "INSERT INTO landrelease_rankings VALUES ('r', 'x', 'tester', '2024-05-01', '', '{}', 1)",
    "INSERT INTO landrelease_ranking_areas VALUES ('r', 1, 'UA-2024-00001', 0.5, '{}')",
)


@pytest.mark.parametrize(
    ("setup", "sql"),
    [
        (
            (
                "INSERT INTO landrelease_users (name, role, token_id, token_hash, created_at, "
                "created_by) VALUES ('alice', 'editor', 't', 'h', 'x', 'admin')",
            ),
            "DELETE FROM landrelease_users",
        ),
        ((_DECIDED,), "DELETE FROM landrelease_status_proposals"),
        ((_DECIDED,), "UPDATE landrelease_status_proposals SET reason = 'r'"),
        (_SAVED, "UPDATE landrelease_rankings SET config = 'c'"),
        (_SAVED, "DELETE FROM landrelease_rankings"),
        (_SAVED, "UPDATE landrelease_ranking_areas SET score = 1"),
        (_SAVED, "DELETE FROM landrelease_ranking_areas"),
    ],
)
def test_a_refusal_says_what_sqlite_says(db: str, setup: tuple[str, ...], sql: str) -> None:
    conn = sqlite3.connect(":memory:")
    try:
        users.create_tables(conn.execute)
        rankings.create_tables(conn.execute)
        for statement in setup:
            conn.execute(statement)
        with pytest.raises(sqlite3.IntegrityError) as on_sqlite:
            conn.execute(sql)
    finally:
        conn.close()
    for statement in setup:
        raw(db, statement)
    with pytest.raises(psycopg.errors.IntegrityError) as on_postgis:
        raw(db, sql)
    assert on_postgis.value.diag.message_primary == str(on_sqlite.value)


def test_each_step_makes_the_tables_sqlite_makes_in_it() -> None:
    made: dict[str, set[str]] = {}
    for step in STEPS:
        made[step] = {
            sql.split()[2] for sql in side_tables_ddl(step) if sql.startswith("CREATE TABLE")
        }
    assert made == {
        "0001": {"landrelease_settings", "landrelease_ref_counters"},
        "0002": set(),
        "0003": set(),
        "0004": {"landrelease_batches"},
        "0005": {"landrelease_users", "landrelease_sessions", "landrelease_status_proposals"},
        "0006": {
            "landrelease_reference_layers",
            "landrelease_rankings",
            "landrelease_ranking_areas",
        },
    }
    with pytest.raises(ValueError, match="0007"):
        side_tables_ddl("0007")


# -- settings, batches, serials --------------------------------------------------------------


def test_settings_are_set_read_and_replaced(db: str) -> None:
    with unit(db, write=True) as uow:
        settings = PgSettings(uow)
        assert settings.get("country") is None
        assert settings.get("country", "XX") == "XX"
        settings.set("country", "UA")
        settings.set("boundary", "{}")
        settings.set("country", "AF")
    with unit(db) as uow:
        assert PgSettings(uow).get("country") == "AF"
        assert PgSettings(uow).get("boundary") == "{}"


def test_a_read_unit_of_work_refuses_a_write_as_sqlite_does(db: str) -> None:
    with unit(db) as uow, pytest.raises(RuntimeError, match="write=True"):
        PgSettings(uow).set("k", "v")


def test_batches_are_numbered_and_read_back(db: str) -> None:
    hazards = KINDS["hazards"]
    with unit(db, write=True) as uow:
        one = PgBatches(uow).add(
            hazards,
            at=AT,
            actor="alice",
            reason="survey 12",
            source="areas.geojson",
            sha256="ab" * 32,
            records=2,
            rejected=1,
        )
        two = PgBatches(uow).add(
            KINDS["events"], at=AT, actor="bob", reason=None, source=None, sha256=None, records=5
        )
    assert isinstance(one, int) and two > one
    with unit(db) as uow:
        assert PgBatches(uow).get(one) == {
            "kind": "hazards",
            "at": AT,
            "actor": "alice",
            "reason": "survey 12",
            "source": "areas.geojson",
            "sha256": "ab" * 32,
            "records": 2,
            "rejected": 1,
        }
        assert PgBatches(uow).get(two)["rejected"] == 0
        with pytest.raises(NotFound, match=f"no import batch {two + 1000}"):
            PgBatches(uow).get(two + 1000)


def test_serials_count_on_per_prefix(db: str) -> None:
    with unit(db, write=True) as uow:
        serials = PgSerials(uow)
        assert list(serials.reserve("UA-2024", 3)) == [1, 2, 3]
        assert list(serials.reserve("UA-2024", 2)) == [4, 5]
        assert list(serials.reserve("UA-EV-2024", 1)) == [1]
    with pytest.raises(RuntimeError, match="rolled back"):  # noqa: PT012
        with unit(db, write=True) as uow:
            assert list(PgSerials(uow).reserve("UA-2024", 4)) == [6, 7, 8, 9]
            raise RuntimeError("rolled back")
    with unit(db, write=True) as uow:
        assert list(PgSerials(uow).reserve("UA-2024", 1)) == [6]


def test_a_writer_reserving_meanwhile_counts_on_after_the_first_commits(db: str) -> None:
    got: list[range] = []
    with unit(db, write=True) as first:
        assert list(PgSerials(first).reserve("UA-2024", 5)) == [1, 2, 3, 4, 5]

        def second() -> None:
            with unit(db, write=True) as uow:
                got.append(PgSerials(uow).reserve("UA-2024", 3))

        thread = threading.Thread(target=second)
        thread.start()  # it waits for the first's row lock, whenever it gets there
    thread.join()
    assert [list(r) for r in got] == [[6, 7, 8]]


def test_concurrent_writers_never_get_the_same_serial(db: str) -> None:
    writers, rounds = 4, 30
    barrier = threading.Barrier(writers)
    got: list[list[tuple[str, int]]] = [[] for _ in range(writers)]
    failed: list[BaseException] = []

    def write(i: int) -> None:
        try:
            with psycopg.connect(db, autocommit=True) as conn:
                barrier.wait()
                for k in range(rounds):
                    prefix = f"UA-{2020 + k % 3}"  # the first round makes each prefix at once
                    with conn.transaction():
                        reserved = PgSerials(Unit(conn, True)).reserve(prefix, 1 + (i + k) % 4)
                    got[i] += [(prefix, n) for n in reserved]
        except BaseException as exc:  # reported by the test, not lost in the thread
            failed.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failed
    every = [pair for numbers in got for pair in numbers]
    assert len(every) == len(set(every))  # none twice
    for prefix in {p for p, _ in every}:
        numbers = sorted(n for p, n in every if p == prefix)
        assert numbers == list(range(1, len(numbers) + 1))  # none skipped
    assert raw(db, "SELECT sum(last) FROM landrelease_ref_counters") == [(len(every),)]


# -- users -----------------------------------------------------------------------------------


def add_user(uow: Unit, name: str, token_id: str | None = None, role: str = "editor") -> None:
    PgUsers(uow).add(
        name=name,
        role=role,
        token_id=token_id or f"id-{name.lower()}",
        token_hash=f"$argon2id$hash-of-{name}",
        at=AT,
        actor="admin",
    )


def test_users_are_added_found_in_any_case_and_listed_in_order(db: str) -> None:
    with unit(db, write=True) as uow:
        add_user(uow, "bob", role="viewer")
        add_user(uow, "Alice")
    with unit(db) as uow:
        repo = PgUsers(uow)
        alice = {
            "name": "Alice",
            "role": "editor",
            "created_at": AT,
            "created_by": "admin",
            "revoked_at": None,
            "revoked_by": None,
        }
        assert repo.get("alice") == alice
        assert repo.get("ALICE") == alice
        assert repo.get("carol") is None
        assert repo.credentials("id-alice") == {**alice, "token_hash": "$argon2id$hash-of-Alice"}
        assert repo.credentials("id-nobody") is None
        assert [u["name"] for u in repo.all()] == ["bob", "Alice"]
        assert not {"token_id", "token_hash"} & set(repo.all()[0])


def test_a_name_is_taken_whatever_its_case_even_after_a_revocation(db: str) -> None:
    with unit(db, write=True) as uow:
        add_user(uow, "alice")
        PgUsers(uow).revoke("alice", at=AT, actor="admin")
    for name in ("alice", "ALICE", "Alice"):
        with unit(db, write=True) as uow, pytest.raises(ValidationError) as caught:
            add_user(uow, name, token_id=f"other-{name}")
        assert caught.value.field == "name" and caught.value.record == name
        assert "exists already" in caught.value.message
    assert len(raw(db, "SELECT * FROM landrelease_users")) == 1


def test_two_writers_adding_one_name_at_once_leave_one_user(db: str) -> None:
    caught: list[BaseException] = []
    with unit(db, write=True) as first:
        add_user(first, "alice")

        def second() -> None:
            try:
                with unit(db, write=True) as uow:
                    add_user(uow, "ALICE", token_id="id-second")
            except BaseException as exc:
                caught.append(exc)

        thread = threading.Thread(target=second)
        thread.start()
    thread.join()
    assert len(caught) == 1 and isinstance(caught[0], ValidationError)
    assert raw(db, "SELECT name FROM landrelease_users") == [("alice",)]


def test_a_token_id_in_use_is_refused(db: str) -> None:
    with unit(db, write=True) as uow:
        add_user(uow, "alice", token_id="same")
    with unit(db, write=True) as uow, pytest.raises(psycopg.errors.UniqueViolation):
        add_user(uow, "bob", token_id="same")


def test_revoking_keeps_the_row_and_the_first_revocation(db: str) -> None:
    with unit(db, write=True) as uow:
        add_user(uow, "alice")
        PgUsers(uow).revoke("alice", at=AT, actor="one")
        PgUsers(uow).revoke("ALICE", at="2024-06-01T00:00:00.000Z", actor="two")
        with pytest.raises(NotFound, match="no user named 'nobody'"):
            PgUsers(uow).revoke("nobody", at=AT, actor="one")
    with unit(db) as uow:
        alice = PgUsers(uow).get("alice")
    assert alice is not None and (alice["revoked_at"], alice["revoked_by"]) == (AT, "one")


@pytest.mark.parametrize(
    "sql", ["DELETE FROM landrelease_users", "TRUNCATE landrelease_users CASCADE"]
)
def test_users_are_never_deleted_by_any_client(db: str, sql: str) -> None:
    with unit(db, write=True) as uow:
        add_user(uow, "alice")
    with pytest.raises(psycopg.errors.IntegrityError, match="users revoke NAME"):
        raw(db, sql)
    assert len(raw(db, "SELECT * FROM landrelease_users")) == 1


# -- sessions --------------------------------------------------------------------------------


def add_session(uow: Unit, id_hash: str, user: str, expires: str) -> None:
    PgSessions(uow).add(
        id_hash=id_hash,
        user_name=user,
        csrf_token=f"csrf-{id_hash}",
        created_at=AT,
        expires_at=expires,
    )


def test_sessions_are_found_by_hash_and_ended(db: str) -> None:
    later = "2024-05-02T10:00:00.000Z"
    with unit(db, write=True) as uow:
        add_session(uow, "h1", "alice", later)
        add_session(uow, "h2", "Alice", later)
        add_session(uow, "h3", "bob", later)
        sessions = PgSessions(uow)
        assert sessions.get("h1") == {
            "user_name": "alice",
            "csrf_token": "csrf-h1",
            "created_at": AT,
            "expires_at": later,
            "ended_at": None,
        }
        assert sessions.get("nope") is None
        sessions.end("h1", at="2024-05-01T11:00:00.000Z")
        sessions.end("h1", at="2024-05-01T12:00:00.000Z")  # ended already: left as it is
        sessions.end("nope", at=AT)
        assert sessions.get("h1")["ended_at"] == "2024-05-01T11:00:00.000Z"
        assert sessions.end_all("ALICE", at="2024-05-01T13:00:00.000Z") == 1  # h2, any case
        assert sessions.end_all("alice", at=AT) == 0
        assert sessions.get("h3")["ended_at"] is None


def test_purge_deletes_the_sessions_ended_or_expired_before(db: str) -> None:
    with unit(db, write=True) as uow:
        add_session(uow, "expired", "alice", "2024-05-01T09:00:00.000Z")
        add_session(uow, "ended", "alice", "2024-06-01T00:00:00.000Z")
        add_session(uow, "open", "alice", "2024-06-01T00:00:00.000Z")
        PgSessions(uow).end("ended", at="2024-05-01T09:30:00.000Z")
        assert PgSessions(uow).purge(before=AT) == 2
        assert PgSessions(uow).purge(before=AT) == 0
    assert raw(db, "SELECT id_hash FROM landrelease_sessions") == [("open",)]


# -- status proposals ------------------------------------------------------------------------


def propose(uow: Unit, ref: str, to_status: str = "cancelled") -> int:
    return PgProposals(uow).add(
        ref=ref,
        from_status="suspected",
        to_status=to_status,
        reason="NTS found no evidence",
        expected_version=3,
        proposed_by="erin",
        proposed_at=AT,
    )


def test_proposals_are_recorded_selected_and_decided_once(db: str) -> None:
    with unit(db, write=True) as uow:
        one, two = propose(uow, "UA-2024-00001"), propose(uow, "UA-2024-00002", "confirmed")
        repo = PgProposals(uow)
        assert repo.get(one) == {
            "id": one,
            "ref": "UA-2024-00001",
            "from_status": "suspected",
            "to_status": "cancelled",
            "reason": "NTS found no evidence",
            "expected_version": 3,
            "proposed_by": "erin",
            "proposed_at": AT,
            "state": "pending",
            "decided_by": None,
            "decided_at": None,
            "decision_reason": None,
        }
        repo.decide(one, state="approved", by="vera", at="2024-05-02T00:00:00.000Z", reason="ok")
        with pytest.raises(ConflictError, match=f"{one} was approved already, by vera"):
            repo.decide(one, state="rejected", by="victor", at=AT, reason=None)
        with pytest.raises(NotFound, match=f"no status proposal {two + 100}"):
            repo.decide(two + 100, state="rejected", by="vera", at=AT, reason=None)
        with pytest.raises(NotFound):
            repo.get(two + 100)
    with unit(db) as uow:
        repo = PgProposals(uow)
        assert [p["id"] for p in repo.select()] == [one, two]
        assert [p["id"] for p in repo.select("pending")] == [two]
        assert [p["id"] for p in repo.select("approved")] == [one]
        assert repo.get(one)["decision_reason"] == "ok"


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("DELETE FROM landrelease_status_proposals", "never deleted"),
        ("TRUNCATE landrelease_status_proposals", "never deleted"),
        ("UPDATE landrelease_status_proposals SET to_status = 'released'", "never changed"),
        ("UPDATE landrelease_status_proposals SET state = 'pending'", "never changed"),
    ],
)
def test_proposals_are_never_deleted_nor_changed_once_decided(
    db: str, sql: str, message: str
) -> None:
    with unit(db, write=True) as uow:
        decided = propose(uow, "UA-2024-00001")
        PgProposals(uow).decide(decided, state="rejected", by="vera", at=AT, reason=None)
    before = table_rows(db, "landrelease_status_proposals")
    with pytest.raises(psycopg.errors.IntegrityError, match=message):
        raw(db, sql)
    assert table_rows(db, "landrelease_status_proposals") == before


def test_a_pending_proposal_may_still_change(db: str) -> None:
    with unit(db, write=True) as uow:
        pending = propose(uow, "UA-2024-00001")
    raw(db, "UPDATE landrelease_status_proposals SET reason = 'more detail'")
    with unit(db) as uow:
        assert PgProposals(uow).get(pending)["reason"] == "more detail"


# -- saved rankings --------------------------------------------------------------------------


def ranking(ranking_id: str, at: str = AT, **extra: Any) -> dict[str, Any]:
    return {
        "id": ranking_id,
        "created_at": at,
        "created_by": "tester",
        "as_of": dt.date(2024, 5, 1),
        "config": "# synthetic test configuration\n[weights]\npeople = 1.0\n",
        "inputs": {"layers": {"roads": "ab" * 32}, "engine": "1", "registry": "cd" * 8},
        **extra,
    }


def areas(refs: list[str]) -> list[dict[str, Any]]:
    # 0.1 + 0.2 is not 0.3, and 1e16 is a float: what is read back is the very value given
    return [
        {
            "rank": i + 1,
            "ref": ref,
            "score": 0.1 + 0.2 * (len(refs) - i),
            "components": {"people": 1240.5 / (i + 1), "roads": 0.1 + 0.2, "big": 1e16},
        }
        for i, ref in enumerate(refs)
    ]


def save(url: str, r: dict[str, Any], rows: list[dict[str, Any]]) -> bool:
    with unit(url, write=True) as uow:
        return PgRankings(uow).add(r, rows)


REFS = ["UA-2024-00003", "UA-2024-00001", "UA-2024-00002"]


def test_a_saved_ranking_reads_back_exactly(db: str) -> None:
    rows = areas(REFS)
    assert save(db, ranking("a1"), rows)
    with unit(db) as uow:
        repo = PgRankings(uow)
        got, back = repo.get("a1"), repo.areas("a1")
        assert repo.get("nope") is None and repo.areas("nope") == []
    assert got == {**ranking("a1"), "as_of": "2024-05-01", "areas": 3}
    assert back == rows
    assert all(isinstance(a["components"]["big"], float) for a in back)


def test_inputs_and_components_given_as_json_text_are_kept_as_written(db: str) -> None:
    text = '{"z": 1, "a": [1.50, 2]}'
    row = {"rank": 1, "ref": "UA-2024-00001", "score": 2.5, "components": text}
    assert save(db, ranking("t", inputs=text, areas=7), [row])
    assert raw(db, "SELECT inputs::text, areas FROM landrelease_rankings") == [(text, 7)]
    with unit(db) as uow:
        assert PgRankings(uow).get("t")["inputs"] == {"z": 1, "a": [1.5, 2]}
        assert PgRankings(uow).areas("t")[0]["components"] == {"z": 1, "a": [1.5, 2]}


def test_latest_and_all_follow_the_time_saved(db: str) -> None:
    with unit(db) as uow:
        assert PgRankings(uow).latest() is None and PgRankings(uow).all() == []
    save(db, ranking("old", "2024-05-01T10:00:00.000Z"), areas(REFS[:1]))
    save(db, ranking("new", "2024-06-01T10:00:00.000Z"), areas(REFS[:1]))
    save(db, ranking("mid", "2024-05-15T10:00:00.000Z"), areas(REFS[:1]))
    with unit(db) as uow:
        latest = PgRankings(uow).latest()
        listed = [r["id"] for r in PgRankings(uow).all()]
    assert latest is not None and latest["id"] == "new"
    assert listed == ["old", "mid", "new"]


def test_the_same_id_is_saved_once(db: str) -> None:
    assert save(db, ranking("same"), areas(REFS))
    before = table_rows(db, "landrelease_rankings", "landrelease_ranking_areas")
    assert not save(db, ranking("same", created_by="someone else"), areas(REFS[:1]))
    assert table_rows(db, "landrelease_rankings", "landrelease_ranking_areas") == before


def test_a_failed_save_leaves_nothing(db: str) -> None:
    with pytest.raises(psycopg.errors.UniqueViolation):
        save(db, ranking("twice"), areas([REFS[0], REFS[0]]))  # one area twice
    assert raw(db, "SELECT count(*) FROM landrelease_rankings") == [(0,)]


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE landrelease_rankings SET config = 'weights bent'",
        "DELETE FROM landrelease_rankings",
        "TRUNCATE landrelease_rankings CASCADE",
        "UPDATE landrelease_ranking_areas SET rank = 1",
        "UPDATE landrelease_ranking_areas SET score = score * 2 WHERE rank = 3",
        "DELETE FROM landrelease_ranking_areas WHERE rank = 3",
        "TRUNCATE landrelease_ranking_areas",
    ],
)
def test_saved_rankings_are_append_only_for_any_client(db: str, sql: str) -> None:
    save(db, ranking("kept"), areas(REFS))
    before = table_rows(db, "landrelease_rankings", "landrelease_ranking_areas")
    with pytest.raises(psycopg.errors.IntegrityError, match="append-only"):
        raw(db, sql)
    assert table_rows(db, "landrelease_rankings", "landrelease_ranking_areas") == before


# -- reference layers ------------------------------------------------------------------------


def add_layer(
    uow: Unit,
    name: str,
    geometry_type: str,
    geoms: Any,
    columns: dict[str, Any] | None = None,
    *,
    kind: str = "settlements",
    source: str | None = "synthetic",
) -> str:
    return PgLayers(uow).add(
        name,
        kind,
        geometry_type,
        np.asarray(geoms, dtype=object),
        {k: np.asarray(v) for k, v in (columns or {}).items()},
        source,
        "0" * 64,
        AT,
        "tester",
    )


def towns(n: int = 5) -> np.ndarray:
    return shapely.points(np.full(n, X) + 0.01 * np.arange(n), np.full(n, Y))


def test_a_layer_reads_back_as_written(db: str) -> None:
    text = np.array(
        ["tab\there", "line\nbreak", "back\\slash", None, "Ünïcode 'quote' 100%"], dtype=object
    )
    columns = {
        "population": np.array([1240.5, np.nan, 0.1 + 0.2, 1e16, -0.0]),
        "class": text,  # names SQL keeps for itself are columns like any other
        "order": np.array([1, 2, 3, 2**40, -5], dtype=np.int64),
        "user": np.array(["a", "b", "c", "d", "e"]),
    }
    with unit(db, write=True) as uow:
        assert add_layer(uow, "towns-east", "POINT", towns(), columns) == "ref_towns_east"
    with unit(db) as uow:
        geoms, got = PgLayers(uow).read("towns-east")
        row = PgLayers(uow).get("towns-east")
    assert shapely.equals_exact(geoms, towns(), tolerance=0).all()
    assert list(got) == ["population", "class", "order", "user"]
    assert got["population"].dtype == np.float64
    np.testing.assert_array_equal(got["population"], columns["population"])
    assert got["class"].tolist() == text.tolist()
    assert got["order"].tolist() == [1, 2, 3, 2**40, -5]
    assert got["user"].tolist() == ["a", "b", "c", "d", "e"]
    assert row == {
        "name": "towns-east",
        "kind": "settlements",
        "table_name": "ref_towns_east",
        "features": 5,
        "geometry_type": "POINT",
        "source": "synthetic",
        "content_sha256": "0" * 64,
        "added_at": AT,
        "added_by": "tester",
    }


def test_a_layer_is_a_postgis_layer_with_a_gist_index_and_a_description(db: str) -> None:
    square = shapely.box(X, Y, X + 0.01, Y + 0.01)
    two_squares = shapely.MultiPolygon([square, shapely.box(X + 1, Y, X + 1.01, Y + 0.01)])
    road = shapely.LineString([(X, Y), (X + 0.1, Y + 0.1)])
    with unit(db, write=True) as uow:
        add_layer(uow, "landuse", "MULTIPOLYGON", [square, two_squares], kind="landuse")
        add_layer(uow, "roads", "LINESTRING", [road], kind="roads", source=None)
        add_layer(
            uow,
            "roads_multi",
            "MULTILINESTRING",
            [shapely.MultiLineString([road])],
            source="C:\\maps\\roads 100% 'osm'.gpkg",
        )
        add_layer(uow, "schools", "MULTIPOINT", [shapely.MultiPoint([(X, Y), (X, Y + 1)])])
    found = raw(
        db,
        "SELECT f_table_name, type, srid FROM geometry_columns WHERE f_geometry_column = 'geom' "
        "ORDER BY 1",
    )
    assert found == [
        ("ref_landuse", "MULTIPOLYGON", 4326),
        ("ref_roads", "LINESTRING", 4326),
        ("ref_roads_multi", "MULTILINESTRING", 4326),
        ("ref_schools", "MULTIPOINT", 4326),
    ]
    indexes = raw(db, "SELECT indexdef FROM pg_indexes WHERE tablename = 'ref_landuse'")
    assert any("USING gist (geom)" in i for (i,) in indexes)
    assert raw(db, "SELECT obj_description('ref_roads'::regclass)") == [
        ("Reference layer (roads) roads: no source given",)
    ]
    assert raw(db, "SELECT obj_description('ref_roads_multi'::regclass)") == [
        ("Reference layer (settlements) roads_multi: C:\\maps\\roads 100% 'osm'.gpkg",)
    ]
    with unit(db) as uow:
        geoms, _ = PgLayers(uow).read("landuse")
        assert len(PgLayers(uow).all()) == 4
    # a Polygon is kept as the one-part MultiPolygon it is, as in the GeoPackage
    assert geoms[0].geom_type == "MultiPolygon" and geoms[0].equals(square)
    assert shapely.equals_exact(geoms[1], two_squares, tolerance=0)


def test_layers_are_listed_by_kind_then_name(db: str) -> None:
    with unit(db, write=True) as uow:
        add_layer(uow, "towns_b", "POINT", towns(), kind="settlements")
        add_layer(uow, "towns-a", "POINT", towns(), kind="settlements")
        add_layer(uow, "clinics", "POINT", towns(), kind="facilities")
    with unit(db) as uow:
        listed = [(r["kind"], r["name"]) for r in PgLayers(uow).all()]
    assert listed == [
        ("facilities", "clinics"),
        ("settlements", "towns-a"),
        ("settlements", "towns_b"),
    ]


def test_a_name_or_table_in_use_is_refused_and_nothing_written(db: str) -> None:
    with unit(db, write=True) as uow:
        add_layer(uow, "a-b", "POINT", towns())
    raw(db, "CREATE TABLE ref_parks (id integer)")  # a table of someone else's
    before = raw(db, "SELECT name FROM landrelease_reference_layers")
    for name, words in (
        ("a-b", "layers remove a-b"),
        ("a_b", "the table ref_a_b of this name is used by layer 'a-b'"),  # '-' is '_'
        ("parks", "used by another table"),
    ):
        with unit(db, write=True) as uow, pytest.raises(ValidationError) as caught:
            add_layer(uow, name, "POINT", towns())
        assert caught.value.field == "name" and words in caught.value.message
    assert raw(db, "SELECT name FROM landrelease_reference_layers") == before


@pytest.mark.parametrize(
    ("geometry_type", "geoms", "columns", "words"),
    [
        ("POINT", [], {}, "at least one feature"),
        ("POLYGON", [shapely.box(0, 0, 1, 1)], {}, "not a reference layer geometry type"),
        ("POINT", [shapely.LineString([(0, 0), (1, 1)])], {}, "geometries other than POINT"),
        ("POINT", [shapely.Point(1, 2, 3)], {}, "Point Z"),
        ("POINT", [shapely.Point(1, 2)], {"Bad": ["x"]}, "column name: 'Bad'"),
        ("POINT", [shapely.Point(1, 2)], {"fid": [1]}, "column name: 'fid'"),
        ("POINT", [shapely.Point(1, 2)], {"n": [1, 2]}, "2 values for 1 features"),
    ],
)
def test_a_layer_the_store_cannot_keep_is_refused(
    db: str, geometry_type: str, geoms: list[Any], columns: dict[str, Any], words: str
) -> None:
    with unit(db, write=True) as uow, pytest.raises(ValueError, match=words):
        add_layer(uow, "bad", geometry_type, geoms, columns)
    assert raw(db, "SELECT to_regclass('ref_bad')") == [(None,)]


def test_a_layer_rolled_back_leaves_no_table(db: str) -> None:
    with pytest.raises(RuntimeError, match="power cut"):  # noqa: PT012
        with unit(db, write=True) as uow:
            add_layer(uow, "roads", "POINT", towns())
            assert PgLayers(uow).get("roads") is not None
            raise RuntimeError("power cut")
    assert raw(db, "SELECT to_regclass('ref_roads')") == [(None,)]
    assert raw(db, "SELECT count(*) FROM landrelease_reference_layers") == [(0,)]


def test_a_read_unit_of_work_cannot_add_a_layer(db: str) -> None:
    with unit(db) as uow, pytest.raises(RuntimeError, match="write=True"):
        add_layer(uow, "roads", "POINT", towns())


def test_columns_added_in_a_gis_client_are_read_if_we_could_have_written_them(db: str) -> None:
    with unit(db, write=True) as uow:
        add_layer(uow, "towns", "POINT", towns(2), {"population": [1.0, 2.0]})
    raw(db, 'ALTER TABLE ref_towns ADD COLUMN "Note" text, ADD COLUMN remark text')
    raw(db, "UPDATE ref_towns SET remark = 'checked' WHERE fid = 1")
    raw(db, "INSERT INTO ref_towns (geom) VALUES (NULL)")  # a row with no geometry
    with unit(db) as uow:
        geoms, got = PgLayers(uow).read("towns")
    assert list(got) == ["population", "remark"]
    assert got["remark"].tolist() == ["checked", None, None]
    assert np.isnan(got["population"][2]) and geoms[2] is None


def test_removing_a_layer_drops_its_table_and_its_row(db: str) -> None:
    with unit(db, write=True) as uow:
        add_layer(uow, "towns", "POINT", towns())
    raw(db, "CREATE TABLE layer_styles (id serial, f_table_name text, stylename text)")
    raw(db, "INSERT INTO layer_styles (f_table_name, stylename) VALUES ('ref_towns', 'dots')")
    with unit(db, write=True) as uow:
        row = PgLayers(uow).remove("towns")
        assert row["table_name"] == "ref_towns"
        with pytest.raises(NotFound, match="no reference layer named 'towns'"):
            PgLayers(uow).remove("towns")
        with pytest.raises(NotFound, match="layers list"):
            PgLayers(uow).read("towns")
        assert PgLayers(uow).get("towns") is None and PgLayers(uow).all() == []
    assert raw(db, "SELECT to_regclass('ref_towns')") == [(None,)]
    assert raw(db, "SELECT count(*) FROM layer_styles") == [(0,)]
    with unit(db, write=True) as uow:  # and the name can be used again
        add_layer(uow, "towns", "POINT", towns(1))


def test_a_200000_point_layer_reads_back_equal(db: str) -> None:
    n = 200_000
    rng = np.random.default_rng(7)
    geoms = shapely.points(rng.uniform(22.0, 40.0, n), rng.uniform(44.0, 52.0, n))
    population = rng.gamma(2.0, 300.0, n)
    population[::97] = np.nan
    kinds = np.array(["village", "town", "city", None], dtype=object)[rng.integers(0, 4, n)]
    with unit(db, write=True) as uow:
        add_layer(uow, "settlements", "POINT", geoms, {"population": population, "kind": kinds})
    with unit(db) as uow:
        back, columns = PgLayers(uow).read("settlements")
        assert PgLayers(uow).get("settlements")["features"] == n
    assert len(back) == n and shapely.equals_exact(back, geoms, tolerance=0).all()
    np.testing.assert_array_equal(columns["population"], population)
    assert columns["kind"].tolist() == kinds.tolist()
