"""GDAL's own tools, for the tests that let GDAL judge our files: ogrinfo and validate_gpkg.py.

Debian's gdal-bin brings ogrinfo; python3-gdal brings validate_gpkg.py and the `osgeo`
bindings (of the system Python) through which GDAL's relationships are read. A test that
lacks one skips, saying which package to install.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SYSTEM_PYTHON = "/usr/bin/python3"
_VALIDATE_PLACES = (
    "/usr/lib/python3/dist-packages/osgeo_utils/samples/validate_gpkg.py",
    "/usr/share/doc/python3-gdal/examples/validate_gpkg.py",
)


@functools.cache
def validate_gpkg_script() -> Path | None:
    """Return GDAL's validate_gpkg.py (env LANDRELEASE_VALIDATE_GPKG, or python3-gdal's)."""
    given = os.environ.get("LANDRELEASE_VALIDATE_GPKG")
    for place in ([given] if given else []) + [*_VALIDATE_PLACES]:
        if Path(place).is_file():
            return Path(place)
    found = shutil.which("validate_gpkg.py")
    return Path(found) if found else None


def validate_gpkg(path: Path, *, extra: bool = True) -> subprocess.CompletedProcess[str]:
    """Run validate_gpkg.py on `path` (all errors listed); skip if it is not installed."""
    script = validate_gpkg_script()
    if script is None:
        pytest.skip(
            "GDAL's validate_gpkg.py is not installed: apt-get install python3-gdal (Debian), "
            "or set LANDRELEASE_VALIDATE_GPKG to its path"
        )
    args = [sys.executable, str(script), "-k", *(["--extra"] if extra else []), str(path)]
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


def ogrinfo(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run GDAL's ogrinfo; skip if it is not installed."""
    exe = shutil.which("ogrinfo")
    if exe is None:
        pytest.skip("GDAL's ogrinfo is not installed: apt-get install gdal-bin (Debian)")
    return subprocess.run(
        [exe, *map(str, args)], capture_output=True, text=True, timeout=120, check=False
    )


@functools.cache
def gdal_version() -> tuple[int, int]:
    """Return the (major, minor) version of the installed ogrinfo; skip if there is none."""
    text = ogrinfo("--version").stdout
    match = re.search(r"GDAL (\d+)\.(\d+)", text)
    assert match, text
    return int(match[1]), int(match[2])


@functools.cache
def _osgeo_python() -> str | None:
    if not Path(SYSTEM_PYTHON).is_file():
        return None
    probe = subprocess.run(
        [SYSTEM_PYTHON, "-c", "from osgeo import gdal; print(gdal.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    )
    return SYSTEM_PYTHON if probe.returncode == 0 else None


def osgeo(code: str) -> str:
    """Run `code` with the system Python's GDAL bindings; return what it prints; skip if none."""
    python = _osgeo_python()
    if python is None:
        pytest.skip("GDAL's Python bindings are not installed: apt-get install python3-gdal")
    run = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return run.stdout
