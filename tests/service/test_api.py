"""The records API under /api/: reading, writing with If-Match, history, revert, residual.

Every test runs the real app over a synthetic demo registry (`demo_db`, read only, or its own
`demo_copy` when it writes) with the bearer tokens of real users (`demo_tokens`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient
from shapely import affinity
from shapely.geometry import shape

from backends import copy_registry
from fixtures import hazard, polygon, snapshot
from landrelease.domain.errors import ConflictError, ValidationError
from landrelease.domain.records import KINDS
from landrelease.records_json import geojson
from landrelease.registry import Registry

PROBLEM = "application/problem+json"
ClientFor = Callable[..., TestClient]


@pytest.fixture
def reader(client_for: ClientFor, demo_db: Path, demo_tokens: dict[str, str]) -> TestClient:
    """A viewer's client on the shared demo registry (never written)."""
    return client_for(demo_db, demo_tokens["viewer"])


@pytest.fixture
def editor(client_for: ClientFor, demo_copy: Path, demo_tokens: dict[str, str]) -> TestClient:
    """An editor's client on this test's own copy of the demo registry."""
    return client_for(demo_copy, demo_tokens["editor"])


def _new_hazard(i: int = 7, **fields: Any) -> dict[str, Any]:
    """Return the JSON of a new synthetic hazard area (GeoJSON geometry)."""
    rec = hazard(i, name=f"synthetic API area {i}", **fields)
    rec["geometry"] = geojson(rec["geometry"])
    rec["contamination"] = [rec["contamination"]]
    return rec


def _problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    return body


def _first_ref(client: TestClient, kind: str = "hazards", **query: Any) -> str:
    r = client.get(f"/api/{kind}", params={"limit": 1, "geometry": "false", **query})
    assert r.status_code == 200, r.text
    return str(r.json()["items"][0]["ref"])


# -- who may ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/hazards"),
        ("GET", "/api/events/UA-EV-2023-00001"),
        ("GET", "/api/summary"),
        ("GET", "/api/hazards/UA-2023-00001/history"),
        ("GET", "/api/hazards/UA-2023-00001/residual"),
        ("POST", "/api/hazards"),
        ("PATCH", "/api/hazards/UA-2023-00001"),
        ("POST", "/api/hazards/UA-2023-00001/revert"),
        ("POST", "/api/imports"),
    ],
)
def test_the_public_gets_401_from_every_records_endpoint(
    client_for: ClientFor, demo_db: Path, method: str, path: str
) -> None:
    r = client_for(demo_db).request(method, path, json={})
    _problem(r, 401)
    assert r.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/hazards", {"record": {}}),
        ("PATCH", "/api/hazards/{ref}", {"changes": {"name": "x"}}),
        ("POST", "/api/hazards/{ref}/revert", {"version": 1}),
    ],
)
def test_a_viewer_may_read_but_not_write(
    reader: TestClient, demo_db: Path, method: str, path: str, body: dict[str, Any]
) -> None:
    ref = _first_ref(reader)
    tag = reader.get(f"/api/hazards/{ref}").headers["etag"]  # a viewer reads
    before = snapshot(demo_db)
    r = reader.request(method, path.format(ref=ref), json=body, headers={"If-Match": tag})
    assert "viewer" in _problem(r, 403)["detail"]
    assert snapshot(demo_db) == before


# -- reading ---------------------------------------------------------------------------------


def test_a_listing_pages_through_the_records_with_links(reader: TestClient) -> None:
    total = reader.get("/api/summary").json()["hazards"]
    first = reader.get("/api/hazards", params={"limit": 5, "order_by": "ref"}).json()
    assert first["numberMatched"] == total
    assert first["numberReturned"] == len(first["items"]) == 5
    assert (first["limit"], first["offset"]) == (5, 0)
    rels = {link["rel"]: link["href"] for link in first["links"]}
    assert set(rels) == {"self", "next"}
    second = reader.get(rels["next"]).json()
    assert second["offset"] == 5
    assert {link["rel"] for link in second["links"]} == {"self", "next", "prev"}
    refs = [r["ref"] for r in first["items"] + second["items"]]
    assert refs == sorted(refs) and len(set(refs)) == 10
    last = reader.get("/api/hazards", params={"offset": total - 2, "limit": 5}).json()
    assert last["numberReturned"] == 2
    assert {link["rel"] for link in last["links"]} == {"self", "prev"}


