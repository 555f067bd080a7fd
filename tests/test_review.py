"""The review queue of field submissions: queueing, duplicates, flags and overrides, fixes,
approval through the audited path, rejection, and the history of every decision.

Submissions here are synthetic (made in the test, in ODK's text encoding); the registry is
the test template's (tests/conftest.py).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import shapely

from conftest import ACTOR
from fixtures import KHARKIV, KYIV, hazard, polygon, snapshot, table_counts
from landrelease.domain.errors import ConflictError, ValidationError
from landrelease.field.submission import Submission
from landrelease.registry import Registry


def point(lon: float, lat: float, acc: float = 4.0) -> str:
    """Return an ODK geopoint ("lat lon alt acc")."""
    return f"{lat} {lon} 120.0 {acc}"


def shape(poly: shapely.Polygon, acc: float = 4.0) -> str:
    """Return an ODK geoshape of a polygon's exterior ring (closed)."""
    return ";".join(f"{y} {x} 120.0 {acc}" for x, y in poly.exterior.coords)


def eod(instance: str, area_ref: str | None, at: tuple[float, float], **over: Any) -> Submission:
    values = {
        "landrelease_form": "eod_spot_task",
        "organisation": "Synthetic Demining NGO",
        "task_date": "2026-10-20",
        **({"area_ref": area_ref} if area_ref else {}),
    }
    item = {
        "item_location": point(*at),
        "item_category": "ap_mine",
        "item_quantity": "2",
        "item_state": "destroyed",
        "item_description": "synthetic",
    }
    item.update(over.pop("item", {}))
    values.update(over)
    return Submission(
        form_id="eod_spot_task",
        instance_id=instance,
        submitted_by="team-3",
        submitted_at="2026-10-20T15:00:00Z",
        values=values,
        repeats={"item": [item]},
        source="synthetic",
    )


def nts_edit(instance: str, area_ref: str, poly: shapely.Polygon) -> Submission:
    return Submission(
        form_id="nts_survey",
        instance_id=instance,
        submitted_by="team-1",
        submitted_at="2026-10-21T08:00:00Z",
        values={
            "landrelease_form": "nts_survey",
            "organisation": "Synthetic Survey Team",
            "area_ref": area_ref,
            "reported_on": "2026-10-21",
            "hazard_type": "SHA",
            "evidence": "farmer reports a tripwire near the road",
            "contamination": "ap_mine uxo",
            "shape_method": "polygon",
            "area_shape": shape(poly),
        },
        repeats={},
        source="synthetic",
    )


def kharkiv_point() -> tuple[float, float]:
    c = polygon(1, KHARKIV).centroid
    return c.x, c.y


def _records(path: Path | str) -> dict[str, Any]:
    counts = table_counts(path)
    return {t: n for t, n in counts.items() if not t.startswith("landrelease_submission")}


def test_queued_submissions_reach_no_record_before_approval(
    reg: Registry, registry_path: Path | str, refs: dict[str, str]
) -> None:
    before = _records(registry_path)
    report = reg.queue_submissions(
        [eod("uuid:a1", refs["kharkiv"], kharkiv_point())], actor="ana", source="test"
    )
    assert len(report.queued) == 1 and report.flagged == [] and report.duplicates == []
    assert _records(registry_path) == before
    (row,) = reg.submissions()
    assert (row["form_id"], row["submitted_by"], row["state"]) == (
        "eod_spot_task",
        "team-3",
        "pending",
    )
    assert row["flags"] == []


def test_the_same_submission_imported_twice_is_queued_once(
    reg: Registry, refs: dict[str, str]
) -> None:
    sub = eod("uuid:a1", refs["kharkiv"], kharkiv_point())
    first = reg.queue_submissions([sub], actor="ana", source="test")
    again = reg.queue_submissions([sub, sub], actor="ana", source="test")
    assert again.queued == []
    assert [d["id"] for d in again.duplicates] == [first.queued[0], first.queued[0]]
    assert len(reg.submissions(None)) == 1


