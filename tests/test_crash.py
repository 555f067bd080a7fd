"""A writer killed mid-write leaves the registry as it was, or holding only whole writes.

`landrelease import` of a large synthetic file is SIGKILLed early, half way and late in its
write; a server is SIGKILLed (its whole process group) half way through the write of an
uploaded import, and while it takes a batch of PATCHes. After each kill the registry is
compared with a snapshot taken before it (every row of every table, the history included): it
is the same, or it holds whole writes only, never a record without its history, nor a history
row without its record. Then the interrupted work is done again, and succeeds. On PostGIS, the
database is also left without a connection or a lock of the killed program.

When a write holds the registry's write lock is seen as another writer sees it: by the note
the write leaves (beside the file; in its connection's application name on PostgreSQL).

The hazard areas are synthetic: distinct small polygons laid on a grid inside the country's
extent (`fixtures.polygon`). Bounds are timeouts only.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import backends
from fixtures import hazard, polygon, snapshot, table_counts, write_geojson
from landrelease.domain.records import KINDS
from landrelease.registry import Registry
from processes import EDITOR, EXE, clean_env, kill_group, serving
from test_concurrency import synthetic_registry

AREAS = 20_000  # in the file `landrelease import` is killed importing
UPLOADED = 10_000  # in each file uploaded to a server that is killed
KILL_AT = (0.1, 0.5, 0.9)  # of the time an import holds the write lock when it is not killed
RUN_TIMEOUT_S = 300.0
SETTLE_TIMEOUT_S = 60.0  # for PostgreSQL to end the connections of a killed program
POLL_S = 0.005
PATCHERS = 8  # client threads sending PATCHes to the server that is killed
PATCHED_BEFORE_KILL = 40  # PATCHes answered before the server is killed


# -- synthetic files -------------------------------------------------------------------------


def synthetic_areas(path: Path, count: int, first: int = 0) -> Path:
    """Write `count` synthetic hazard areas as GeoJSON: distinct pentagons, a hundred to a
    block of 0.2 degrees, the blocks laid in rows inside Ukraine's extent; `first` offsets
    them, so that two files hold no shape (and no name) in common."""
    records = []
    for i in range(first, first + count):
        block = i // 100
        centre = (24.0 + (block % 70) * 0.2, 46.0 + (block // 70) * 0.2)
        records.append(
            hazard(i, name=f"synthetic imported area {i}", geometry=polygon(i % 100, centre))
        )
    return write_geojson(path, records)


@pytest.fixture(scope="module")
def synthetic_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The synthetic files of this module, written once: "cli" for the killed CLI import,
    "first" and "second" (other shapes) for the uploads."""
    folder = tmp_path_factory.mktemp("synthetic")
    return {
        "cli": synthetic_areas(folder / "synthetic-areas.geojson", AREAS),
        "first": synthetic_areas(folder / "synthetic-first.geojson", UPLOADED, first=AREAS),
        "second": synthetic_areas(
            folder / "synthetic-second.geojson", UPLOADED, first=AREAS + UPLOADED
        ),
    }


def names_in(path: Path) -> list[str]:
    return [f["properties"]["name"] for f in json.loads(path.read_text())["features"]]


# -- what must hold after a kill -------------------------------------------------------------


def rows(url: str, query: str) -> list[tuple[Any, ...]]:
    """Return the rows of a plain SQL query on a registry file or database."""
    if backends.is_database(url):
        import psycopg

        with psycopg.connect(url) as pg:
            return pg.execute(query).fetchall()
    import sqlite3

    conn = sqlite3.connect(url)
    try:
        return conn.execute(query).fetchall()
    finally:
        conn.close()


def assert_whole(url: str) -> None:
    """Assert that each record's history is whole: a history row has its record, and a record
    at version v has v - 1 earlier versions; and that a registry file is sound throughout."""
    if not backends.is_database(url):
        assert rows(url, "PRAGMA integrity_check") == [("ok",)]
    for kind in KINDS.values():
        t, h = kind.table, f"{kind.table}_history"
        (orphans,) = rows(
            url,
            f"SELECT count(*) FROM {h} WHERE NOT EXISTS "
            f"(SELECT 1 FROM {t} WHERE {t}.fid = {h}.record_fid)",
        )[0]
        assert orphans == 0, f"{h}: {orphans} version(s) without their record"
        (gaps,) = rows(
            url,
            f"SELECT count(*) FROM {t} WHERE {t}.version - 1 <> "
            f"(SELECT count(*) FROM {h} WHERE {h}.record_fid = {t}.fid)",
        )[0]
        assert gaps == 0, f"{t}: {gaps} record(s) whose earlier versions are not all kept"


