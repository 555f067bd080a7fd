"""Who may call what: every endpoint of the service's contract, for the public and each role.

The expected table is written out here, from the contract, on purpose: it is not derived
from `domain/roles.py`, so that a change to that table which opens or closes an endpoint
shows up as a failure here. Each row names the least role allowed (roles are ordered
viewer < editor < validator < admin), or "public".

Allowed means the access check let the request through: any answer but 401 and 403 (a
2xx or 303, or a 404, 409, 412 or 422 of the request itself), never a 5xx. Denied means
401 for the public (with WWW-Authenticate) and 403 for a signed-in role. "hidden" is a
collection the public may not see: 404, as if it did not exist. A write that is let
through runs on its own copy of the synthetic demo registry, so that it does not change
what the next case meets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backends import copy_registry
from landrelease.access import Proposal
from landrelease.domain.roles import Role, User
from landrelease.registry import Registry
from landrelease.service.app import create_app
from landrelease.service.settings import Settings

ClientFor = Callable[..., TestClient]  # tests/service/conftest.py's client_for
WHO = ("public", "viewer", "editor", "validator", "admin")
ORDER = {name: i for i, name in enumerate(WHO)}
KINDS = ("hazards", "events", "activities", "items", "accidents", "eore")
EMPTY_GEOJSON = b'{"type": "FeatureCollection", "features": []}'


@dataclass(frozen=True)
class Endpoint:
    """One endpoint of the contract, a request to it, and the least role allowed."""

    method: str
    path: str  # {hazards}, {events}, ... {proposal}, {submission}, {name}: from the registry
    least: str  # public, viewer, editor, validator or admin
    json: Any = None
    if_match: str | None = None  # the kind whose record's current ETag to send
    files: bool = False  # a multipart upload (POST /api/imports)
    hidden_from_public: bool = False
    params: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


def _records_api() -> list[Endpoint]:
    out = []
    for kind in KINDS:
        one = f"/api/{kind}/{{{kind}}}"
        out += [
            Endpoint("GET", f"/api/{kind}", "viewer", params={"limit": "2"}),
            Endpoint("GET", one, "viewer"),
            Endpoint("GET", f"{one}/history", "viewer"),
            Endpoint("POST", f"/api/{kind}", "editor", json={"record": {}, "reason": "roles"}),
            Endpoint(
                "PATCH",
                one,
                "editor",
                json={"changes": {"notes": "checked (synthetic)"}, "reason": "roles"},
                if_match=kind,
            ),
            Endpoint("POST", f"{one}/revert", "editor", json={"version": 1}, if_match=kind),
        ]
    return out


ENDPOINTS: list[Endpoint] = [
    # OGC API Features, the API definition and the sign-in pages: open to the public
    Endpoint("GET", "/", "public"),
    Endpoint("GET", "/conformance", "public"),
    Endpoint("GET", "/api", "public"),
    Endpoint("GET", "/openapi.json", "public"),
    Endpoint("GET", "/api/docs", "public"),
    Endpoint("GET", "/login", "public"),
    Endpoint("POST", "/logout", "public"),
    Endpoint("GET", "/collections", "public"),
    Endpoint("GET", "/collections/hazards", "public"),
    Endpoint("GET", "/collections/hazards/queryables", "public"),
    Endpoint("GET", "/collections/hazards/items", "public", params={"limit": "2"}),
    Endpoint("GET", "/collections/hazards/items/{hazards}", "public"),
    *(
        Endpoint("GET", path, "viewer", hidden_from_public=True)
        for collection in ("activities", "items", "accidents", "eore")
        for path in (
            f"/collections/{collection}",
            f"/collections/{collection}/queryables",
            f"/collections/{collection}/items",
            f"/collections/{collection}/items/{{{collection}}}",
        )
    ),
    # vector tiles: the public gets the generalised hazards only
    Endpoint("GET", "/tiles/hazards/10/610/347.mvt", "public"),
    Endpoint("GET", "/tiles/hazards.json", "public"),
    *(
        Endpoint("GET", path, "viewer")
        for collection in ("activities", "items", "accidents", "eore")
        for path in (f"/tiles/{collection}/10/610/347.mvt", f"/tiles/{collection}.json")
    ),
    # the records API
    *_records_api(),
    Endpoint("GET", "/api/hazards/{hazards}/residual", "viewer", params={"draws": "100"}),
    Endpoint("GET", "/api/hazards/{hazards}/residual/timeline", "viewer", params={"draws": "100"}),
    Endpoint("GET", "/api/residual", "viewer", params={"draws": "100"}),
    Endpoint("GET", "/api/residual/profiles", "viewer"),
    # prioritisation: the saved rankings
    Endpoint("GET", "/api/priority", "viewer", params={"limit": "2"}),
    Endpoint("GET", "/api/priority/{hazards}", "viewer"),
    Endpoint("GET", "/api/summary", "viewer"),
    Endpoint("POST", "/api/imports", "editor", files=True),
    # status changes and proposals
    Endpoint(
        "POST",
        "/api/hazards/{suspected}/status",
        "editor",
        json={"status": "confirmed", "reason": "AP mine seen (synthetic)"},
        if_match="suspected",
    ),
    Endpoint("GET", "/api/proposals", "viewer"),
    Endpoint("GET", "/api/proposals/{proposal}", "viewer"),
    Endpoint("POST", "/api/proposals/{proposal}/approve", "validator", json={"reason": "ok"}),
    Endpoint("POST", "/api/proposals/{proposal}/reject", "validator", json={"reason": "no"}),
    # the review queue of field submissions
    Endpoint("POST", "/api/submissions", "editor", files=True),
    Endpoint("GET", "/api/submissions", "viewer"),
    Endpoint("GET", "/api/submissions/{submission}", "viewer"),
    Endpoint("PATCH", "/api/submissions/{submission}", "editor", json={"set": {"notes": "x"}}),
    Endpoint("POST", "/api/submissions/{submission}/approve", "validator", json={"override": "ok"}),
    Endpoint("POST", "/api/submissions/{submission}/reject", "validator", json={"reason": "no"}),
    # users
    Endpoint("GET", "/api/me", "viewer"),
    Endpoint("GET", "/api/users", "admin"),
    Endpoint("POST", "/api/users", "admin", json={"name": "mykola", "role": "viewer"}),
    Endpoint("DELETE", "/api/users/{name}", "admin"),
]


@pytest.fixture(scope="module")
def prepared(
    demo_db: Path, demo_tokens: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, str]]:
    """A copy of the demo with a pending proposal and a user to revoke; and what fills the
    paths: a ref of each kind, a suspected area, the proposal's id, the user's name."""
    path = copy_registry(demo_db, tmp_path_factory.mktemp("roles") / "synthetic-demo.gpkg")
    with Registry.open(path) as reg:
        if not reg.summary()["eore"]:  # the demo holds no risk-education session
            centre = reg.record_columns("items", columns=["ref"], limit=1)["geometry"][0]
            session = {"organisation": "NGO", "held_on": "2024-03-01", "method": "interpersonal"}
            reg.add_records("eore", [{**session, "geometry": centre}], actor="tests")
        values = {
            kind: str(reg.record_columns(kind, columns=["ref"], geometry=False, limit=1)["ref"][0])
            for kind in KINDS
        }
        suspected = reg.hazard_columns(status="suspected", columns=["ref"], geometry=False)
        values["suspected"] = str(suspected["ref"][0])
        in_progress = reg.hazard_columns(status="in_progress", columns=["ref"], geometry=False)
        area = str(in_progress["ref"][0])
        if not reg.area_facts(area).completed_clearance:
            reg.add_records(
                "activities",
                [{"area_ref": area, "activity_type": "clearance", "status": "completed"}],
                actor="tests",
            )
        proposal = reg.request_status(
            area, "cleared", user=User("editor", Role.EDITOR), reason="clearance completed"
        )
        assert isinstance(proposal, Proposal)
        values["proposal"] = str(proposal.id)
        values["submission"] = str(reg.submissions()[0]["id"])  # the demo queues some
        reg.add_user("olha", "viewer", actor="tests")
        values["name"] = "olha"
    return path, values


def _call(client: TestClient, endpoint: Endpoint, values: dict[str, str], db: Path) -> Any:
    url = endpoint.path.format(**values)
    headers: dict[str, str] = {}
    if endpoint.if_match is not None:
        kind = "hazards" if endpoint.if_match == "suspected" else endpoint.if_match
        with Registry.open(db) as reg:
            version = reg.stored_record(kind, values[endpoint.if_match])["version"]
        headers["If-Match"] = f'"{version}"'
    if endpoint.files:
        return client.post(
            url,
            files={"file": ("synthetic.geojson", EMPTY_GEOJSON, "application/geo+json")},
            data={"kind": "hazards", "reason": "roles (synthetic)"},
        )
    return client.request(
        endpoint.method,
        url,
        params=endpoint.params or None,
        json=endpoint.json,
        headers=headers,
        follow_redirects=False,
    )


@pytest.fixture(scope="module")
def shared_path(
    prepared: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory
) -> Path | str:
    """A copy of the prepared registry that the reads and the refused writes share."""
    return copy_registry(prepared[0], tmp_path_factory.mktemp("shared") / "shared.gpkg")


@pytest.fixture(scope="module")
def shared(shared_path: Path | str, demo_tokens: dict[str, str]) -> Iterator[dict[str, TestClient]]:
    """A client of each role and of the public, on one registry that the reads and the
    refused writes share (a refused write changes nothing)."""
    with Registry.open(shared_path) as reg:
        app = create_app(Settings(db=str(shared_path), log_requests=False), registry=reg)
        clients = {}
        for who in WHO:
            client = TestClient(app, raise_server_exceptions=False)
            if who != "public":
                client.headers["Authorization"] = f"Bearer {demo_tokens[who]}"
            clients[who] = client
        yield clients


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.id)
def test_each_role_meets_the_contract(
    endpoint: Endpoint,
    who: str,
    prepared: tuple[Path, dict[str, str]],
    shared: dict[str, TestClient],
    shared_path: Path | str,
    demo_tokens: dict[str, str],
    client_for: ClientFor,
    tmp_path: Path,
) -> None:
    source, values = prepared
    allowed = ORDER[who] >= ORDER[endpoint.least]
    if allowed and endpoint.method != "GET":  # a write that lands: on a copy of its own
        db = copy_registry(source, tmp_path / "synthetic-demo.gpkg")
        client = client_for(db, None if who == "public" else demo_tokens[who])
    else:
        db = shared_path
        client = shared[who]
    r = _call(client, endpoint, values, db)
    got = f"{endpoint.id} as {who}: {r.status_code} {r.text[:300]}"
    assert r.status_code < 500, got
    if who == "public" and endpoint.hidden_from_public:
        assert r.status_code == 404, got
    elif allowed:
        assert r.status_code not in (401, 403), got
    elif who == "public":
        assert r.status_code == 401, got
        assert r.headers["www-authenticate"].startswith("Bearer"), got
    else:
        assert r.status_code == 403, got


def test_the_table_covers_every_documented_operation(
    prepared: tuple[Path, dict[str, str]], client_for: ClientFor
) -> None:
    """An operation added to the app without a row here fails this test."""
    doc = client_for(prepared[0]).get("/openapi.json").json()
    documented = {(m.upper(), path) for path, ops in doc["paths"].items() for m in ops}
    covered = {(e.method, _template(e.path)) for e in ENDPOINTS}
    # POST /login answers the form of GET /login only (its double-submit token): test_auth.py
    assert documented - covered == {("POST", "/login")}


def _template(path: str) -> str:
    """Return the route template of a table path ({hazards} -> {ref}, ...)."""
    parts = path.split("/")
    if parts[1] == "collections" and len(parts) > 2:
        parts[2] = "{collectionId}"
        if len(parts) > 4:
            parts[4] = "{featureId}"
    elif parts[1] == "tiles":
        if len(parts) == 3:
            parts[2] = "{collection}.json"
        else:
            parts[2:] = ["{collection}", "{z}", "{x}", "{y}.mvt"]
    elif parts[1] == "api" and len(parts) > 3 and parts[2] == "priority":
        parts[3] = "{ref}"
    elif parts[1] == "api" and len(parts) > 3 and parts[2] == "submissions":
        parts[3] = "{submission_id}"
    elif parts[1] == "api" and len(parts) > 3 and parts[2] in (*KINDS, "proposals"):
        parts[3] = "{proposal_id}" if parts[2] == "proposals" else "{ref}"
    return "/".join(parts)