def test_approval_writes_through_the_audited_path_naming_submitter_and_approver(
    reg: Registry, refs: dict[str, str]
) -> None:
    (sid,) = reg.queue_submissions(
        [eod("uuid:a1", refs["kharkiv"], kharkiv_point())], actor="ana", source="test"
    ).queued
    done = reg.approve_submission(sid, actor="vera")
    assert done["state"] == "approved" and done["decided_by"] == "vera"
    kinds = sorted(rec["kind"] for rec in done["records"])
    assert kinds == ["activities", "items"]
    assert len(done["refs"]) == 2
    item_ref = next(r for r in done["refs"] if "-ITM-" in r)
    item = reg.stored_record("items", item_ref)
    assert (item["category"], item["quantity"], item["state"]) == ("ap_mine", 2, "destroyed")
    assert item["area_ref"] == refs["kharkiv"]
    (version,) = reg.history(item_ref)
    assert version["actor"] == "vera"
    assert "team-3" in version["reason"] and f"submission {sid}" in version["reason"]
    actions = [e["action"] for e in done["history"]]
    assert actions == ["imported", "approved"]
    with pytest.raises(ConflictError, match="approved already"):
        reg.approve_submission(sid, actor="vera")
    with pytest.raises(ConflictError, match="approved already"):
        reg.reject_submission(sid, actor="vera", reason="late")


def test_rejection_keeps_the_submission_and_its_reason(
    reg: Registry, registry_path: Path | str, refs: dict[str, str]
) -> None:
    (sid,) = reg.queue_submissions(
        [eod("uuid:a1", refs["kharkiv"], kharkiv_point())], actor="ana", source="test"
    ).queued
    with pytest.raises(ValidationError) as err:
        reg.reject_submission(sid, actor="vera", reason=" ")
    assert err.value.field == "reason"
    before = _records(registry_path)
    done = reg.reject_submission(sid, actor="vera", reason="same item as task 12")
    assert _records(registry_path) == before
    assert (done["state"], done["decision_reason"]) == ("rejected", "same item as task 12")
    assert done["history"][-1]["action"] == "rejected"
    assert done["history"][-1]["reason"] == "same item as task 12"
    assert [r["id"] for r in reg.submissions("rejected")] == [sid]


def test_a_flagged_submission_needs_a_fix_or_an_override(
    reg: Registry, registry_path: Path | str, refs: dict[str, str]
) -> None:
    rough = point(*kharkiv_point(), acc=35)
    sub = eod("uuid:f1", refs["kharkiv"], kharkiv_point(), item={"item_location": rough})
    (sid,) = reg.queue_submissions([sub], actor="ana", source="test").flagged
    shown = reg.submission(sid)
    assert [f["code"] for f in shown["flags"]] == ["poor_accuracy"]
    before = snapshot(registry_path)
    with pytest.raises(ValidationError) as err:
        reg.approve_submission(sid, actor="vera")
    assert err.value.field == "item[1]/item_location" and "--override" in err.value.message
    assert snapshot(registry_path) == before
    done = reg.approve_submission(sid, actor="vera", override="open field, no trees: plotted")
    assert done["override_reason"] == "open field, no trees: plotted"
    assert [e["action"] for e in done["history"]] == ["imported", "overridden", "approved"]
    assert done["history"][1]["reason"] == "open field, no trees: plotted"
    item_ref = next(r for r in done["refs"] if "-ITM-" in r)
    assert "open field, no trees: plotted" in reg.history(item_ref)[0]["reason"]


def test_a_future_date_is_fixed_not_overridden(
    reg: Registry, registry_path: Path | str, refs: dict[str, str]
) -> None:
    future = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    sub = eod("uuid:f3", refs["kharkiv"], kharkiv_point(), task_date=future)
    (sid,) = reg.queue_submissions([sub], actor="ana", source="test").flagged
    assert [f["code"] for f in reg.submission(sid)["flags"]] == ["future_date"]
    before = snapshot(registry_path)
    with pytest.raises(ValidationError, match="future"):  # the registry's own check
        reg.approve_submission(sid, actor="vera", override="trust the team")
    assert snapshot(registry_path) == before
    reg.edit_submission(sid, {"task_date": "2026-10-20"}, actor="ana", reason="typed a month on")
    assert reg.approve_submission(sid, actor="vera")["state"] == "approved"