def test_a_listed_record_is_what_get_gives_and_its_etag_is_its_version(
    reader: TestClient,
) -> None:
    for kind in KINDS:
        page = reader.get(f"/api/{kind}", params={"limit": 3})
        assert page.status_code == 200, page.text
        for item in page.json()["items"]:
            one = reader.get(f"/api/{kind}/{item['ref']}")
            assert one.status_code == 200
            assert one.json() == item
            assert one.headers["etag"] == f'"{item["version"]}"'
            assert {"changed_at", "changed_by", "needs_check"} <= set(item)


def test_a_listing_filters_by_status_area_and_bbox_and_can_leave_geometry_out(
    reader: TestClient, demo_db: Path
) -> None:
    with Registry.open(demo_db) as reg:
        by_status = reg.summary()["hazards_by_status"]
    cleared = reader.get("/api/hazards", params={"status": "cleared", "limit": 1000}).json()
    assert cleared["numberMatched"] == by_status["cleared"]
    assert {r["status"] for r in cleared["items"]} == {"cleared"}

    event = reader.get("/api/events", params={"limit": 1}).json()["items"][0]
    of_area = reader.get("/api/events", params={"area_ref": event["area_ref"]}).json()
    assert of_area["numberMatched"] >= 1
    assert {e["area_ref"] for e in of_area["items"]} == {event["area_ref"]}

    one = reader.get("/api/hazards", params={"limit": 1}).json()["items"][0]
    minx, miny, maxx, maxy = shape(one["geometry"]).bounds
    boxed = reader.get("/api/hazards", params={"bbox": f"{minx},{miny},{maxx},{maxy}"}).json()
    assert one["ref"] in {r["ref"] for r in boxed["items"]}
    assert boxed["numberMatched"] < reader.get("/api/hazards").json()["numberMatched"]

    bare = reader.get("/api/items", params={"geometry": "false", "limit": 2}).json()
    assert all("geometry" not in r for r in bare["items"])


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"order_by": "no_such_column"}, None),
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "36,50,35,49"}, "bbox"),
        ({"limit": 0}, "limit"),
        ({"status": "lost"}, "status"),
    ],
)
def test_a_bad_listing_query_is_a_422_naming_it(
    reader: TestClient, query: dict[str, Any], field: str | None
) -> None:
    body = _problem(reader.get("/api/hazards", params=query), 422)
    name = field or next(iter(query))
    assert name in (body.get("field") or "") or name in body["detail"]


def test_unknown_kinds_and_refs_are_404(reader: TestClient) -> None:
    _problem(reader.get("/api/mines"), 404)
    body = _problem(reader.get("/api/hazards/UA-1999-99999"), 404)
    assert "UA-1999-99999" in body["detail"]
    event = _first_ref(reader, "events")
    _problem(reader.get(f"/api/hazards/{event}"), 404)  # a ref of another kind
    _problem(reader.get(f"/api/hazards/{event}/history"), 404)


def test_history_lists_every_version(reader: TestClient, demo_db: Path) -> None:
    ref = _first_ref(reader, order_by="-version")
    r = reader.get(f"/api/hazards/{ref}/history")
    assert r.status_code == 200
    with Registry.open(demo_db) as reg:
        expected = reg.history(ref)
    assert r.json() == {"ref": ref, "versions": json.loads(json.dumps(expected, default=str))}


def test_the_summary_is_the_registrys(reader: TestClient, demo_db: Path) -> None:
    with Registry.open(demo_db) as reg:
        assert reader.get("/api/summary").json() == reg.summary()