def settle(url: str) -> None:
    """On PostgreSQL, wait until the database has no connection and no lock left, then assert
    it: a killed client's transaction must end with it. Nothing to wait for on a file."""
    if not backends.is_database(url):
        return
    import psycopg

    admin = backends.pg_admin_url()
    assert admin is not None
    name = urllib.parse.urlsplit(url).path.lstrip("/")
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    with psycopg.connect(admin, autocommit=True) as conn:
        while True:
            connections = conn.execute(
                "SELECT pid, state, application_name, left(query, 200) FROM pg_stat_activity "
                "WHERE datname = %s",
                (name,),
            ).fetchall()
            locks = conn.execute(
                "SELECT l.pid, l.locktype, l.mode, l.granted FROM pg_locks l "
                "JOIN pg_database d ON d.oid = l.database WHERE d.datname = %s",
                (name,),
            ).fetchall()
            if (not connections and not locks) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    assert not connections, (
        f"connections left on {name} {SETTLE_TIMEOUT_S:.0f} s after the kill: {connections}"
    )
    assert not locks, f"locks left on {name}: {locks}"


def assert_landed_whole(url: str, before: dict[str, int], added: int, names: list[str]) -> None:
    """Assert that one import of `names` landed whole on a registry counted `before`."""
    after = table_counts(url)
    assert after == {
        **before,
        "hazard_areas": before["hazard_areas"] + added,
        "batches": before["batches"] + 1,
    }
    with Registry.open(url) as reg:
        stored = reg.record_columns("hazards", columns=["name", "version"])
    versions = dict(zip(stored["name"], stored["version"], strict=True))
    assert all(versions.get(n) == 1 for n in names)


# -- watching and killing --------------------------------------------------------------------


class WriteWatch:
    """Tells whether a landrelease write of the process group `group` holds a registry's write
    lock, as a writer that finds it busy learns it: from the note left beside the file (with
    the writer's process id), or on PostgreSQL from the application name of the connection
    holding it ("landrelease: <note>"). A note left by a killed writer is not taken for one."""

    def __init__(self, url: str, group: int) -> None:
        self.url = url
        self.group = group
        self._pg: Any = None

    def __enter__(self) -> WriteWatch:
        if backends.is_database(self.url):
            import psycopg

            admin = backends.pg_admin_url()
            assert admin is not None
            self._pg = psycopg.connect(admin, autocommit=True)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pg is not None:
            self._pg.close()

    def held(self) -> bool:
        if self._pg is None:
            try:
                note = json.loads(Path(f"{self.url}-writer").read_text())
                return os.getpgid(int(note["pid"])) == self.group
            except (OSError, ValueError):  # no note, one being written, or its writer gone
                return False
        name = urllib.parse.urlsplit(self.url).path.lstrip("/")
        found = self._pg.execute(
            "SELECT 1 FROM pg_stat_activity WHERE datname = %s "
            "AND application_name LIKE 'landrelease: %%'",
            (name,),
        )
        return found.fetchone() is not None

    def until(self, held: bool, running: Callable[[], bool]) -> bool:
        """Wait until the lock is `held` (or not); return False if `running()` turns false
        first (the writer ended)."""
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while self.held() != held:
            if not running():
                return False
            assert time.monotonic() < deadline, "the write did not begin or end"
            time.sleep(POLL_S)
        return True


def start_import(
    path: Path, url: str, *, output: Any = subprocess.DEVNULL
) -> subprocess.Popen[bytes]:
    """Start `landrelease import` of `path` into `url` in a process group of its own, its
    stdout and stderr to `output`."""
    return subprocess.Popen(
        [EXE, "import", str(path), "--db", url, "--json"],
        stdout=output,
        stderr=output,
        env=clean_env(),
        start_new_session=True,
    )


def write_time(path: Path, url: str) -> float:
    """Run `landrelease import` to its end; return how long it held the write lock (s)."""
    with tempfile.TemporaryFile() as output:
        proc = start_import(path, url, output=output)
        running = lambda: proc.poll() is None  # noqa: E731
        with WriteWatch(url, proc.pid) as watch:
            assert watch.until(True, running), "the import ended before its write began"
            began = time.monotonic()
            watch.until(False, running)
            held = time.monotonic() - began
        assert proc.wait(timeout=RUN_TIMEOUT_S) == 0
        output.seek(0)
        assert f'"imported": {len(names_in(path))}' in output.read().decode()
    return held


def import_killed_in_write(path: Path, url: str, *, after: float) -> int | None:
    """Start `landrelease import` and SIGKILL it `after` seconds into its write; return its
    exit code if it ended by itself first."""
    proc = start_import(path, url)
    with WriteWatch(url, proc.pid) as watch:
        if not watch.until(True, lambda: proc.poll() is None):
            return proc.wait()
    try:
        return proc.wait(timeout=after)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        return None


