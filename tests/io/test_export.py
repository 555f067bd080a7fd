"""`landrelease export`: the layer named after its kind, dates as dates, no file replaced unasked.

The files are read back with other software than ours: sqlite3, pyarrow, pyogrio, openpyxl,
and GDAL's validate_gpkg.py where it is installed.
"""

from __future__ import annotations

import sqlite3
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow.parquet as pq
import pyogrio
import pytest

from gdal_tools import validate_gpkg
from landrelease.domain.errors import InputFileError
from landrelease.domain.records import KINDS
from landrelease.io.files import replaced_atomically
from landrelease.registry import Registry
from landrelease.store import geopackage as gpkg


def _declared_types(path: Path, table: str) -> dict[str, str]:
    conn = sqlite3.connect(path)
    try:
        return {r[1]: r[2] for r in conn.execute(f'PRAGMA table_info("{table}")')}
    finally:
        conn.close()


@pytest.mark.parametrize("kind", ["hazards", "events", "items"])
def test_the_layer_is_named_after_the_kinds_table(
    run_cli: Any, registry_path: Path, tmp_path: Path, kind: str
) -> None:
    out = tmp_path / "export.gpkg"
    code, _, err = run_cli(["export", out, "--kind", kind, "--db", registry_path])
    assert code == 0, err
    assert [str(name) for name in pyogrio.list_layers(out)[:, 0]] == [KINDS[kind].table]


def test_sheets_and_zipped_shapefiles_are_named_after_the_table_too(
    reg: Registry, tmp_path: Path
) -> None:
    reg.export(tmp_path / "h.xlsx")
    assert openpyxl.load_workbook(tmp_path / "h.xlsx", read_only=True).sheetnames == [
        "hazard_areas"
    ]
    reg.export(tmp_path / "h.zip")
    names = zipfile.ZipFile(tmp_path / "h.zip").namelist()
    assert "hazard_areas.shp" in names and "hazard_areas.dbf" in names


def test_dates_are_written_as_dates(reg: Registry, tmp_path: Path) -> None:
    reg.export(tmp_path / "h.gpkg")
    types = _declared_types(tmp_path / "h.gpkg", "hazard_areas")
    assert types["reported_on"] == "DATE"
    assert types["ref"] == "TEXT"
    info = pyogrio.read_info(tmp_path / "h.gpkg", layer="hazard_areas")
    assert dict(zip(info["fields"], info["ogr_types"], strict=True))["reported_on"] == "OFTDate"
    reg.export(tmp_path / "e.gpkg", "events")
    assert _declared_types(tmp_path / "e.gpkg", "contamination_events")["emplaced_on"] == "DATE"
    reg.export(tmp_path / "h.parquet")
    schema = pq.read_schema(tmp_path / "h.parquet")
    assert str(schema.field("reported_on").type) == "date32[day]"
    assert pq.read_table(tmp_path / "h.parquet").column("reported_on").to_pylist()[0].year == 2024


@pytest.mark.sqlite_only(
    reason="text typed into a date column of the file; PostgreSQL's date type refuses it"
)
def test_a_stored_date_that_is_not_a_date_is_exported_as_text(
    registry_path: Path, refs: dict[str, str], tmp_path: Path
) -> None:
    conn = sqlite3.connect(registry_path, isolation_level=None)
    gpkg.register_functions(conn)
    try:  # typed in QGIS: kept (and flagged for `landrelease check`), never lost on export
        conn.execute(
            "UPDATE hazard_areas SET reported_on = 'spring 2024' WHERE ref = ?", (refs["kyiv"],)
        )
    finally:
        conn.close()
    with Registry.open(registry_path) as reg:
        reg.export(tmp_path / "h.gpkg")
    exported = pyogrio.read_dataframe(tmp_path / "h.gpkg", layer="hazard_areas")
    assert "spring 2024" in set(exported["reported_on"])


def test_an_existing_file_is_refused_unless_overwrite(
    run_cli: Any, registry_path: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    out = folder / "h.gpkg"
    out.write_bytes(b"someone's work")
    code, stdout, err = run_cli(["export", out, "--db", registry_path])
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "--overwrite" in err and str(out) in err
    assert out.read_bytes() == b"someone's work"
    assert [p.name for p in folder.iterdir()] == ["h.gpkg"]  # no partial file left
    code, stdout, err = run_cli(["export", out, "--db", registry_path, "--overwrite"])
    assert code == 0, err
    assert len(pyogrio.read_dataframe(out)) == 3


def test_the_exported_geopackage_passes_validate_gpkg(
    run_cli: Any, registry_path: Path, tmp_path: Path
) -> None:
    for kind in ("hazards", "events", "items"):
        out = tmp_path / f"{kind}.gpkg"
        assert run_cli(["export", out, "--kind", kind, "--db", registry_path])[0] == 0
        run = validate_gpkg(out, extra=True)
        assert run.returncode == 0, (kind, run.stdout + run.stderr)


def test_a_file_made_meanwhile_is_not_replaced(tmp_path: Path) -> None:
    out = tmp_path / "h.csv"
    with pytest.raises(InputFileError, match="--overwrite"):
        with replaced_atomically(out, overwrite=False) as temporary:
            temporary.write_text("ours")
            out.write_text("theirs")  # another program, while ours was being written
    assert out.read_text() == "theirs"
    assert list(tmp_path.iterdir()) == [out]