# -- creating --------------------------------------------------------------------------------


def test_a_created_record_is_what_get_gives_and_the_editor_is_its_actor(
    editor: TestClient,
) -> None:
    r = editor.post("/api/hazards", json={"record": _new_hazard(), "reason": "field report"})
    assert r.status_code == 201, r.text
    created = r.json()
    ref = created["ref"]
    assert r.headers["location"] == f"/api/hazards/{ref}"
    assert r.headers["etag"] == '"1"' == f'"{created["version"]}"'
    got = editor.get(r.headers["location"])
    assert got.json() == created and got.headers["etag"] == r.headers["etag"]
    assert created["name"] == "synthetic API area 7"
    assert created["contamination"] == ["ap_mine"] and created["area_m2"] > 0
    assert created["changed_by"] == "editor"
    (v1,) = editor.get(f"/api/hazards/{ref}/history").json()["versions"]
    assert (v1["actor"], v1["action"], v1["reason"]) == ("editor", "create", "field report")


def test_a_point_record_is_created_from_geojson(editor: TestClient) -> None:
    area = _first_ref(editor)
    item = {
        "area_ref": area,
        "category": "uxo",
        "state": "destroyed",
        "found_on": "2024-04-01",
        "geometry": {"type": "Point", "coordinates": [30.51, 50.46]},
    }
    r = editor.post("/api/items", json={"record": item})
    assert r.status_code == 201, r.text
    assert r.json()["geometry"] == item["geometry"]
    assert r.json()["found_on"] == "2024-04-01"


def _refused(
    editor: TestClient, path: Path, record: dict[str, Any], kind: str = "hazards"
) -> dict[str, Any]:
    before = snapshot(path)
    body = _problem(editor.post(f"/api/{kind}", json={"record": record}), 422)
    assert snapshot(path) == before
    return body


def test_an_unknown_field_is_a_422_naming_it(editor: TestClient, demo_copy: Path) -> None:
    body = _refused(editor, demo_copy, {**_new_hazard(), "depth_cm": 5})
    assert body["field"] == "record.depth_cm"
    body = _refused(editor, demo_copy, {"area_ref": "x", "geometry": None}, kind="events")
    assert body["field"] == "record.geometry"  # events have no geometry


@pytest.mark.parametrize(
    "geometry",
    [
        {"type": "Polygon", "coordinates": [[[30.5, 50.4], [30.6, 50.4]]]},
        {"type": "Polygon", "coordinates": "here"},
        {"type": "Feature", "geometry": None},
        "POLYGON ((30 50, 31 50, 31 51, 30 50))",
    ],
)
def test_a_bad_geojson_geometry_is_a_422_naming_geometry(
    editor: TestClient, demo_copy: Path, geometry: Any
) -> None:
    body = _refused(editor, demo_copy, {**_new_hazard(), "geometry": geometry})
    assert body["field"] in ("geometry", "record.geometry")


@pytest.mark.parametrize("where", ["swapped", "abroad", "missing"])
def test_a_geometry_the_registry_refuses_is_its_own_422(
    editor: TestClient, demo_copy: Path, demo_db: Path, tmp_path: Path, where: str
) -> None:
    area = polygon(3)
    if where == "swapped":
        area = shapely.Polygon([(y, x) for x, y in area.exterior.coords])
    elif where == "abroad":
        area = affinity.translate(area, xoff=-20)
    record = _new_hazard(3)
    record["geometry"] = None if where == "missing" else geojson(area)
    body = _refused(editor, demo_copy, record)

    # the same record, given to the registry itself (as it was: the refusal changed nothing)
    other = copy_registry(demo_db, tmp_path / "other.gpkg")
    with Registry.open(other) as reg, pytest.raises(ValidationError) as exc:
        reg.add_record(
            "hazards", hazard(3, geometry=None if where == "missing" else area), actor="editor"
        )
    assert body["detail"] == " ".join(str(exc.value).split())
    assert body["field"] == "geometry" == exc.value.field


