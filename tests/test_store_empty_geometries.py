"""Records without geometry in batches of every size: the bulk R-tree path and its edges.

51 or more activities without geometry once failed with exit 1 ("Incorrect number of
bindings" on the R-tree's shadow table): the bulk path packed a tree of no boxes.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from backends import is_database
from fixtures import polygon
from landrelease.domain.errors import ValidationError
from landrelease.domain.records import KINDS
from landrelease.registry import Registry

SIZES = [0, 1, 50, 51, 10_001]  # 10,001: also past the bulk-journal threshold


def _rows(kind: str, n: int, area: str) -> list[dict[str, object]]:
    one = {
        "hazards": {"name": "no shape", "status": "suspected", "evidence": "informant"},
        "events": {
            "area_ref": area,
            "profile_id": "persistent-ap-mine",
            "quantity_best": 3,
            "emplaced_on": "2022-03-01",
        },
        "activities": {"area_ref": area, "activity_type": "nts", "status": "open"},
        "items": {"area_ref": area, "category": "ap_mine", "state": "destroyed"},
        "accidents": {"area_ref": area, "occurred_on": "2024-01-02"},
        "eore": {"organisation": "NGO", "held_on": "2024-01-02", "method": "digital"},
    }[kind]
    return [dict(one, geometry=None) for _ in range(n)]


def _rtree_ok(path: Path | str) -> None:
    if is_database(path):
        return  # PostgreSQL keeps its GiST indexes itself: no R-tree tables to check
    conn = sqlite3.connect(path)
    try:
        for table in ("hazard_areas", "activities", "items", "accidents", "eore_sessions"):
            assert conn.execute(f"SELECT rtreecheck('rtree_{table}_geom')").fetchone()[0] == "ok"
    finally:
        conn.close()


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("kind", list(KINDS))
def test_records_without_geometry_land_or_are_refused_cleanly(
    registry_path: Path, refs: dict[str, str], kind: str, n: int
) -> None:
    with Registry.open(registry_path) as reg:
        before = reg.summary()[kind]
        rows = _rows(kind, n, refs["kyiv"])
        if KINDS[kind].geometry_required and n:
            with pytest.raises(ValidationError, match="geometry is missing"):
                reg.add_records(kind, rows, actor="tester")
            assert reg.summary()[kind] == before
        else:
            got = reg.add_records(kind, rows, actor="tester")
            assert len(got) == len(set(got)) == n
            assert reg.summary()[kind] == before + n
    _rtree_ok(registry_path)


@pytest.mark.parametrize("empty", [0, 1, 50, 51, 2_000])
def test_activities_with_and_without_geometry_in_one_batch(
    registry_path: Path, refs: dict[str, str], empty: int
) -> None:
    shaped = [
        {
            "area_ref": refs["kyiv"],
            "activity_type": "ts",
            "status": "open",
            "geometry": polygon(200 + i),
        }
        for i in range(60)
    ]
    rows = _rows("activities", empty, refs["kyiv"]) + shaped
    with Registry.open(registry_path) as reg:
        got = reg.add_records("activities", rows, actor="tester")
        assert len(got) == empty + 60
        box = polygon(200).bounds
        found = reg.store.select(KINDS["activities"], columns=["ref"], bbox=box)
        assert len(found["ref"]) >= 1
    _rtree_ok(registry_path)


def test_the_cli_imports_51_activities_without_geometry(
    registry_path: Path, refs: dict[str, str], tmp_path: Path, run_cli
) -> None:  # type: ignore[no-untyped-def]
    csv = tmp_path / "acts.csv"
    csv.write_text(
        "area_ref,activity_type,status\n" + f"{refs['kyiv']},nts,open\n" * 51, encoding="utf-8"
    )
    code, out, err = run_cli(
        ["import", csv, "--kind", "activities", "--db", registry_path, "--json"]
    )
    assert code == 0, err
    assert '"imported": 51' in out
