"""Status changes and proposals over HTTP: who changes, who proposes, who decides, and what
the audit trail keeps. The registry is a copy of the synthetic demo (conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from landrelease.registry import Registry

ClientFor = Callable[..., TestClient]  # tests/service/conftest.py's client_for
PROBLEM = "application/problem+json"


def area_in(path: Path, status: str, *, skip: int = 0) -> dict[str, Any]:
    """Return (ref, version) of an area of the demo copy with `status`."""
    with Registry.open(path) as reg:
        cols = reg.hazard_columns(status=status, columns=["ref", "version"], geometry=False)
    return {"ref": cols["ref"][skip], "version": cols["version"][skip]}


def clearance_done(path: Path, ref: str) -> None:
    """Record a completed clearance of `ref` (synthetic): what clearing it needs."""
    with Registry.open(path) as reg:
        if not reg.area_facts(ref).completed_clearance:
            reg.add_records(
                "activities",
                [{"area_ref": ref, "activity_type": "clearance", "status": "completed"}],
                actor="tests",
            )


def status_of(path: Path, ref: str) -> tuple[str, int]:
    with Registry.open(path) as reg:
        area = reg.hazard(ref)
    return area.status, area.version


def ask(client: TestClient, ref: str, status: str, version: int | None, **body: Any) -> Any:
    headers = {} if version is None else {"If-Match": f'"{version}"'}
    return client.post(
        f"/api/hazards/{ref}/status", json={"status": status, **body}, headers=headers
    )


@pytest.fixture
def clients(
    demo_copy: Path, demo_tokens: dict[str, str], client_for: ClientFor
) -> dict[str, TestClient]:
    """A client of each role, and of the public, on this test's copy of the demo."""
    out = {role: client_for(demo_copy, token) for role, token in demo_tokens.items()}
    out["public"] = client_for(demo_copy)
    return out