# -- changing with If-Match ------------------------------------------------------------------


def test_a_change_needs_the_version_it_read(editor: TestClient, demo_copy: Path) -> None:
    ref = _first_ref(editor)
    url = f"/api/hazards/{ref}"
    tag = editor.get(url).headers["etag"]
    change = {"changes": {"notes": "synthetic: fenced"}, "reason": "site visit"}
    before = snapshot(demo_copy)

    body = _problem(editor.patch(url, json=change), 428)
    assert body["record"] == ref
    _problem(editor.patch(url, json=change, headers={"If-Match": "version 3"}), 400)
    _problem(editor.patch(url, json=change, headers={"If-Match": "*"}), 400)
    stale = f'"{int(tag.strip(chr(34))) - 1}"'
    body = _problem(editor.patch(url, json=change, headers={"If-Match": stale}), 412)
    assert body["record"] == ref
    _problem(editor.patch(url, json=change, headers={"If-Match": f"W/{tag}"}), 412)
    assert snapshot(demo_copy) == before

    r = editor.patch(url, json=change, headers={"If-Match": tag})
    assert r.status_code == 200, r.text
    assert r.json()["notes"] == "synthetic: fenced"
    assert (
        r.headers["etag"] == f'"{int(tag.strip(chr(34))) + 1}"' == editor.get(url).headers["etag"]
    )
    last = editor.get(f"{url}/history").json()["versions"][-1]
    assert (last["actor"], last["action"], last["reason"]) == ("editor", "update", "site visit")
    assert last["changes"]["notes"][1] == "synthetic: fenced"

    # the tag read before this change is now stale: nothing is overwritten
    after = snapshot(demo_copy)
    _problem(editor.patch(url, json={"changes": {"notes": "lost"}}, headers={"If-Match": tag}), 412)
    assert snapshot(demo_copy) == after
    # If-Match may list several tags: one of them is the current one
    r = editor.patch(
        url, json={"changes": {"notes": "x"}}, headers={"If-Match": f'"1", {r.headers["etag"]}'}
    )
    assert r.status_code == 200, r.text


def test_a_geometry_change_is_checked_and_remeasured(editor: TestClient) -> None:
    ref = _first_ref(editor)
    url = f"/api/hazards/{ref}"
    r = editor.get(url)
    bigger = shape(r.json()["geometry"]).buffer(0.001)
    r2 = editor.patch(
        url,
        json={"changes": {"geometry": geojson(bigger)}},
        headers={"If-Match": r.headers["etag"]},
    )
    assert r2.status_code == 200, r2.text
    assert r2.json()["area_m2"] > r.json()["area_m2"]
    swapped = shapely.Polygon([(y, x) for x, y in bigger.exterior.coords])
    body = _problem(
        editor.patch(
            url,
            json={"changes": {"geometry": geojson(swapped)}},
            headers={"If-Match": r2.headers["etag"]},
        ),
        422,
    )
    assert body["field"] == "geometry" and "swapped" in body["detail"]


def test_a_hazard_status_is_not_changed_here(editor: TestClient, demo_copy: Path) -> None:
    ref = _first_ref(editor)
    tag = editor.get(f"/api/hazards/{ref}").headers["etag"]
    before = snapshot(demo_copy)
    body = _problem(
        editor.patch(
            f"/api/hazards/{ref}",
            json={"changes": {"status": "released"}},
            headers={"If-Match": tag},
        ),
        422,
    )
    assert body["field"] == "changes.status"
    assert "/api/hazards/{ref}/status" in body["detail"]
    body = _problem(
        editor.patch(f"/api/hazards/{ref}", json={"changes": {}}, headers={"If-Match": tag}), 422
    )
    assert body["field"] == "changes"
    assert snapshot(demo_copy) == before


