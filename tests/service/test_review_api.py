"""The review queue of field submissions over HTTP: who queues, who corrects, who decides,
and what a decision needs. The registry is a copy of the synthetic demo (conftest.py); the
exports are the synthetic samples of tests/data/field/."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import shapely
import shapely.affinity
from fastapi.testclient import TestClient

from landrelease.field.submission import Submission
from landrelease.registry import Registry

ClientFor = Callable[..., TestClient]  # tests/service/conftest.py's client_for
PROBLEM = "application/problem+json"
SAMPLES = Path(__file__).resolve().parents[1] / "data" / "field"


def upload(client: TestClient, name: str, **form: str) -> Any:
    """POST a sample export of tests/data/field/ to the queue."""
    with (SAMPLES / name).open("rb") as f:
        return client.post("/api/submissions", files={"file": (name, f)}, data=form)


SURVEYED = (dt.date.today() - dt.timedelta(days=10)).isoformat()


def survey(instance_id: str, outline: Any, *, accuracy_m: float = 3.0, **values: str) -> Submission:
    """Return a synthetic non-technical survey of a confirmed area with `outline` (walked
    with GPS fixes of `accuracy_m`); `values` add to or replace its answers."""
    shape = ";".join(f"{y:.6f} {x:.6f} 150.0 {accuracy_m}" for x, y in outline.coords)
    answers = {
        "landrelease_form": "nts_survey",
        "organisation": "SYNTHETIC survey organisation",
        "name": "SYNTHETIC field by the road",
        "reported_on": SURVEYED,
        "hazard_type": "CHA",
        "evidence": "SYNTHETIC: warning signs along the field edge",
        "contamination": "cmr uxo",
        "shape_method": "polygon",
        "area_shape": shape,
        **values,
    }
    return Submission(
        "nts_survey",
        instance_id,
        "synthetic-collector",
        "2026-10-02T09:00:00Z",
        answers,
        {},
        "test",
    )


def new_area(instance_id: str = "uuid:synthetic-new-1", **values: str) -> Submission:
    """Return a synthetic survey of a new area (a field of about 9 ha in Kharkiv oblast)."""
    return survey(instance_id, shapely.box(36.50, 49.50, 36.504, 49.503).exterior, **values)


def area_edit(reg: Registry, ref: str, *, accuracy_m: float = 3.0) -> Submission:
    """Return a synthetic survey that redraws area `ref` 30% larger and adds a contamination
    category: an edit with field and geometry changes, and no flag while the GPS is good."""
    area = reg.stored_record("hazards", ref)
    ring = area["geometry"].geoms[0].exterior.simplify(0.0001)
    outline = shapely.affinity.scale(ring, 1.3, 1.3)
    return survey(
        "uuid:synthetic-edit-1", outline, accuracy_m=accuracy_m, area_ref=ref, name=area["name"]
    )


def queue(path: Path | str, *subs: Submission) -> list[int]:
    """Queue synthetic submissions as an import would; return their ids."""
    with Registry.open(path) as reg:
        return list(reg.queue_submissions(list(subs), actor="tests", source="test").queued)


def queue_area_edit(path: Path | str, accuracy_m: float = 3.0) -> tuple[int, str]:
    """Queue an edit of a confirmed demo area; return the submission's id and the area's ref."""
    with Registry.open(path) as reg:
        ref = str(reg.hazard_columns(status="confirmed", columns=["ref"], geometry=False)["ref"][0])
        edit = area_edit(reg, ref, accuracy_m=accuracy_m)
    return queue(path, edit)[0], ref


@pytest.fixture
def clients(
    demo_copy: Path, demo_tokens: dict[str, str], client_for: ClientFor
) -> dict[str, TestClient]:
    """A client of each role, and of the public, on this test's copy of the demo."""
    out = {role: client_for(demo_copy, token) for role, token in demo_tokens.items()}
    out["public"] = client_for(demo_copy)
    return out


# -- queueing ---------------------------------------------------------------------------------


def test_an_editor_queues_an_export_and_a_second_upload_reports_duplicates(
    clients: dict[str, TestClient],
) -> None:
    r = upload(clients["editor"], "nts_survey.csv.zip")
    assert r.status_code == 201, r.text
    first = r.json()
    assert len(first["queued"]) == 3 and first["source"] == "nts_survey.csv.zip"
    assert set(first["flagged"]) <= set(first["queued"])
    r = upload(clients["editor"], "nts_survey.csv.zip")
    assert r.status_code == 200, r.text  # nothing new
    again = r.json()
    assert again["queued"] == []
    assert sorted(d["id"] for d in again["duplicates"]) == sorted(first["queued"])
    assert {d["state"] for d in again["duplicates"]} == {"pending"}
    # the same submissions from another export format are the same instances
    r = upload(clients["editor"], "nts_survey.odata.json")
    assert r.status_code == 200 and len(r.json()["duplicates"]) == 3
    r = upload(clients["editor"], "nts_survey.kobo.xlsx")
    assert r.status_code == 200 and len(r.json()["duplicates"]) == 3


