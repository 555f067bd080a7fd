"""Profile: where `landrelease import` spends its time, step by step and thread by thread.

Runs the CLI's import in this process (after its init) on a benchmark file of
bench/hazard_data.py, with timers wrapped around the steps of the import: reading, the shape
checks, areas, keys, encoding, the cross checks, the overlap search, each SQL statement of the
write (classed as rows, audit, R-tree, indexes), the commit and the journal switch. Every call
of shapely made by landrelease.domain.geometry is timed too, under the step that made it.
Each step is reported with its wall time and the CPU time of its own thread, per thread
(the checks run on two worker threads): wall well above CPU means waiting (for the GIL, a
lock, or the disk). cProfile and pyinstrument see only the main thread, hence this.

    .venv/bin/python bench/import_profile.py [--n 100000] [--layout tessellated]
    .venv/bin/python bench/import_profile.py --cprofile out.prof   # main thread, cProfile
"""

from __future__ import annotations

import argparse
import functools
import inspect
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_MODULES = (
    "landrelease.cli, landrelease.registry, landrelease.importing, geopandas, pyogrio, pyproj"
)
_STARTUP = f"""
import subprocess, sys, time
code = "import {_MODULES}"
subprocess.run([sys.executable, "-c", code], check=True)  # the first run writes the bytecode
t = time.perf_counter()
cpu = subprocess.run(
    [sys.executable, "-c", code + "; import time; print(time.process_time())"],
    check=True, capture_output=True, text=True,
).stdout.strip()
print(f"{{time.perf_counter() - t:.3f}}", cpu)
"""
_stack = threading.local()


@dataclass
class Step:
    """The calls made along one path of steps on one thread: count, wall, CPU, first start."""

    calls: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    first: float = float("inf")
    children: dict[str, Step] = field(default_factory=dict)


STEPS: dict[str, Step] = {}  # thread name -> root
_lock = threading.Lock()
T0 = time.perf_counter()


@contextmanager
def step(label: str) -> Iterator[None]:
    """Time the block as `label`, under the step the calling thread is in."""
    path: list[str] = getattr(_stack, "path", None) or []
    _stack.path = [*path, label]
    t, c = time.perf_counter(), time.thread_time()
    try:
        yield
    finally:
        wall, cpu = time.perf_counter() - t, time.thread_time() - c
        _stack.path = path
        with _lock:
            node = STEPS.setdefault(threading.current_thread().name, Step())
            for name in [*path, label]:
                node = node.children.setdefault(name, Step())
            node.calls += 1
            node.wall += wall
            node.cpu += cpu
            node.first = min(node.first, t - T0)


def timed_function(fn: Callable[..., Any], label: str) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with step(label):
            return fn(*args, **kwargs)

    return wrapper


MISSING: list[str] = []


def wrap(owner: Any, attr: str, label: str | None = None) -> None:
    """Replace `owner.attr` by a timed version of itself (noted if the tree has no such name)."""
    fn = getattr(owner, attr, None)
    if fn is None:
        MISSING.append(f"{getattr(owner, '__name__', owner)}.{attr}")
        return
    timed = timed_function(fn, label or attr)
    if isinstance(inspect.getattr_static(owner, attr), staticmethod):
        timed = staticmethod(timed)
    setattr(owner, attr, timed)


class TimedModule:
    """A stand-in for a module whose every function is timed under its own name."""

    def __init__(self, module: Any, prefix: str) -> None:
        self._module = module
        self._prefix = prefix

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._module, name)
        if callable(value) and not isinstance(value, type):
            value = timed_function(value, f"{self._prefix}.{name}")
        setattr(self, name, value)
        return value


def sql_class(sql: str) -> str:
    """Return what kind of statement `sql` is, for the write's breakdown."""
    text = " ".join(sql.split()).upper()
    for start, name in (
        ("INSERT INTO AUDIT", "audit copy"),
        ("INSERT INTO RTREE_", "R-tree"),
        ("CREATE INDEX", "indexes"),
        ("CREATE UNIQUE INDEX", "indexes"),
        ("INSERT INTO", "rows"),
        ("SELECT", "reads"),
        ("UPDATE", "updates"),
        ("DELETE", "deletes"),
    ):
        if text.startswith(start):
            if name == "rows":
                return f"rows {text.split()[2].lower()}"
            return name
    return "other " + " ".join(text.split()[:2]).lower()


