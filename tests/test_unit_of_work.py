"""Use cases as units of work: one transaction each, or several steps in one.

The store contract (tests/test_store_contract.py) pins what a unit of work is; here the
registry's use cases are run through it: a change of several steps lands whole or not at
all, an edit is written at the version its checks read, and the write lock is taken as a
write begins (the SQLite backend: BEGIN IMMEDIATE, the note for a busy writer, the bulk
journal).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from conftest import ACTOR
from fixtures import hazard, polygon, snapshot
from landrelease.domain.errors import ConflictError, RegistryBusy, ValidationError
from landrelease.registry import Registry


def _event(area: str) -> dict[str, Any]:
    return {
        "area_ref": area,
        "profile_id": "persistent-ap-mine",
        "quantity_best": 4,
        "emplaced_on": "2023-05-01",
    }


def test_steps_of_one_change_land_together(reg: Registry) -> None:
    # As approving a reviewed submission will: its records written and it marked, at once.
    with reg.store.unit_of_work(write=True, note="a review by tester") as uow:
        [area] = reg.add_records("hazards", [hazard(40)], actor=ACTOR, uow=uow)
        # the checks of the next step read through the same unit of work: the new area exists
        [event] = reg.add_records("events", [_event(area)], actor=ACTOR, uow=uow)
        uow.settings.set("submission:17", "approved")
    assert reg.hazard(area).name == "test area 40"
    assert [e.ref for e in reg.events(area)] == [event]
    with reg.store.unit_of_work() as uow:
        assert uow.settings.get("submission:17") == "approved"


def test_a_failing_step_leaves_the_registry_as_it_was(
    reg: Registry, registry_path: Path, refs: dict[str, str]
) -> None:
    before = snapshot(registry_path)
    with pytest.raises(ValidationError, match="quantity_best"):
        with reg.store.unit_of_work(write=True) as uow:
            reg.add_records("hazards", [hazard(41)], actor=ACTOR, uow=uow)
            uow.settings.set("submission:18", "approved")
            bad = _event(refs["kyiv"]) | {"quantity_best": "many"}
            reg.add_records("events", [bad], actor=ACTOR, uow=uow)
    assert snapshot(registry_path) == before


def test_an_import_into_a_read_unit_of_work_is_refused(reg: Registry) -> None:
    with reg.store.unit_of_work() as uow, pytest.raises(RuntimeError, match="write=True"):
        reg.add_records("hazards", [hazard(42)], actor=ACTOR, uow=uow)


def test_an_edit_is_written_at_the_version_its_checks_read(
    reg: Registry, registry_path: Path, refs: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another officer's change lands between the checks of an edit and its write: the edit
    # was checked against a row that is no longer there, so it is a conflict (before, it was
    # written over the other change).
    import landrelease.checking as checking

    area = refs["forest"]
    real = checking.check_edit

    def check_then_meanwhile(*args: Any, **kwargs: Any) -> Any:
        checked = real(*args, **kwargs)
        monkeypatch.setattr(checking, "check_edit", real)  # the other edit's own checks
        with Registry.open(registry_path) as other:
            other.update_record("hazards", area, {"notes": "fenced"}, actor="other")
        return checked

    monkeypatch.setattr(checking, "check_edit", check_then_meanwhile)
    with pytest.raises(ConflictError, match="now version 2, you had version 1"):
        reg.update_record("hazards", area, {"name": "renamed"}, actor=ACTOR)
    monkeypatch.undo()
    got = reg.hazard(area)
    assert (got.name, got.notes, got.version) == ("Kyiv forest", "fenced", 2)


def test_a_change_returns_the_record_it_wrote(reg: Registry, refs: dict[str, str]) -> None:
    area = reg.set_status(refs["kyiv"], "confirmed", actor=ACTOR, reason="mine seen")
    assert (area.status, area.hazard_type, area.version) == ("confirmed", "CHA", 2)
    edited = reg.update_record("hazards", refs["kyiv"], {"notes": "n"}, actor=ACTOR)
    assert (edited.notes, edited.version) == ("n", 3)
    back = reg.revert(refs["kyiv"], 1, actor=ACTOR)
    assert (back.status, back.notes, back.version) == ("suspected", None, 4)


@pytest.mark.sqlite_only(reason="the -writer note beside the file (PostGIS: test_store_postgis.py)")
def test_a_write_holds_the_lock_from_its_start_and_readers_go_on(
    registry_path: Path, refs: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANDRELEASE_BUSY_TIMEOUT_MS", "100")
    note = Path(f"{registry_path}-writer")
    with Registry.open(registry_path) as first, Registry.open(registry_path) as second:
        with first.store.unit_of_work(write=True, note="an edit by alice") as uow:
            assert note.exists()  # for a writer who finds the registry busy
            # nothing written yet, and already the lock: no write fails half-way
            with pytest.raises(RegistryBusy, match="an edit by alice"):
                second.set_status(refs["kyiv"], "confirmed", actor="bob", reason="seen")
            assert second.hazard(refs["kyiv"]).version == 1  # readers are not held up
            uow.settings.set("k", "v")
            uow.commit()
            assert not note.exists()  # the lock is free once committed
            second.set_status(refs["kyiv"], "confirmed", actor="bob", reason="seen")
        assert second.hazard(refs["kyiv"]).version == 2


@pytest.mark.sqlite_only(reason="the file's journal mode")
def test_a_bulk_write_keeps_the_file_in_wal_mode(registry_path: Path) -> None:
    with Registry.open(registry_path) as reg:
        with reg.store.unit_of_work(write=True, bulk=True) as uow:
            reg.add_records("hazards", [hazard(43), hazard(44)], actor=ACTOR, uow=uow)
        assert len(reg.hazards()) == 5
    conn = sqlite3.connect(registry_path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


def test_a_unit_of_work_reads_one_snapshot_for_a_whole_use_case(
    reg: Registry, registry_path: Path, refs: dict[str, str]
) -> None:
    # the residual estimate reads the area, its events and its items in one snapshot
    with reg.store.unit_of_work() as uow:
        facts = reg.area_facts(refs["kharkiv"], uow)
        with Registry.open(registry_path) as other:
            other.add_records(
                "items",
                [
                    {
                        "area_ref": refs["kyiv"],
                        "category": "uxo",
                        "state": "live",
                        "geometry": polygon(0).centroid,
                    }
                ],
                actor="other",
            )
        assert reg.area_facts(refs["kyiv"], uow).direct_evidence is False
    assert facts.direct_evidence is True
    assert reg.area_facts(refs["kyiv"]).direct_evidence is True