def run_import(path: Path, url: str) -> subprocess.CompletedProcess[str]:
    """Run `landrelease import` to its end."""
    return subprocess.run(
        [EXE, "import", str(path), "--db", url, "--json"],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=RUN_TIMEOUT_S,
    )


# -- the tests -------------------------------------------------------------------------------


def test_an_import_killed_early_half_way_or_late_in_its_write_leaves_the_registry_as_it_was(
    backend: str,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    synthetic_files: dict[str, Path],
) -> None:
    """Shows that `landrelease import` of 20,000 synthetic areas, SIGKILLed at 10%, 50% and 90%
    of the time it holds the write lock unkilled, leaves the registry the same as before each
    time, every row and every earlier version (or, if a write faster than the measured one
    commits first, holding the whole import); that PostgreSQL keeps no connection or lock of it;
    and that the import, run again on the registry killed three times, lands every area."""
    path = synthetic_files["cli"]
    url = synthetic_registry(backend, tmp_path_factory, tmp_path).url
    pristine = backends.copy_registry(url, tmp_path / "pristine.gpkg")
    held = write_time(path, str(backends.copy_registry(url, tmp_path / "timed.gpkg")))
    before, counts = snapshot(url), table_counts(url)
    for n, fraction in enumerate(KILL_AT):
        ended = import_killed_in_write(path, url, after=fraction * held)
        settle(url)
        if ended is None and snapshot(url) == before:
            continue
        # it ended before its kill: then all of it is there; go on from a registry as before
        assert ended in (None, 0)
        assert_landed_whole(url, counts, AREAS, names_in(path))
        url = str(backends.copy_registry(pristine, tmp_path / f"again-{n}.gpkg"))
    assert_whole(url)
    done = run_import(path, url)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["imported"] == AREAS
    assert_landed_whole(url, counts, AREAS, names_in(path))
    assert_whole(url)


def upload(base: str, token: str, path: Path, timeout: float = RUN_TIMEOUT_S) -> httpx.Response:
    """POST a file to /api/imports as an editor."""
    with path.open("rb") as fh:
        return httpx.post(
            base + "/api/imports",
            headers={"Authorization": f"Bearer {token}"},
            files={"file": (path.name, fh, "application/geo+json")},
            timeout=timeout,
        )