def test_only_an_editor_or_above_queues(clients: dict[str, TestClient]) -> None:
    before = clients["viewer"].get("/api/submissions").json()
    r = upload(clients["viewer"], "accident.kobo.json")
    assert r.status_code == 403 and r.headers["content-type"] == PROBLEM
    assert upload(clients["public"], "accident.kobo.json").status_code == 401
    assert clients["viewer"].get("/api/submissions").json() == before
    assert upload(clients["validator"], "accident.kobo.json").status_code == 201


def test_an_unreadable_export_is_a_problem_naming_the_file(clients: dict[str, TestClient]) -> None:
    r = clients["editor"].post(
        "/api/submissions", files={"file": ("export.csv", b"not;an;export\n1;2;3\n")}
    )
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    assert "export.csv" in (r.json()["record"] or "")
    r = upload(clients["editor"], "accident.kobo.json", form="nts_survey")
    assert r.status_code == 422 and r.json()["field"] == "landrelease_form"
    r = upload(clients["editor"], "accident.kobo.json", accuracy_limit="-3")
    assert r.status_code == 422 and r.json()["field"] == "accuracy_limit"


# -- reading ----------------------------------------------------------------------------------


def test_a_viewer_lists_and_reads_the_queue(
    demo_copy: Path, clients: dict[str, TestClient]
) -> None:
    ids = queue(demo_copy, new_area(), new_area("uuid:synthetic-new-2", area_ref="UA-1999-99999"))
    viewer = clients["viewer"]

    def listed(state: str) -> list[dict[str, Any]]:
        subs = viewer.get("/api/submissions", params={"state": state}).json()["submissions"]
        return [s for s in subs if s["id"] in ids]  # the demo has submissions of its own

    pending = listed("pending")
    assert [s["id"] for s in pending] == ids  # the oldest first
    assert [len(s["flags"]) for s in pending] == [0, 1]
    assert all("payload" not in s and s["form_id"] == "nts_survey" for s in pending)
    assert listed("approved") == []
    assert len(listed("all")) == 2
    assert viewer.get("/api/submissions", params={"state": "lost"}).status_code == 422

    doc = viewer.get(f"/api/submissions/{ids[0]}").json()
    assert doc["state"] == "pending" and doc["values"]["landrelease_form"] == "nts_survey"
    [record] = doc["records"]
    assert (record["kind"], record["action"]) == ("hazards", "new")
    assert record["geometry"]["type"] == "Polygon"
    assert [e["action"] for e in doc["history"]] == ["imported"]
    r = viewer.get("/api/submissions/999999")
    assert r.status_code == 404 and r.headers["content-type"] == PROBLEM
    assert clients["public"].get(f"/api/submissions/{ids[0]}").status_code == 401


def test_an_edit_shows_its_field_and_geometry_changes(
    demo_copy: Path, clients: dict[str, TestClient]
) -> None:
    submission_id, ref = queue_area_edit(demo_copy)
    doc = clients["viewer"].get(f"/api/submissions/{submission_id}").json()
    assert doc["flags"] == []
    [record] = doc["records"]
    assert (record["action"], record["ref"]) == ("edit", ref)
    changed = {c["field"]: c for c in record["changes"]}
    assert changed["evidence"]["proposed"] == "SYNTHETIC: warning signs along the field edge"
    assert record["current_geometry"]["type"] == "MultiPolygon"
    change = record["geometry_change"]
    assert change["proposed_m2"] > change["current_m2"] and change["same"] is False


# -- deciding ---------------------------------------------------------------------------------


def test_only_a_validator_approves_and_the_record_is_written(
    demo_copy: Path, clients: dict[str, TestClient]
) -> None:
    [new] = queue(demo_copy, new_area())
    for role, status in (("public", 401), ("viewer", 403), ("editor", 403)):
        r = clients[role].post(f"/api/submissions/{new}/approve")
        assert r.status_code == status, (role, r.text)
    assert clients["viewer"].get(f"/api/submissions/{new}").json()["state"] == "pending"

    r = clients["validator"].post(f"/api/submissions/{new}/approve")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert (doc["state"], doc["decided_by"]) == ("approved", "validator")
    [ref] = doc["refs"]
    with Registry.open(demo_copy) as reg:
        area = reg.stored_record("hazards", ref)
    assert (area["changed_by"], area["name"]) == ("validator", "SYNTHETIC field by the road")
    assert [e["action"] for e in doc["history"]] == ["imported", "approved"]
    # decided once: a second approval is refused, naming who decided
    r = clients["validator"].post(f"/api/submissions/{new}/approve")
    assert r.status_code == 412 and "validator" in r.json()["detail"]