def test_a_fixed_submission_is_approved_without_override(
    reg: Registry, refs: dict[str, str]
) -> None:
    sub = eod("uuid:f2", refs["kharkiv"], kharkiv_point(), item={"item_category": "landmine"})
    (sid,) = reg.queue_submissions([sub], actor="ana", source="test").flagged
    assert [f["code"] for f in reg.submission(sid)["flags"]] == ["unknown_choice"]
    fixed = reg.edit_submission(
        sid, {"item[1]/item_category": "ap_mine"}, actor="ana", reason="typo"
    )
    assert fixed["flags"] == []
    edited = fixed["history"][-1]
    assert edited["action"] == "edited" and "landmine" in edited["detail"]
    with pytest.raises(ValidationError) as err:
        reg.edit_submission(sid, {"item[9]/item_category": "uxo"}, actor="ana")
    assert err.value.field == "item[9]/item_category"
    done = reg.approve_submission(sid, actor="vera")
    assert done["state"] == "approved" and done["override_reason"] is None


def test_an_edit_of_an_area_shows_field_and_geometry_differences(
    reg: Registry, refs: dict[str, str]
) -> None:
    moved = shapely.affinity.scale(polygon(0, KYIV), 1.5, 1.5)
    reg.update_record("hazards", refs["kyiv"], {"notes": "fenced in 2024"}, actor=ACTOR)
    (sid,) = reg.queue_submissions(
        [nts_edit("uuid:n1", refs["kyiv"], moved)], actor="ana", source="test"
    ).queued
    (rec,) = reg.submission(sid)["records"]
    assert (rec["kind"], rec["ref"], rec["action"]) == ("hazards", refs["kyiv"], "edit")
    changed = {c["field"]: c for c in rec["changes"]}
    assert changed["evidence"]["proposed"] == "farmer reports a tripwire near the road"
    assert changed["contamination"] == {
        "field": "contamination",
        "current": ["ap_mine"],
        "proposed": ["ap_mine", "uxo"],
    }
    assert "hazard_type" not in changed  # SHA before and after: no change shown
    geo = rec["geometry_change"]
    assert geo["proposed_m2"] > geo["current_m2"] > 0
    assert geo["added_m2"] > 0 and geo["moved_m"] > 0 and not geo["same"]
    assert rec["current_geometry"]["type"] in ("Polygon", "MultiPolygon")
    before = reg.stored_record("hazards", refs["kyiv"])["version"]
    reg.approve_submission(sid, actor="vera")
    after = reg.stored_record("hazards", refs["kyiv"])
    assert after["version"] == before + 1
    assert after["evidence"] == "farmer reports a tripwire near the road"
    assert after["changed_by"] == "vera"
    # the survey's notes are added to the area's; when it was first reported stays
    assert after["notes"] == (
        "fenced in 2024\n\nNon-technical survey of 2026-10-21 by Synthetic Survey Team."
    )
    assert str(after["reported_on"]) == "2024-03-15"


def test_an_approval_that_the_registry_refuses_writes_nothing(
    reg: Registry, registry_path: Path | str, refs: dict[str, str]
) -> None:
    # Two items in the same spot task, the second of a state the registry does not know:
    # overriding the flag does not make the registry accept it, and the first item, the
    # activity and the decision are not written either.
    sub = eod("uuid:r1", refs["kharkiv"], kharkiv_point())
    rows = [*sub.repeats["item"], {**sub.repeats["item"][0], "item_state": "lost"}]
    sub = Submission(**{**sub.__dict__, "repeats": {"item": rows}})
    (sid,) = reg.queue_submissions([sub], actor="ana", source="test").flagged
    before = snapshot(registry_path)
    with pytest.raises(ValidationError, match="lost"):
        reg.approve_submission(sid, actor="vera", override="checked on site")
    assert snapshot(registry_path) == before
    assert reg.submission(sid)["state"] == "pending"