@contextlib.contextmanager
def in_background(work: Any) -> Iterator[dict[str, Any]]:
    """Run `work()` in a thread; yield what it gives back ("result") or raises ("error"),
    filled in once the block has ended (the thread is joined then, with a timeout)."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["result"] = work()
        except Exception as exc:  # judged by the test
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield out
    finally:
        thread.join(timeout=RUN_TIMEOUT_S)
        assert not thread.is_alive(), "a request to a killed server never ended"


def test_a_server_killed_during_an_import_lands_all_of_it_or_nothing(
    backend: str,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    synthetic_files: dict[str, Path],
) -> None:
    """Shows that SIGKILLing `landrelease serve` (2 workers, the whole process group) half way
    through the write of an uploaded import of 10,000 synthetic areas leaves the registry as it
    was (or, if a write faster than the measured one commits first, with all of the import),
    its history whole; that PostgreSQL keeps no connection or lock of it; and that a server
    restarted on it serves, and the upload sent again lands (or, had it landed, is refused
    whole as a duplicate)."""
    reg = synthetic_registry(backend, tmp_path_factory, tmp_path)
    url, token = reg.url, reg.token
    log = tmp_path / "server.log"
    second = synthetic_files["second"]
    with serving(url, log) as (base, proc), WriteWatch(url, proc.pid) as watch:
        with in_background(lambda: upload(base, token, synthetic_files["first"])) as first:
            assert watch.until(True, lambda: not first), "the upload ended before its write"
            began = time.monotonic()
            watch.until(False, lambda: not first)
            held = time.monotonic() - began
        assert first["result"].status_code == 201, first
        before, counts = snapshot(url), table_counts(url)
        with in_background(lambda: upload(base, token, second)) as sent:
            assert watch.until(True, lambda: not sent), "the upload ended before its write"
            time.sleep(held / 2)
            kill_group(proc)
    assert "result" not in sent or sent["result"].status_code == 201, sent
    settle(url)
    landed = snapshot(url) != before
    if landed:
        assert_landed_whole(url, counts, UPLOADED, names_in(second))
    assert_whole(url)
    with serving(url, log, workers=1) as (base, _):  # restarted
        summary = httpx.get(base + "/api/summary", headers={"Authorization": f"Bearer {token}"})
        assert summary.status_code == 200
        again = upload(base, token, second)
        if landed:
            assert again.status_code == 409, again.text
        else:
            assert again.status_code == 201, again.text
            assert again.json()["imported"] == UPLOADED
    assert_landed_whole(url, counts, UPLOADED, names_in(second))
    assert_whole(url)


def patch_areas(
    base: str,
    token: str,
    refs: list[str],
    answered: list[dict[str, Any]],
    unanswered: list[dict[str, Any]],
) -> None:
    """Change the notes of `refs` by HTTP, one after another, until the server stops
    answering: each answered PATCH goes to `answered`, the one left without answer to
    `unanswered` (with the version it named)."""
    with httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=RUN_TIMEOUT_S
    ) as client:
        n = 0
        while True:
            ref = refs[n % len(refs)]
            value = f"visit {n} by {threading.current_thread().name}"
            n += 1
            try:
                got = client.get(f"/api/hazards/{ref}")
            except httpx.HTTPError:
                return
            if got.status_code != 200:
                answered.append({"ref": ref, "value": value, "status": f"GET {got.status_code}"})
                return
            attempt = {"ref": ref, "value": value, "read": int(got.headers["ETag"].strip('"'))}
            try:
                r = client.patch(
                    f"/api/hazards/{ref}",
                    json={"changes": {"notes": value}},
                    headers={"If-Match": f'"{attempt["read"]}"'},
                )
            except httpx.HTTPError:
                unanswered.append(attempt)
                return
            answered.append({**attempt, "status": r.status_code})


def test_a_server_killed_during_patches_keeps_only_whole_changes(
    backend: str, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Shows that SIGKILLing `landrelease serve` while 8 clients send PATCHes leaves each area
    with whole versions only: each answered 200 is in its history at the version it named
    plus one, each version after the first is a PATCH that was sent, versions run 1..n and end
    at the current row, no history row lacks its record; that PostgreSQL keeps no connection or
    lock; and that on a restarted server each PATCH left without answer can be sent again
    (read the ETag again, PATCH) and lands."""
    reg = synthetic_registry(backend, tmp_path_factory, tmp_path)
    url, token, refs = reg.url, reg.token, reg.fresh
    log = tmp_path / "server.log"
    answered: list[dict[str, Any]] = []
    unanswered: list[dict[str, Any]] = []
    with serving(url, log) as (base, proc):
        threads = [
            threading.Thread(
                target=patch_areas,
                args=(base, token, refs[i::PATCHERS], answered, unanswered),
                name=f"client {i}",
                daemon=True,
            )
            for i in range(PATCHERS)
        ]
        for t in threads:
            t.start()
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while len(answered) < PATCHED_BEFORE_KILL and time.monotonic() < deadline:
            time.sleep(0.01)
        kill_group(proc)
        for t in threads:
            t.join(timeout=RUN_TIMEOUT_S)
        assert not any(t.is_alive() for t in threads), "a request to a killed server never ended"
    assert len(answered) >= PATCHED_BEFORE_KILL
    refused = [a for a in answered if a["status"] != 200]
    assert not refused, refused[:3]
    settle(url)
    assert_whole(url)
    sent = {a["value"]: a for a in [*answered, *unanswered]}
    with Registry.open(url) as opened, opened.store.unit_of_work() as uow:
        history = {ref: uow.history.versions(ref) for ref in refs}
        current = {ref: uow.records(KINDS["hazards"]).get(ref) for ref in refs}
    for ref in refs:
        versions = history[ref]
        assert [v["version"] for v in versions] == list(range(1, len(versions) + 1)), ref
        assert current[ref]["version"] == versions[-1]["version"]
        assert current[ref]["notes"] == versions[-1]["state"]["notes"]
        for v in versions[1:]:
            change = sent.get(v["state"]["notes"])
            assert change is not None and change["ref"] == ref, (ref, v)
            assert (v["version"], v["actor"]) == (change["read"] + 1, EDITOR)
    for a in answered:
        assert history[a["ref"]][a["read"]]["state"]["notes"] == a["value"], a
    with serving(url, log, workers=1) as (base, _):  # restarted
        headers = {"Authorization": f"Bearer {token}"}
        for a in unanswered:
            ref = a["ref"]
            got = httpx.get(f"{base}/api/hazards/{ref}", headers=headers)
            r = httpx.patch(
                f"{base}/api/hazards/{ref}",
                json={"changes": {"notes": a["value"]}},
                headers={**headers, "If-Match": got.headers["ETag"]},
            )
            assert r.status_code == 200, r.text
            assert r.json()["notes"] == a["value"]
    assert_whole(url)
