"""Status changes with real activities, optimistic locking, the audit trail, history, revert."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import shapely

from fixtures import hazard, polygon, snapshot, table_counts, write_geojson
from landrelease.domain.errors import (
    ConflictError,
    IllegalTransition,
    NotFound,
    ValidationError,
)
from landrelease.registry import Registry


def activity(reg: Registry, area: str, kind: str, status: str, **extra: Any) -> str:
    [ref] = reg.add_records(
        "activities",
        [
            {
                "area_ref": area,
                "activity_type": kind,
                "status": status,
                "start_date": "2024-05-01",
                "geometry": reg.hazard(area).geometry,
                **extra,
            }
        ],
        actor="operator",
    )
    return ref


def refused(reg: Registry, path: Path, ref: str, status: str, reason: str | None = None) -> str:
    """Assert that set_status is refused and changes nothing; return the message."""
    before = snapshot(path)
    with pytest.raises(IllegalTransition) as info:
        reg.set_status(ref, status, actor="officer", reason=reason)
    assert snapshot(path) == before
    assert info.value.ref == ref and info.value.to_status == status
    return str(info.value)


# -- the lifecycle with real activities ----------------------------------------------------


def test_suspected_to_cancelled_needs_a_completed_nts(
    reg: Registry, registry_path: Path, refs: dict[str, str]
) -> None:
    area = refs["kyiv"]
    assert "non-technical survey" in refused(reg, registry_path, area, "cancelled")
    activity(reg, area, "nts", "open")
    activity(reg, area, "ts", "completed", evidence_found=False)
    refused(reg, registry_path, area, "cancelled", reason="the mayor said so")
    activity(reg, area, "nts", "completed", evidence_found=False)
    done = reg.set_status(area, "cancelled", actor="officer")
    assert done.status == "cancelled" and done.version == 2


def test_in_progress_needs_an_open_ts_or_clearance(
    reg: Registry, registry_path: Path, refs: dict[str, str]
) -> None:
    kyiv, kharkiv = refs["kyiv"], refs["kharkiv"]
    activity(reg, kyiv, "ts", "completed", evidence_found=False)
    activity(reg, kyiv, "nts", "open")
    activity(reg, kyiv, "ts", "planned")
    assert "open technical survey" in refused(reg, registry_path, kyiv, "in_progress")
    activity(reg, kyiv, "ts", "open")
    assert reg.set_status(kyiv, "in_progress", actor="officer").status == "in_progress"
    activity(reg, kharkiv, "clearance", "open")
    assert reg.set_status(kharkiv, "in_progress", actor="officer").status == "in_progress"


def test_reduced_needs_a_completed_ts_that_found_no_evidence(
    reg: Registry, registry_path: Path, refs: dict[str, str]
) -> None:
    area = refs["kyiv"]
    ts = activity(reg, area, "ts", "open")
    reg.set_status(area, "in_progress", actor="officer")
    assert "evidence_found = false" in refused(reg, registry_path, area, "reduced")
    reg.update_record(
        "activities", ts, {"status": "completed", "evidence_found": True}, actor="operator"
    )
    refused(reg, registry_path, area, "reduced")
    other = activity(reg, area, "ts", "completed")  # evidence_found unknown
    refused(reg, registry_path, area, "reduced")
    reg.update_record("activities", other, {"evidence_found": "false"}, actor="operator")
    assert reg.set_status(area, "reduced", actor="officer").status == "reduced"


def test_cleared_needs_a_completed_clearance_and_released_a_handover(
    reg: Registry, registry_path: Path, refs: dict[str, str]
) -> None:
    area = refs["kharkiv"]  # confirmed
    clearance = activity(reg, area, "clearance", "open")
    reg.set_status(area, "in_progress", actor="officer")
    assert "completed clearance" in refused(reg, registry_path, area, "cleared")
    reg.update_record(
        "activities", clearance, {"status": "completed", "cleared_m2": 1000}, actor="operator"
    )
    assert reg.set_status(area, "cleared", actor="officer").status == "cleared"
    assert "handover" in refused(reg, registry_path, area, "released")
    activity(reg, area, "handover", "planned")
    refused(reg, registry_path, area, "released")
    activity(reg, area, "handover", "completed")
    released = reg.set_status(area, "released", actor="officer")
    assert released.status == "released" and released.version == 4


def test_a_closed_area_reopens_only_with_a_reason(
    reg: Registry, registry_path: Path, refs: dict[str, str]
) -> None:
    area = refs["kyiv"]
    activity(reg, area, "nts", "completed")
    reg.set_status(area, "cancelled", actor="officer")
    assert "reason" in refused(reg, registry_path, area, "confirmed")
    refused(reg, registry_path, area, "suspected", reason="   ")
    back = reg.set_status(area, "confirmed", actor="officer", reason="a child found a mine")
    assert back.status == "confirmed" and back.hazard_type == "CHA"
    assert reg.history(area)[-1]["reason"] == "a child found a mine"


def test_suspected_to_confirmed_needs_an_item_an_accident_or_a_reason(
    reg: Registry, registry_path: Path, refs: dict[str, str]
) -> None:
    kyiv, forest = refs["kyiv"], refs["forest"]
    assert "direct evidence" in refused(reg, registry_path, kyiv, "confirmed")
    assert reg.set_status(kyiv, "confirmed", actor="o", reason="PMN-2 seen").hazard_type == "CHA"
    centre = reg.hazard(forest).geometry.centroid
    reg.add_records(
        "accidents",
        [{"area_ref": forest, "occurred_on": "2024-06-01", "geometry": centre}],
        actor="o",
    )
    assert reg.set_status(forest, "confirmed", actor="o").status == "confirmed"


def test_a_refused_change_through_the_cli_names_area_statuses_and_the_fix(
    run_cli: Any, registry_path: Path, refs: dict[str, str]
) -> None:
    before = snapshot(registry_path)
    code, out, err = run_cli(
        ["hazards", "set-status", refs["kyiv"], "cleared", "--db", registry_path]
    )
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert refs["kyiv"] in err and "'suspected'" in err and "'cleared'" in err
    assert "confirmed, cancelled, in_progress" in err
    code, out, err = run_cli(
        ["hazards", "set-status", refs["kyiv"], "cancelled", "--db", registry_path]
    )
    assert code == 2 and "completed non-technical survey" in err
    code, out, err = run_cli(
        ["hazards", "set-status", refs["kyiv"], "exploded", "--db", registry_path]
    )
    assert code == 2 and "unknown status" in err
    code, out, err = run_cli(
        [
            "hazards",
            "set-status",
            "UA-1999-00001",
            "confirmed",
            "--db",
            registry_path,
            "--reason",
            "x",
        ]
    )
    assert code == 2 and "UA-1999-00001" in err
    assert snapshot(registry_path) == before
    code, out, err = run_cli(
        [
            "hazards",
            "set-status",
            refs["kyiv"],
            "confirmed",
            "--db",
            registry_path,
            "--reason",
            "PMN-2 seen",
        ]
    )
    assert code == 0, err
    assert "confirmed" in out and "version 2" in out


def test_a_new_confirmed_area_is_a_cha(empty_reg: Registry) -> None:
    [ref] = empty_reg.add_records(
        "hazards", [hazard(0, status="confirmed", evidence="PMN-2 seen")], actor="x"
    )
    assert empty_reg.hazard(ref).hazard_type == "CHA"


# -- optimistic locking -------------------------------------------------------------------


def test_a_stale_version_is_a_conflict_and_changes_nothing(
    reg: Registry, registry_path: Path, refs: dict[str, str]
) -> None:
    area = refs["kyiv"]
    seen = reg.hazard(area).version
    with Registry.open(registry_path) as other:  # someone else, at the same time
        other.update_record("hazards", area, {"name": "renamed"}, actor="colleague")
    before = snapshot(registry_path)
    with pytest.raises(ConflictError) as info:
        reg.set_status(area, "confirmed", actor="me", reason="seen", expected_version=seen)
    assert area in str(info.value) and "version 2" in str(info.value)
    with pytest.raises(ConflictError):
        reg.update_record("hazards", area, {"name": "mine"}, actor="me", expected_version=seen)
    assert snapshot(registry_path) == before
    changed = reg.set_status(area, "confirmed", actor="me", reason="seen", expected_version=2)
    assert changed.version == 3 and changed.name == "renamed"


# -- history kept by the database ----------------------------------------------------------


def _audit(path: Path, ref: str) -> list[tuple]:
    """Return (version, action, actor, reason, state JSON, WKB) of every version, oldest first,
    as the file holds them: history rows, then the current row."""
    with Registry.open(path) as reg:
        with reg.store.unit_of_work() as uow:
            versions = uow.history.versions(ref)
    return [
        (
            v["version"],
            v["action"],
            v["actor"],
            v["reason"],
            json.dumps(v["state"]),
            None if v["geometry"] is None else shapely.to_wkb(v["geometry"]),
        )
        for v in versions
    ]


def test_every_write_keeps_the_version_it_replaces(
    reg: Registry, registry_path: Path, refs: dict[str, str]
) -> None:
    area = refs["kyiv"]
    counts = table_counts(registry_path)["history"]
    reg.add_records("hazards", [hazard(40), hazard(41)], actor="a")
    reg.update_record("hazards", area, {"notes": "fenced"}, actor="b", reason="site visit")
    reg.set_status(area, "confirmed", actor="c", reason="PMN-2 seen")
    reg.revert(area, 1, actor="d", reason="wrong area")
    with pytest.raises(IllegalTransition):
        reg.set_status(area, "released", actor="e")
    # the 2 new areas are their rows (version 1); 3 changes put 3 versions into history
    assert table_counts(registry_path)["history"] == counts + 3
    rows = _audit(registry_path, area)
    assert [(v, a, who) for v, a, who, *_ in rows] == [
        (1, "create", "tester"),
        (2, "update", "b"),
        (3, "status", "c"),
        (4, "revert", "d"),
    ]
    assert rows[1][3] == "site visit" and rows[3][3] == "revert to version 1: wrong area"


def test_each_audit_row_holds_the_full_state_of_its_version(
    reg: Registry, registry_path: Path, refs: dict[str, str]
) -> None:
    area = refs["kharkiv"]
    reg.update_record("hazards", area, {"geometry": polygon(60), "land_use": "forest"}, actor="x")
    *_, (version, _, _, _, state, wkb) = _audit(registry_path, area)
    now = reg.hazard(area)
    assert version == now.version == 2
    state = json.loads(state)
    assert state["land_use"] == "forest" and state["status"] == now.status
    assert state["area_m2"] == pytest.approx(now.area_m2)
    assert shapely.from_wkb(wkb).equals_exact(now.geometry, tolerance=0)


def test_audit_states_keep_floats_exactly_and_booleans_as_booleans(
    reg: Registry, registry_path: Path, refs: dict[str, str]
) -> None:
    area = refs["kyiv"]
    created = reg.hazard(area)
    act = activity(
        reg,
        area,
        "ts",
        "completed",
        end_date="2024-05-09",
        evidence_found=False,
        cancelled_m2=0.1,
        reduced_m2=1 / 3,
        cleared_m2=123456.78901234567,
    )
    reg.update_record("activities", act, {"evidence_found": True, "cleared_m2": 2.5e-7}, actor="x")
    first, second = (json.loads(r[4]) for r in _audit(registry_path, act))
    assert (first["cancelled_m2"], first["reduced_m2"]) == (0.1, 1 / 3)
    assert first["cleared_m2"] == 123456.78901234567
    assert first["evidence_found"] is False and second["evidence_found"] is True
    assert second["cleared_m2"] == 2.5e-7 and second["reduced_m2"] == 1 / 3
    # The area's own state (measured area included) is exact, as the history shows it.
    [hazard_state] = [json.loads(r[4]) for r in _audit(registry_path, area)]
    assert hazard_state["area_m2"] == created.area_m2
    assert reg.history(act)[1]["changes"] == {
        "evidence_found": [False, True],
        "cleared_m2": [123456.78901234567, 2.5e-7],
    }


# -- history ------------------------------------------------------------------------------


def test_history_lists_versions_in_order_with_what_changed(
    reg: Registry, refs: dict[str, str]
) -> None:
    area = refs["kyiv"]
    old = reg.hazard(area)
    reg.set_status(area, "confirmed", actor="alice", reason="PMN-2 seen")
    reg.update_record("hazards", area, {"geometry": polygon(61)}, actor="bob")
    rows = reg.history(area)
    assert [r["version"] for r in rows] == [1, 2, 3]
    assert [r["actor"] for r in rows] == ["tester", "alice", "bob"]
    assert [r["action"] for r in rows] == ["create", "status", "update"]
    assert [r["at"] for r in rows] == sorted(r["at"] for r in rows)
    assert all(r["at"].endswith("Z") for r in rows)
    assert rows[0]["changes"]["status"] == [None, "suspected"]
    assert rows[1]["changes"] == {
        "status": ["suspected", "confirmed"],
        "hazard_type": ["SHA", "CHA"],
    }
    assert set(rows[2]["changes"]) == {"geometry", "area_m2"}
    before, after = rows[2]["changes"]["geometry"]
    assert shapely.geometry.shape(before).equals(old.geometry)
    assert shapely.geometry.shape(after).geoms[0].equals(polygon(61))


def test_history_of_an_unknown_ref(reg: Registry) -> None:
    with pytest.raises(NotFound):
        reg.history("UA-1999-00001")


# -- revert -------------------------------------------------------------------------------


def test_revert_restores_an_old_version_as_a_new_one(
    reg: Registry, registry_path: Path, refs: dict[str, str], run_cli: Any, tmp_path: Path
) -> None:
    area = refs["kyiv"]
    v1 = reg.hazard(area)
    reg.set_status(area, "confirmed", actor="o", reason="seen")
    activity(reg, area, "ts", "open")
    reg.set_status(area, "in_progress", actor="o")
    reg.update_record("hazards", area, {"geometry": polygon(62), "name": "moved"}, actor="o")
    code, out, err = run_cli(
        [
            "revert",
            area,
            "--to-version",
            "1",
            "--db",
            registry_path,
            "--reason",
            "entered on the wrong area",
        ]
    )
    assert code == 0, err
    assert "restored version 1 as version 5" in out
    now = reg.hazard(area)
    assert now.version == 5
    assert (now.status, now.hazard_type, now.name) == (v1.status, v1.hazard_type, v1.name)
    assert now.geometry.equals_exact(v1.geometry, tolerance=0)
    assert now.area_m2 == v1.area_m2
    last = reg.history(area)[-1]
    assert last["action"] == "revert" and last["actor"] == "tester"
    assert last["reason"] == "revert to version 1: entered on the wrong area"
    assert last["changes"]["status"] == ["in_progress", "suspected"]
    # the duplicate key follows the geometry back
    again = write_geojson(tmp_path / "again.geojson", [hazard(63, geometry=v1.geometry)])
    code, out, err = run_cli(["import", again, "--db", registry_path])
    assert code == 2 and "probable duplicate" in err and area in err
    moved = write_geojson(tmp_path / "moved.geojson", [hazard(64, geometry=polygon(62))])
    code, out, err = run_cli(["import", moved, "--db", registry_path])
    assert code == 0, err


@pytest.mark.parametrize("version", ["2", "99", "0", "-1"])
def test_revert_to_the_current_or_a_missing_version_is_refused(
    run_cli: Any, reg: Registry, registry_path: Path, refs: dict[str, str], version: str
) -> None:
    area = refs["kyiv"]
    reg.update_record("hazards", area, {"notes": "v2"}, actor="x")
    before = snapshot(registry_path)
    code, out, err = run_cli(["revert", area, "--to-version", version, "--db", registry_path])
    assert code == 2 and err.count("\n") == 1, err
    assert area in err and "version" in err
    assert snapshot(registry_path) == before


def test_revert_of_a_record_with_one_version_or_none(
    run_cli: Any, registry_path: Path, refs: dict[str, str]
) -> None:
    before = snapshot(registry_path)
    code, out, err = run_cli(["revert", refs["forest"], "--to-version", "1", "--db", registry_path])
    assert code == 2 and "only version 1" in err
    code, out, err = run_cli(["revert", "NOPE-1", "--to-version", "1", "--db", registry_path])
    assert code == 2 and "NOPE-1" in err
    assert snapshot(registry_path) == before


def test_revert_works_for_other_kinds(reg: Registry, refs: dict[str, str]) -> None:
    [ev] = reg.add_records(
        "events",
        [
            {
                "area_ref": refs["kyiv"],
                "profile_id": "persistent-ap-mine",
                "quantity_best": 10,
                "emplaced_on": "2022-03-01",
            }
        ],
        actor="x",
    )
    reg.update_record("events", ev, {"quantity_best": 50, "quantity_high": 80}, actor="x")
    back = reg.revert(ev, 1, actor="x")
    assert (back.quantity_best, back.quantity_high, back.version) == (10, None, 3)


def test_revert_restores_a_missing_geometry(reg: Registry, refs: dict[str, str]) -> None:
    [act] = reg.add_records(
        "activities", [{"area_ref": refs["kyiv"], "activity_type": "nts"}], actor="x"
    )
    reg.update_record("activities", act, {"geometry": polygon(0)}, actor="x")
    back = reg.revert(act, 1, actor="x")
    assert back.version == 3
    assert back.geometry is None


def test_a_ref_names_one_record_across_kinds(
    reg: Registry, registry_path: Path, refs: dict[str, str]
) -> None:
    # history and revert take any record's ref, so a ref may not name two records of
    # different kinds: the second one is refused and nothing changes.
    reg.add_records("hazards", [hazard(70, ref="SAME-1")], actor="x")
    before = snapshot(registry_path)
    with pytest.raises(ValidationError, match=r"SAME-1.*already in the registry \(hazards\)"):
        reg.add_records(
            "activities",
            [{"ref": "SAME-1", "area_ref": refs["kyiv"], "activity_type": "nts"}],
            actor="x",
        )
    assert snapshot(registry_path) == before
    versions = [r["version"] for r in reg.history("SAME-1")]
    assert versions == [1]


# -- updates ------------------------------------------------------------------------------


def test_update_record_refuses_status_and_bad_values(
    reg: Registry, registry_path: Path, refs: dict[str, str]
) -> None:
    area = refs["kyiv"]
    before = snapshot(registry_path)
    with pytest.raises(ValidationError) as info:
        reg.update_record("hazards", area, {"status": "cleared"}, actor="x")
    assert info.value.field == "status"
    with pytest.raises(ValidationError) as info:
        reg.update_record("hazards", area, {"land_use": "moon base"}, actor="x")
    assert info.value.record == area and info.value.field == "land_use"
    with pytest.raises(ValidationError) as info:
        reg.update_record(
            "hazards",
            area,
            {"geometry": shapely.Polygon([(y, x) for x, y in polygon(65).exterior.coords])},
            actor="x",
        )
    assert "swapped" in str(info.value)
    with pytest.raises(NotFound):
        reg.update_record("hazards", "NOPE-1", {"notes": "x"}, actor="x")
    assert snapshot(registry_path) == before


def test_a_written_version_reads_the_same_after_a_later_one(reg: Registry) -> None:
    """What a change wrote is what the service answers, even once another change followed."""
    ref = str(reg.hazards()["ref"].iloc[0])
    before = reg.stored_record("hazards", ref)
    written = reg.update_record(
        "hazards", ref, {"name": "first"}, actor="a", expected_version=before["version"]
    )
    as_written = reg.stored_record("hazards", ref)
    reg.update_record(
        "hazards",
        ref,
        {"name": "second", "geometry": polygon(7)},
        actor="b",
        expected_version=written.version,
    )
    again = reg.stored_record("hazards", ref, written.version)
    assert again.keys() == as_written.keys()
    for key, value in as_written.items():
        if key == "geometry":
            assert shapely.equals_exact(again[key], value, 1e-9)
        else:
            assert again[key] == value, key
    assert reg.stored_record("hazards", ref, written.version + 1)["name"] == "second"
    with pytest.raises(NotFound):
        reg.stored_record("hazards", ref, 99)