def test_an_editor_proposes_and_a_validator_approves(
    demo_copy: Path, clients: dict[str, TestClient]
) -> None:
    area = area_in(demo_copy, "in_progress")
    ref = area["ref"]
    clearance_done(demo_copy, ref)
    r = ask(clients["editor"], ref, "cleared", area["version"], reason="clearance completed")
    assert r.status_code == 202, r.text
    proposal = r.json()["proposal"]
    assert r.headers["location"] == f"/api/proposals/{proposal['id']}"
    assert (proposal["state"], proposal["proposed_by"]) == ("pending", "editor")
    assert (proposal["from_status"], proposal["to_status"]) == ("in_progress", "cleared")
    assert status_of(demo_copy, ref)[0] == "in_progress"  # nothing changed yet

    pending = clients["viewer"].get("/api/proposals").json()["proposals"]
    assert [p["id"] for p in pending] == [proposal["id"]]
    assert clients["viewer"].get(r.headers["location"]).json() == proposal

    r = clients["validator"].post(
        f"/api/proposals/{proposal['id']}/approve", json={"reason": "report checked"}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["proposal"]["state"] == "approved"
    assert body["proposal"]["decided_by"] == "validator"
    assert body["record"]["status"] == "cleared"
    assert r.headers["etag"] == f'"{body["record"]["version"]}"'
    with Registry.open(demo_copy) as reg:
        last = reg.history(ref)[-1]
    assert last["actor"] == "validator"
    assert "proposed by editor" in last["reason"] and "approved by validator" in last["reason"]
    assert clients["viewer"].get("/api/proposals").json()["proposals"] == []
    approved = clients["viewer"].get("/api/proposals", params={"state": "approved"}).json()
    assert [p["id"] for p in approved["proposals"]] == [proposal["id"]]


def test_a_validator_decides_at_once(demo_copy: Path, clients: dict[str, TestClient]) -> None:
    area = area_in(demo_copy, "in_progress")
    clearance_done(demo_copy, area["ref"])
    version = status_of(demo_copy, area["ref"])[1]
    r = ask(clients["validator"], area["ref"], "cleared", version)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cleared" and r.json()["changed_by"] == "validator"
    assert r.headers["etag"] == f'"{version + 1}"'
    assert clients["viewer"].get("/api/proposals", params={"state": "all"}).json() == {
        "proposals": []
    }


def test_an_editor_changes_a_status_that_is_no_decision(
    demo_copy: Path, clients: dict[str, TestClient]
) -> None:
    area = area_in(demo_copy, "suspected")
    r = ask(clients["editor"], area["ref"], "confirmed", area["version"], reason="AP mine seen")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "confirmed" and r.json()["changed_by"] == "editor"


@pytest.mark.parametrize("role", ["editor", "validator"])
def test_an_illegal_change_is_409_with_what_it_needs(
    demo_copy: Path, clients: dict[str, TestClient], role: str
) -> None:
    area = area_in(demo_copy, "confirmed")
    r = ask(clients[role], area["ref"], "released", area["version"])
    assert r.status_code == 409 and r.headers["content-type"] == PROBLEM
    problem = r.json()
    assert problem["needs"] and problem["from_status"] == "confirmed"
    assert problem["to_status"] == "released"
    assert status_of(demo_copy, area["ref"]) == ("confirmed", area["version"])
    assert clients["viewer"].get("/api/proposals").json()["proposals"] == []


@pytest.mark.parametrize("role", ["editor", "validator"])
def test_if_match_is_required_and_a_stale_one_changes_nothing(
    demo_copy: Path, clients: dict[str, TestClient], role: str
) -> None:
    area = area_in(demo_copy, "in_progress")
    clearance_done(demo_copy, area["ref"])
    r = ask(clients[role], area["ref"], "cleared", None)
    assert r.status_code == 428 and r.headers["content-type"] == PROBLEM
    r = clients[role].post(
        f"/api/hazards/{area['ref']}/status", json={"status": "cleared"}, headers={"If-Match": "*"}
    )
    assert r.status_code == 400  # names no version
    r = ask(clients[role], area["ref"], "cleared", area["version"] + 5)
    assert r.status_code == 412 and r.headers["content-type"] == PROBLEM
    assert status_of(demo_copy, area["ref"]) == ("in_progress", area["version"])
    assert clients["viewer"].get("/api/proposals", params={"state": "all"}).json() == {
        "proposals": []
    }


def test_the_public_and_viewers_cannot_ask(demo_copy: Path, clients: dict[str, TestClient]) -> None:
    area = area_in(demo_copy, "suspected")
    assert ask(clients["public"], area["ref"], "confirmed", area["version"]).status_code == 401
    assert ask(clients["viewer"], area["ref"], "confirmed", area["version"]).status_code == 403
    assert status_of(demo_copy, area["ref"]) == ("suspected", area["version"])


def test_unknown_area_status_and_proposal(demo_copy: Path, clients: dict[str, TestClient]) -> None:
    assert ask(clients["validator"], "UA-1999-99999", "cleared", 1).status_code == 404
    area = area_in(demo_copy, "suspected")
    r = ask(clients["validator"], area["ref"], "exploded", area["version"])
    assert r.status_code == 422 and r.json()["field"] == "status"
    assert clients["viewer"].get("/api/proposals/999").status_code == 404
    assert clients["validator"].post("/api/proposals/999/approve", json={}).status_code == 404
    assert clients["viewer"].get("/api/proposals", params={"state": "maybe"}).status_code == 422
    assert clients["viewer"].get("/api/proposals/0").status_code == 422
    assert clients["viewer"].get(f"/api/proposals/{2**70}").status_code == 422


def test_a_rejection_needs_a_reason_and_leaves_the_area(
    demo_copy: Path, clients: dict[str, TestClient]
) -> None:
    area = area_in(demo_copy, "in_progress")
    clearance_done(demo_copy, area["ref"])
    version = status_of(demo_copy, area["ref"])[1]
    pid = ask(clients["editor"], area["ref"], "cleared", version).json()["proposal"]["id"]
    assert clients["editor"].post(f"/api/proposals/{pid}/approve").status_code == 403
    assert (
        clients["editor"].post(f"/api/proposals/{pid}/reject", json={"reason": "x"}).status_code
        == 403
    )
    r = clients["validator"].post(f"/api/proposals/{pid}/reject", json={})
    assert r.status_code == 422 and r.json()["field"] == "reason"
    r = clients["validator"].post(
        f"/api/proposals/{pid}/reject", json={"reason": "the report lacks the QA visit"}
    )
    assert r.status_code == 200
    assert r.json()["proposal"]["state"] == "rejected"
    assert r.json()["proposal"]["decision_reason"] == "the report lacks the QA visit"
    assert status_of(demo_copy, area["ref"]) == ("in_progress", version)
    # decided: it cannot be approved afterwards
    r = clients["validator"].post(f"/api/proposals/{pid}/approve")
    assert r.status_code == 412 and "rejected already" in r.json()["detail"]
    assert status_of(demo_copy, area["ref"]) == ("in_progress", version)


def test_a_proposal_is_not_approved_once_its_area_changed(
    demo_copy: Path, clients: dict[str, TestClient]
) -> None:
    area = area_in(demo_copy, "in_progress")
    clearance_done(demo_copy, area["ref"])
    version = status_of(demo_copy, area["ref"])[1]
    pid = ask(clients["editor"], area["ref"], "cleared", version).json()["proposal"]["id"]
    with Registry.open(demo_copy) as reg:
        reg.update_record("hazards", area["ref"], {"notes": "fence moved"}, actor="tests")
    r = clients["validator"].post(f"/api/proposals/{pid}/approve")
    assert r.status_code == 412 and "propose again" in r.json()["detail"]
    assert status_of(demo_copy, area["ref"]) == ("in_progress", version + 1)


def test_a_browser_session_proposes_with_its_csrf_token(
    demo_copy: Path, demo_tokens: dict[str, str], client_for: ClientFor
) -> None:
    import re

    area = area_in(demo_copy, "in_progress")
    clearance_done(demo_copy, area["ref"])
    version = status_of(demo_copy, area["ref"])[1]
    browser = client_for(demo_copy)
    page = browser.get("/login")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match is not None
    form = {"name": "editor", "token": demo_tokens["editor"], "csrf_token": match.group(1)}
    assert browser.post("/login", data=form, follow_redirects=False).status_code == 303
    csrf = browser.get("/api/me").json()["csrf_token"]
    assert ask(browser, area["ref"], "cleared", version).status_code == 403
    r = browser.post(
        f"/api/hazards/{area['ref']}/status",
        json={"status": "cleared"},
        headers={"If-Match": f'"{version}"', "X-CSRF-Token": csrf},
    )
    assert r.status_code == 202 and r.json()["proposal"]["proposed_by"] == "editor"
