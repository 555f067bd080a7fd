"""One serializer for the JSON of records: the CLI's `--json` today, the HTTP API next."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely

from fixtures import polygon
from landrelease.domain.records import ACTIVITIES, HAZARDS
from landrelease.records_json import STAMP, record_json, records_json
from landrelease.registry import Registry
from landrelease.store import geopackage as gpkg

LISTED = {
    "ref",
    "name",
    "status",
    "hazard_type",
    "contamination",
    "land_use",
    "admin_area",
    "reported_on",
    "area_m2",
    "version",
}


def test_a_record_is_its_fields_its_geometry_then_its_change_stamp(
    reg: Registry, refs: dict[str, str]
) -> None:
    data = record_json(HAZARDS, reg.stored_record("hazards", refs["kharkiv"]))
    assert list(data) == [*HAZARDS.field_names, "geometry", *STAMP]
    assert data["contamination"] == ["ap_mine"] and data["reported_on"] == "2024-03-15"
    assert data["geometry"]["type"] == "MultiPolygon"
    assert shapely.geometry.shape(data["geometry"]).equals(polygon(1, (36.23, 49.99)))
    assert (data["version"], data["changed_by"], data["needs_check"]) == (1, "tester", False)
    assert data["changed_at"].endswith("Z")
    json.dumps(data)  # plain JSON, nothing left for a default


def test_listing_and_showing_give_the_same_json(reg: Registry, refs: dict[str, str]) -> None:
    cols = reg.record_columns(
        "hazards", columns=[*HAZARDS.field_names, *STAMP], order_by="ref", geometry=True
    )
    listed = records_json(HAZARDS, cols)
    shown = [record_json(HAZARDS, reg.stored_record("hazards", r)) for r in sorted(refs.values())]
    assert listed == shown
    without = records_json(HAZARDS, cols, geometry=False)
    assert [{k: v for k, v in d.items() if k != "geometry"} for d in listed] == without


def test_booleans_codes_and_empty_values(reg: Registry, refs: dict[str, str]) -> None:
    [act] = reg.add_records(
        "activities",
        [
            {
                "area_ref": refs["kyiv"],
                "activity_type": "ts",
                "status": "completed",
                "evidence_found": False,
                "geometry": None,
            }
        ],
        actor="tester",
    )
    data = record_json(ACTIVITIES, reg.stored_record("activities", act))
    assert data["evidence_found"] is False and data["geometry"] is None
    assert data["start_date"] is None and data["needs_check"] is False
    empty = records_json(HAZARDS, {"ref": [], "contamination": [], "geometry": np.array([])})
    assert empty == []


@pytest.mark.sqlite_only(reason="edits the file with sqlite3 as QGIS does")
def test_hazards_show_and_list_json_carry_the_change_stamp(
    run_cli: Any, registry_path: Path, refs: dict[str, str]
) -> None:
    area = refs["kyiv"]
    conn = sqlite3.connect(registry_path, isolation_level=None)  # as QGIS edits the file
    gpkg.register_functions(conn)
    conn.execute("UPDATE hazard_areas SET name = 'renamed in QGIS' WHERE ref = ?", (area,))
    conn.close()
    code, out, err = run_cli(["hazards", "show", area, "--json", "--db", registry_path])
    assert code == 0, err
    shown = json.loads(out)
    assert (shown["version"], shown["changed_by"], shown["needs_check"]) == (2, "external", True)
    code, out, err = run_cli(["hazards", "list", "--json", "--db", registry_path])
    assert code == 0, err
    rows = {r["ref"]: r for r in json.loads(out)}
    assert all(set(r) == LISTED | set(STAMP) for r in rows.values())  # no geometry
    assert {k: shown[k] for k in rows[area]} == rows[area]
    assert rows[refs["forest"]]["needs_check"] is False


@pytest.mark.sqlite_only(
    reason="text typed into a date column of the file; PostgreSQL's date type refuses it"
)
def test_a_value_typed_outside_landrelease_is_shown_as_stored(
    run_cli: Any, registry_path: Path, refs: dict[str, str]
) -> None:
    area = refs["forest"]
    conn = sqlite3.connect(registry_path, isolation_level=None)
    gpkg.register_functions(conn)
    conn.execute("UPDATE hazard_areas SET reported_on = 'last spring' WHERE ref = ?", (area,))
    conn.close()
    code, out, err = run_cli(["hazards", "show", area, "--json", "--db", registry_path])
    assert code == 0, err
    assert json.loads(out)["reported_on"] == "last spring"
    code, out, err = run_cli(["hazards", "show", area, "--db", registry_path])
    assert code == 0 and "last spring" in out and "not checked" in out