def test_a_flagged_submission_needs_an_override_reason(
    demo_copy: Path, clients: dict[str, TestClient]
) -> None:
    submission_id, ref = queue_area_edit(demo_copy, accuracy_m=60.0)  # a poor GPS fix
    flags = clients["viewer"].get(f"/api/submissions/{submission_id}").json()["flags"]
    assert {f["code"] for f in flags} == {"poor_accuracy"}
    validator = clients["validator"]
    url = f"/api/submissions/{submission_id}/approve"
    for body in (None, {}):
        r = validator.post(url, json=body)
        assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
        problem = r.json()
        assert problem["field"] == flags[0]["field"]
        assert problem["record"] == f"submission {submission_id}"
        assert "override" in problem["detail"]
    r = validator.post(url, json={"override": "  "})
    assert r.status_code == 422 and r.json()["field"] == "override"
    assert validator.post(url, json={"override": "x", "extra": 1}).status_code == 422

    reason = "the corners are marked on the ground; checked with the team"
    r = validator.post(url, json={"override": reason})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert (doc["state"], doc["refs"], doc["override_reason"]) == ("approved", [ref], reason)
    assert [e["action"] for e in doc["history"]] == ["imported", "overridden", "approved"]
    with Registry.open(demo_copy) as reg:
        area = reg.stored_record("hazards", ref)
    assert area["version"] == 2 and area["changed_by"] == "validator"


def test_a_rejection_needs_a_reason(demo_copy: Path, clients: dict[str, TestClient]) -> None:
    [new] = queue(demo_copy, new_area())
    validator = clients["validator"]
    url = f"/api/submissions/{new}/reject"
    assert validator.post(url).status_code == 422
    r = validator.post(url, json={"reason": ""})
    assert r.status_code == 422 and r.json()["field"] == "reason"
    assert clients["editor"].post(url, json={"reason": "no"}).status_code == 403
    r = validator.post(url, json={"reason": "outline walked twice"})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert (doc["state"], doc["decision_reason"]) == ("rejected", "outline walked twice")
    listed = clients["viewer"].get("/api/submissions", params={"state": "rejected"}).json()
    assert new in [s["id"] for s in listed["submissions"]]
    assert validator.post(f"/api/submissions/{new}/approve").status_code == 412


# -- correcting -------------------------------------------------------------------------------


def test_an_editor_corrects_a_flagged_submission(
    demo_copy: Path, clients: dict[str, TestClient]
) -> None:
    [flagged] = queue(demo_copy, new_area(area_ref="UA-1999-99999"))
    before = clients["viewer"].get(f"/api/submissions/{flagged}").json()
    assert [f["code"] for f in before["flags"]] == ["unknown_ref"]
    url = f"/api/submissions/{flagged}"
    body = {"set": {"area_ref": ""}, "reason": "a new area: the ref was a typo"}
    assert clients["viewer"].patch(url, json=body).status_code == 403
    r = clients["editor"].patch(url, json=body)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["flags"] == [] and "area_ref" not in doc["values"]
    assert doc["records"][0]["action"] == "new"
    assert (doc["history"][-1]["action"], doc["history"][-1]["reason"]) == (
        "edited",
        "a new area: the ref was a typo",
    )

    r = clients["editor"].patch(url, json={"set": {"item[9]/item_state": "x"}})
    assert r.status_code == 422 and r.json()["field"] == "item[9]/item_state"
    assert clients["editor"].patch(url, json={"set": {}}).status_code == 422
    assert clients["validator"].post(f"{url}/approve").status_code == 200


# -- the page ---------------------------------------------------------------------------------


def test_the_review_page_is_for_signed_in_users(clients: dict[str, TestClient]) -> None:
    r = clients["public"].get("/review", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/review"
    r = clients["viewer"].get("/review")
    assert r.status_code == 200 and "/static/review.js" in r.text
    assert clients["viewer"].get("/static/review.js").status_code == 200
    assert "/review" not in clients["viewer"].get("/openapi.json").json()["paths"]


def test_the_map_links_a_signed_in_user_to_the_review_page(
    clients: dict[str, TestClient],
) -> None:
    assert 'href="/review"' in clients["viewer"].get("/map").text
    assert 'href="/review"' not in clients["public"].get("/map").text
    assert 'href="/review"' not in clients["public"].get("/public").text