def instrument() -> None:
    """Wrap the steps of an import in timers (whatever of them this tree still has)."""
    import shapely

    import landrelease.domain.geometry as geometry
    import landrelease.importing as importing
    import landrelease.io as io
    import landrelease.registry as registry
    import landrelease.store.connections as connections
    import landrelease.store.sqlite as sqlite

    geometry.shapely = TimedModule(shapely, "shapely")  # type: ignore[assignment]
    wrap(shapely.STRtree, "query", "shapely.STRtree.query")
    for name in ("read_features", "to_wgs84"):
        wrap(io, name, f"io.{name}")
    wrap(registry.Registry, "open", "Registry.open")
    for name in (
        "usable_geometries",
        "check_geometries",
        "area_m2",
        "geometry_keys",
        "overlaps",
        "prepare_columns",
        "gather",
        "findings",
        "warnings",
    ):
        wrap(importing, name)
    for name in ("vertex_jumps", "_non_finite", "_to_2d", "area_m2"):
        wrap(geometry, name)
    for name in (
        "run",
        "_geometries_of",
        "_derive",
        "_stored_near",
        "_overlaps",
        "_overlap_warnings",
        "_write",
        "_assign_refs",
        "_all_refs",
    ):
        wrap(importing.Importer, name, f"Importer.{name}")
    for name in ("encode_geometries", "insert", "refs_by_key", "select", "reserve_serials"):
        wrap(sqlite.SqliteStore, name, f"store.{name}")
    wrap(sqlite, "_set_journal", "journal mode switch")
    try:  # the unit of work and its repositories (issue 13, item 5), where the tree has them
        import landrelease.store.sqlite_uow as uow
    except ImportError:
        MISSING.append("landrelease.store.sqlite_uow")
    else:
        wrap(uow.SqliteRecords, "add", "records.add (the write)")
        wrap(uow.SqliteBatches, "add", "batches.add")
        wrap(uow.SqliteSerials, "reserve", "serials.reserve")
        wrap(uow.SqliteUnitOfWork, "_end", "end of the unit of work (commit)")
    wrap(sqlite.gpkg, "bulk_load_rtree", "gpkg.bulk_load_rtree")

    run_sql = connections.Connection.exec_driver_sql

    def exec_driver_sql(self: Any, sql: str, params: Any = ()) -> Any:
        with step(f"SQL {sql_class(sql)}"):
            return run_sql(self, sql, params)

    connections.Connection.exec_driver_sql = exec_driver_sql  # type: ignore[method-assign]

    begin = connections.Connection.begin

    @contextmanager
    def timed_begin(self: Any, statement: str = "BEGIN") -> Iterator[Any]:
        cm = begin(self, statement)
        conn = cm.__enter__()
        try:
            yield conn
        except BaseException:
            if not cm.__exit__(*sys.exc_info()):
                raise
        else:
            with step("commit" if statement.upper().endswith("IMMEDIATE") else "end read"):
                cm.__exit__(None, None, None)

    connections.Connection.begin = timed_begin  # type: ignore[method-assign]


def report(node: Step, depth: int = 0, min_wall: float = 0.005) -> None:
    for name, child in sorted(node.children.items(), key=lambda kv: kv[1].first):
        if child.wall < min_wall:
            continue
        print(
            f"  {'  ' * depth}{name:<{50 - 2 * depth}} {child.wall:7.3f} s wall "
            f"{child.cpu:7.3f} s CPU  x{child.calls:<6} from {child.first:6.2f} s"
        )
        report(child, depth + 1, min_wall)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--layout", default="tessellated")
    ap.add_argument("--cprofile", type=Path, help="write a cProfile of the main thread here")
    args = ap.parse_args()

    from hazard_data import data_file

    src = data_file(args.layout, args.n)
    # What a fresh process pays before the import begins (interpreter, our modules and the
    # libraries the import loads), in a process of its own: this one has loaded them already.
    startup = subprocess.run(
        [sys.executable, "-c", _STARTUP],
        env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    from landrelease.cli import app

    global T0
    T0 = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=src.parent) as tmp:
        db = str(Path(tmp) / "profile.gpkg")
        with step("landrelease init"):
            app(["init", "--db", db], standalone_mode=False)
        if args.cprofile:
            import cProfile

            with cProfile.Profile() as prof:
                app(["import", str(src), "--db", db], standalone_mode=False)
            prof.dump_stats(args.cprofile)
            print(f"cProfile of the main thread written to {args.cprofile}")
            return
        instrument()
        if MISSING:
            print("not in this tree, not timed: " + ", ".join(MISSING))
        cpu = time.process_time()
        with step("landrelease import (in process)"):
            app(["import", str(src), "--db", db], standalone_mode=False)
        cpu = time.process_time() - cpu
    print(f"\n{args.n:,} areas ({args.layout}), seconds from the start of this script:")
    print(
        f"start-up of a fresh process (its own, second run): {startup[0]} s wall, "
        f"{startup[1]} s CPU to import the CLI, geopandas, pyogrio and pyproj"
    )
    print(f"the import used {cpu:.2f} s of CPU in all threads")
    for thread, root in sorted(
        STEPS.items(), key=lambda kv: min(c.first for c in kv[1].children.values())
    ):
        print(f"thread {thread}:")
        report(root)


if __name__ == "__main__":
    main()
