"""Commands start fast: what a read or --help needs is all they load.

Speed itself is measured in bench/registry.py (whole processes beside a python -c pyogrio
read); here, without timing, each command is checked not to import the heavy modules it has
no use for. Before the fix, every command loaded geopandas, pandas, SQLAlchemy, Alembic,
pyproj and the residual model (0.9 s of a 0.94 s bbox listing).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("geopandas", "pandas", "sqlalchemy", "alembic", "pyproj", "matplotlib", "scipy")

_PROBE = """
import json, sys
from landrelease.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
heavy = {heavy!r}
sys.__stderr__.write(json.dumps([code, sorted(m for m in heavy if m in sys.modules)]) + "\\n")
"""


def _loaded(args: list[str]) -> tuple[int, list[str]]:
    run = subprocess.run(
        [sys.executable, "-c", _PROBE.format(heavy=HEAVY), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    code, modules = json.loads(run.stderr.strip().splitlines()[-1])
    return code, modules


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["hazards", "show", "{kyiv}", "--db", "{db}"],
        ["hazards", "show", "{kyiv}", "--db", "{db}", "--json"],
        ["history", "{kyiv}", "--db", "{db}"],
        ["hazards", "list", "--db", "{db}", "--bbox", "30,50,31,51", "--json"],
        ["hazards", "list", "--db", "{db}", "--status", "suspected"],
    ],
    ids=["help", "show", "show-json", "history", "bbox-json", "list"],
)
def test_reading_commands_load_no_heavy_module(
    args: list[str], registry_path: Path, refs: dict[str, str]
) -> None:
    filled = [a.format(db=registry_path, kyiv=refs["kyiv"]) for a in args]
    code, modules = _loaded(filled)
    assert code in (0, None)
    assert modules == []