def test_a_survey_making_a_confirmed_area_an_sha_is_flagged_and_fixed(
    reg: Registry, registry_path: Path | str
) -> None:
    (ref,) = reg.add_records("hazards", [hazard(40, status="confirmed")], actor=ACTOR)
    survey = nts_edit("uuid:c1", ref, shapely.affinity.scale(polygon(40), 1.2, 1.2))
    (sid,) = reg.queue_submissions([survey], actor="ana", source="test").flagged
    (flag,) = reg.submission(sid)["flags"]
    assert (flag["code"], flag["field"]) == ("refused_edit", "hazard_type")
    assert flag["message"].startswith(f"{ref}: a confirmed area is a CHA")
    before = snapshot(registry_path)
    with pytest.raises(ValidationError, match="a confirmed area is a CHA"):
        reg.approve_submission(sid, actor="vera", override="the team knows")
    assert snapshot(registry_path) == before
    fixed = reg.edit_submission(sid, {"hazard_type": "CHA"}, actor="ana", reason="confirmed")
    assert fixed["flags"] == []
    assert reg.approve_submission(sid, actor="vera")["state"] == "approved"
    assert reg.hazard(ref).hazard_type == "CHA"


def test_an_edited_submission_replaces_the_pending_one_it_edits(
    reg: Registry, refs: dict[str, str]
) -> None:
    first = eod("uuid:e1", refs["kharkiv"], kharkiv_point())
    (old,) = reg.queue_submissions([first], actor="ana", source="test").queued
    edit = Submission(**{**first.__dict__, "instance_id": "uuid:e2", "deprecated_id": "uuid:e1"})
    report = reg.queue_submissions([edit], actor="ana", source="test")
    assert report.replaced == [old]
    gone = reg.submission(old)
    assert gone["state"] == "rejected" and "replaced" in gone["decision_reason"]
    assert [r["instance_id"] for r in reg.submissions()] == ["uuid:e2"]


def test_an_unknown_area_ref_is_flagged(reg: Registry) -> None:
    sub = eod("uuid:u1", "UA-1999-99999", kharkiv_point())
    (sid,) = reg.queue_submissions([sub], actor="ana", source="test").flagged
    flags = reg.submission(sid)["flags"]
    assert {f["code"] for f in flags} == {"unknown_ref"}
    assert flags[0]["field"] == "area_ref"


def test_the_accuracy_limit_is_the_imports_or_the_registrys(
    reg: Registry, refs: dict[str, str]
) -> None:
    sub = eod("uuid:g1", refs["kharkiv"], kharkiv_point(), item={"item_location": ""})
    rough = Submission(
        **{
            **sub.__dict__,
            "repeats": {
                "item": [
                    {**sub.repeats["item"][0], "item_location": point(*kharkiv_point(), acc=25)}
                ]
            },
        }
    )
    (sid,) = reg.queue_submissions([rough], actor="ana", source="test").flagged
    assert [f["code"] for f in reg.submission(sid)["flags"]] == ["poor_accuracy"]
    loose = Submission(**{**rough.__dict__, "instance_id": "uuid:g2"})
    report = reg.queue_submissions([loose], actor="ana", source="test", accuracy_limit_m=30)
    assert report.flagged == []
    with pytest.raises(ValidationError):
        reg.queue_submissions([loose], actor="ana", source="test", accuracy_limit_m=-1)


def test_an_unchanged_field_is_no_difference(reg: Registry, refs: dict[str, str]) -> None:
    same = nts_edit("uuid:n2", refs["kyiv"], polygon(0, KYIV))
    same = Submission(**{**same.__dict__, "values": {**same.values, "contamination": "ap_mine"}})
    (sid,) = reg.queue_submissions([same], actor="ana", source="test").queued
    (rec,) = reg.submission(sid)["records"]
    assert {c["field"] for c in rec["changes"]} == {"evidence", "notes"}
    assert rec["geometry_change"]["same"] and rec["geometry_change"]["moved_m"] == 0


def test_a_point_shows_with_its_area(reg: Registry, refs: dict[str, str]) -> None:
    (sid,) = reg.queue_submissions(
        [eod("uuid:p1", refs["kharkiv"], kharkiv_point())], actor="ana", source="test"
    ).queued
    records = {r["kind"]: r for r in reg.submission(sid)["records"]}
    area = shapely.geometry.shape(records["items"]["area_geometry"])
    assert area.equals(shapely.MultiPolygon([polygon(1, KHARKIV)]))