def test_revert_restores_an_earlier_version_as_a_new_one(
    editor: TestClient, demo_copy: Path
) -> None:
    ref = _first_ref(editor, "events")
    url = f"/api/events/{ref}"
    original = editor.get(url)
    changed = editor.patch(
        url,
        json={"changes": {"quantity_high": 999, "notes": "synthetic"}},
        headers={"If-Match": original.headers["etag"]},
    )
    assert changed.status_code == 200, changed.text
    version = original.json()["version"]
    before = snapshot(demo_copy)
    _problem(editor.post(f"{url}/revert", json={"version": version}), 428)
    _problem(
        editor.post(
            f"{url}/revert",
            json={"version": version},
            headers={"If-Match": original.headers["etag"]},
        ),
        412,
    )
    assert snapshot(demo_copy) == before

    r = editor.post(
        f"{url}/revert",
        json={"version": version, "reason": "typo"},
        headers={"If-Match": changed.headers["etag"]},
    )
    assert r.status_code == 200, r.text
    stamp = ("version", "changed_at", "changed_by")
    assert {k: v for k, v in r.json().items() if k not in stamp} == {
        k: v for k, v in original.json().items() if k not in stamp
    }
    assert r.json()["version"] == version + 2
    last = editor.get(f"{url}/history").json()["versions"][-1]
    assert (last["actor"], last["action"]) == ("editor", "revert")
    assert "typo" in last["reason"]


def test_the_registry_refuses_a_stale_expected_version(demo_copy: Path) -> None:
    """The check and the write are one: a change made after the If-Match check conflicts."""
    with Registry.open(demo_copy) as reg:
        ref = str(reg.record_columns("events", columns=["ref"], limit=1)["ref"][0])
        version = reg.record("events", ref).version
        reg.update_record(
            "events", ref, {"notes": "synthetic a"}, actor="a", expected_version=version
        )
        before = snapshot(demo_copy)
        with pytest.raises(ConflictError):
            reg.update_record(
                "events", ref, {"notes": "synthetic b"}, actor="b", expected_version=version
            )
        with pytest.raises(ConflictError):
            reg.revert(ref, version, actor="b", expected_version=version)
        assert snapshot(demo_copy) == before


# -- residual --------------------------------------------------------------------------------


def test_the_residual_estimate_gives_the_numbers_of_the_cli(
    reader: TestClient, demo_db: Path, run_cli: Any
) -> None:
    area = reader.get("/api/events", params={"limit": 1}).json()["items"][0]["area_ref"]
    query = {"at": "2025-06-01", "seed": 7, "draws": 2000, "cleared_share": 0.25}
    r = reader.get(f"/api/hazards/{area}/residual", params=query)
    assert r.status_code == 200, r.text
    code, out, err = run_cli(
        [
            "residual",
            "area",
            area,
            "--db",
            demo_db,
            "--at",
            "2025-06-01",
            "--seed",
            "7",
            "--draws",
            "2000",
            "--cleared-share",
            "0.25",
            "--json",
        ]
    )
    assert code == 0, err
    assert r.json() == json.loads(out)
    assert r.json()["area_ref"] == area and r.json()["events"]


def test_a_residual_estimate_needs_events_and_sound_parameters(editor: TestClient) -> None:
    bare = editor.post("/api/hazards", json={"record": _new_hazard(5)}).json()["ref"]
    body = _problem(editor.get(f"/api/hazards/{bare}/residual"), 422)
    assert (body["record"], body["field"]) == (bare, "events")
    area = editor.get("/api/events", params={"limit": 1}).json()["items"][0]["area_ref"]
    _problem(editor.get(f"/api/hazards/{area}/residual", params={"threshold": 1.5}), 422)
    _problem(editor.get(f"/api/hazards/{area}/residual", params={"draws": 10}), 422)
    _problem(editor.get(f"/api/hazards/{area}/residual", params={"seed": -1}), 422)
    _problem(editor.get(f"/api/hazards/{area}/residual", params={"at": "1990-01-01"}), 422)
    _problem(editor.get("/api/hazards/UA-1999-99999/residual"), 404)
