"""OGC API Features over the synthetic demo registry: documents, paging, filters, HTML, access.

The demo registry (synthetic) is read through the real app; tests that write use their own
copy (`demo_copy`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import shapely
from fastapi.testclient import TestClient

from fixtures import edit_outside
from landrelease.registry import Registry
from landrelease.service.features_meta import CONFORMANCE

GEOJSON = "application/geo+json"
PUBLIC_PROPERTIES = {"ref", "status", "hazard_type", "contamination", "warning"}
CQL2 = "http://www.opengis.net/spec/cql2/1.0/conf/"
ClientFor = Callable[..., TestClient]


@pytest.fixture
def viewer(demo_db: Path, demo_tokens: dict[str, str], client_for: ClientFor) -> TestClient:
    """A client of the demo registry signed in as a viewer."""
    return client_for(demo_db, demo_tokens["viewer"])


@pytest.fixture
def public(demo_db: Path, demo_tokens: dict[str, str], client_for: ClientFor) -> TestClient:
    """A client of the demo registry without credentials."""
    return client_for(demo_db)


@pytest.fixture(scope="module")
def hazards(demo_db: Path) -> dict[str, dict[str, Any]]:
    """Every hazard area of the demo registry as the registry reads it, by ref."""
    with Registry.open(demo_db) as reg:
        cols = reg.hazard_columns(columns=["ref", "status", "area_m2", "reported_on"])
    return {
        ref: {"status": s, "area_m2": a, "reported_on": d, "geometry": g}
        for ref, s, a, d, g in zip(
            cols["ref"],
            cols["status"],
            cols["area_m2"],
            cols["reported_on"],
            cols["geometry"],
            strict=True,
        )
    }


def ids(client: TestClient, path: str, **params: Any) -> set[str]:
    """Return the ids of every feature of an items request, following its next links."""
    r = client.get(path, params=params)
    assert r.status_code == 200, r.text
    out: list[str] = []
    while True:
        doc = r.json()
        out += [f["id"] for f in doc["features"]]
        nxt = [link["href"] for link in doc["links"] if link["rel"] == "next"]
        if not nxt:
            break
        r = client.get(nxt[0])
        assert r.status_code == 200, r.text
    assert len(out) == len(set(out)) == doc["numberMatched"]
    return set(out)


def bad_request(r: Any, parameter: str) -> None:
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["parameter"] == parameter


# -- the service ----------------------------------------------------------------------------


def test_landing_page_links(public: TestClient) -> None:
    r = public.get("/")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    links = {link["rel"]: link for link in r.json()["links"]}
    assert links["service-desc"]["href"].endswith("/api")
    assert links["service-desc"]["type"] == "application/vnd.oai.openapi+json;version=3.0"
    assert links["service-doc"]["href"].endswith("/api/docs")
    assert links["conformance"]["href"].endswith("/conformance")
    assert links["data"]["href"].endswith("/collections")
    assert links["self"]["href"].endswith("/")


def test_conformance(public: TestClient) -> None:
    classes = set(public.get("/conformance").json()["conformsTo"])
    assert classes == set(CONFORMANCE)
    core = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
    part3 = "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/"
    for name in ("core", "geojson", "html", "oas30"):
        assert core + name in classes
    for name in ("filter", "features-filter", "queryables"):
        assert part3 + name in classes
    for name in ("cql2-text", "cql2-json", "basic-cql2", "basic-spatial-functions"):
        assert CQL2 + name in classes


def _walk(node: Any) -> Any:
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


def test_api_is_openapi_30(public: TestClient) -> None:
    r = public.get("/api")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.oai.openapi+json;version=3.0"
    doc = r.json()
    assert doc["openapi"] == "3.0.3"
    for node in _walk(doc["components"]["schemas"]):
        assert node.get("type") != "null" and not isinstance(node.get("type"), list)
        assert "const" not in node and "$defs" not in node
        assert "examples" not in node and "contentMediaType" not in node
        if "$ref" in node:
            assert set(node) == {"$ref"}
    items = doc["paths"]["/collections/{collectionId}/items"]["get"]
    limit = next(p for p in items["parameters"] if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 10_000 and limit["schema"]["default"] == 10
    hazards = doc["paths"]["/collections/hazards/items"]["get"]
    status = next(p for p in hazards["parameters"] if p["name"] == "status")
    assert "confirmed" in status["schema"]["enum"]
    assert public.get("/api").content == r.content  # made once


# -- collections ----------------------------------------------------------------------------


def test_collections_of_a_viewer(viewer: TestClient, hazards: dict[str, Any]) -> None:
    doc = viewer.get("/collections").json()
    assert [c["id"] for c in doc["collections"]] == [
        "hazards",
        "activities",
        "items",
        "accidents",
        "eore",
    ]
    c = viewer.get("/collections/hazards").json()
    minx, miny, maxx, maxy = c["extent"]["spatial"]["bbox"][0]
    union = shapely.union_all([h["geometry"] for h in hazards.values()]).bounds
    assert minx <= union[0] and miny <= union[1] and maxx >= union[2] and maxy >= union[3]
    assert maxx - union[2] < 1e-3 and union[0] - minx < 1e-3  # the R-tree's box, rounded out
    first = min(h["reported_on"] for h in hazards.values())
    assert c["extent"]["temporal"]["interval"][0][0] == f"{first}T00:00:00Z"
    rels = {link["rel"] for link in c["links"]}
    assert {"self", "items", "http://www.opengis.net/def/rel/ogc/1.0/queryables"} <= rels
    assert viewer.get("/collections/nosuch").status_code == 404
    assert viewer.get("/collections/events/items").status_code == 404


def test_queryables(viewer: TestClient, public: TestClient) -> None:
    r = viewer.get("/collections/hazards/queryables")
    assert r.headers["content-type"] == "application/schema+json"
    props = r.json()["properties"]
    assert props["status"]["enum"][:2] == ["suspected", "confirmed"]
    assert props["area_m2"]["type"] == "number" and props["reported_on"]["format"] == "date"
    assert "geometry" in props and "changed_at" in props
    assert set(public.get("/collections/hazards/queryables").json()["properties"]) == {
        "status",
        "hazard_type",
    }


# -- items ----------------------------------------------------------------------------------


def test_paging_over_every_hazard(viewer: TestClient, hazards: dict[str, Any]) -> None:
    assert ids(viewer, "/collections/hazards/items", limit=70) == set(hazards)
    doc = viewer.get("/collections/hazards/items", params={"limit": 70, "offset": 70}).json()
    assert doc["numberMatched"] == len(hazards) and doc["numberReturned"] == 70
    links = {link["rel"]: parse_qs(urlparse(link["href"]).query) for link in doc["links"]}
    assert links["next"]["offset"] == ["140"] and links["prev"].get("offset") is None
    first = viewer.get("/collections/hazards/items").json()
    assert first["numberReturned"] == 10  # settings.page_limit
    assert "prev" not in {link["rel"] for link in first["links"]}


def test_limit_above_the_most_is_clamped(
    demo_db: Path, demo_tokens: dict[str, str], client_for: ClientFor
) -> None:
    client = client_for(demo_db, demo_tokens["viewer"], max_limit=25)
    doc = client.get("/collections/hazards/items", params={"limit": 1000}).json()
    assert doc["numberReturned"] == 25
    nxt = next(link["href"] for link in doc["links"] if link["rel"] == "next")
    assert parse_qs(urlparse(nxt).query)["limit"] == ["25"]


def test_features_are_the_records(viewer: TestClient, demo_db: Path) -> None:
    r = viewer.get("/collections/hazards/items", params={"limit": 5})
    assert r.headers["content-type"] == GEOJSON
    feature = r.json()["features"][0]
    with Registry.open(demo_db) as reg:
        stored = reg.stored_record("hazards", feature["id"])
    props = feature["properties"]
    assert props["ref"] == feature["id"] and props["version"] == stored["version"]
    assert props["changed_by"] == stored["changed_by"] and "changed_at" in props
    assert "needs_check" not in props
    assert shapely.geometry.shape(feature["geometry"]).equals(stored["geometry"])
    single = viewer.get(f"/collections/hazards/items/{feature['id']}")
    assert single.headers["etag"] == f'"{stored["version"]}"'
    assert single.json()["properties"] == props
    assert viewer.get("/collections/hazards/items/UA-1900-00001").status_code == 404
    assert viewer.get(f"/collections/items/items/{feature['id']}").status_code == 404


def test_bbox(viewer: TestClient, hazards: dict[str, Any]) -> None:
    box = (35.0, 47.0, 38.5, 50.5)
    want = {r for r, h in hazards.items() if h["geometry"].intersects(shapely.box(*box))}
    assert want and len(want) < len(hazards)
    got = ids(viewer, "/collections/hazards/items", bbox=",".join(map(str, box)), limit=50)
    assert got == want


@pytest.mark.parametrize(
    "params, parameter",
    [
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "a,b,c,d"}, "bbox"),
        ({"bbox": "0,10,1,5"}, "bbox"),
        ({"limit": "0"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"datetime": "yesterday"}, "datetime"),
        ({"datetime": "2024-05-01/2023-01-01"}, "datetime"),
        ({"filter": "nosuch = 1"}, "filter"),
        ({"filter": "status = "}, "filter"),
        ({"filter": "status = 'x'", "filter-lang": "ecql"}, "filter-lang"),
        ({"filter-crs": "EPSG:3857", "filter": "status = 'x'"}, "filter-crs"),
        ({"bbox-crs": "EPSG:3857", "bbox": "1,2,3,4"}, "bbox-crs"),
        ({"nosuch": "1"}, "nosuch"),
        ({"f": "xml"}, "f"),
        ({"area_m2": "big"}, "area_m2"),
    ],
)
def test_bad_parameters_are_400_naming_them(
    viewer: TestClient, params: dict[str, str], parameter: str
) -> None:
    bad_request(viewer.get("/collections/hazards/items", params=params), parameter)


def test_datetime(viewer: TestClient, hazards: dict[str, Any]) -> None:
    days = sorted({h["reported_on"] for h in hazards.values()})
    day, start, end = days[0], days[len(days) // 3], days[2 * len(days) // 3]

    def on(pred: Any) -> set[str]:
        return {r for r, h in hazards.items() if pred(h["reported_on"])}

    path = "/collections/hazards/items"
    assert ids(viewer, path, datetime=day, limit=100) == on(lambda d: d == day)
    noon = f"{day}T12:00:00Z"
    assert ids(viewer, path, datetime=noon, limit=100) == on(lambda d: d == day)
    assert ids(viewer, path, datetime=f"{start}/{end}", limit=100) == on(
        lambda d: start <= d <= end
    )
    assert ids(viewer, path, datetime=f"../{start}", limit=100) == on(lambda d: d <= start)
    assert ids(viewer, path, datetime=f"{end}/..", limit=100) == on(lambda d: d >= end)
    assert dt.date.fromisoformat(day)  # the demo's dates are ISO dates


def test_filters(viewer: TestClient, hazards: dict[str, Any]) -> None:
    path = "/collections/hazards/items"
    example = {r for r, h in hazards.items() if h["status"] == "confirmed" and h["area_m2"] > 10000}
    got = ids(viewer, path, filter="status='confirmed' AND area_m2 > 10000", limit=100)
    assert got == example and example
    as_json = {
        "op": "and",
        "args": [
            {"op": "=", "args": [{"property": "status"}, "confirmed"]},
            {"op": ">", "args": [{"property": "area_m2"}, 10000]},
        ],
    }
    params = {"filter": json.dumps(as_json), "filter-lang": "cql2-json", "limit": 100}
    assert ids(viewer, path, **params) == example
    assert ids(viewer, path, status="confirmed", limit=100) == {
        r for r, h in hazards.items() if h["status"] == "confirmed"
    }
    poly = shapely.box(35.0, 47.0, 38.5, 50.5).buffer(0.3)
    spatial = {r for r, h in hazards.items() if h["geometry"].intersects(poly)}
    got = ids(viewer, path, filter=f"S_INTERSECTS(geometry, {poly.wkt})", limit=100)
    assert got == spatial
    both = ids(viewer, path, filter=f"S_INTERSECTS(geometry, {poly.wkt})", status="released")
    assert both == {r for r in spatial if hazards[r]["status"] == "released"}


def test_other_collections(viewer: TestClient, demo_db: Path) -> None:
    with Registry.open(demo_db) as reg:
        summary = reg.summary()
    for kind in ("activities", "items", "accidents"):
        doc = viewer.get(f"/collections/{kind}/items", params={"limit": 1}).json()
        assert doc["numberMatched"] == summary[kind]
    r = viewer.get("/collections/items/items", params={"datetime": "2000-01-01/.."})
    assert r.json()["numberMatched"] == summary["items"]


# -- HTML -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, text",
    [
        ("/", "The collections of features"),
        ("/conformance", "core"),
        ("/collections", "Hazardous areas"),
        ("/collections/hazards", "Browse the features"),
        ("/collections/hazards/queryables", "hazard_type"),
        ("/collections/hazards/items?limit=5", "next page"),
        ("/api", "OpenAPI 3.0"),
    ],
)
def test_html_pages(viewer: TestClient, path: str, text: str) -> None:
    r = viewer.get(path, params={"f": "html"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert text in r.text and "<script" not in r.text
    assert "signed in as viewer" in r.text


def test_html_feature_and_browser_preference(viewer: TestClient) -> None:
    ref = viewer.get("/collections/hazards/items", params={"limit": 1}).json()["features"][0]["id"]
    page = viewer.get(f"/collections/hazards/items/{ref}", headers={"accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html")
    assert ref in page.text and "MultiPolygon" in page.text and "area_m2" in page.text


# -- who sees what --------------------------------------------------------------------------


def test_the_public_sees_only_the_public_view(public: TestClient, hazards: dict[str, Any]) -> None:
    assert [c["id"] for c in public.get("/collections").json()["collections"]] == ["hazards"]
    for kind in ("activities", "items", "accidents"):
        assert public.get(f"/collections/{kind}").status_code == 404
        assert public.get(f"/collections/{kind}/items").status_code == 404
    doc = public.get("/collections/hazards/items", params={"limit": 50}).json()
    assert doc["numberMatched"] == len(hazards)
    for feature in doc["features"]:
        assert set(feature["properties"]) == PUBLIC_PROPERTIES
        exact = hazards[feature["id"]]["geometry"]
        assert shapely.geometry.shape(feature["geometry"]).covers(exact)
    assert "temporal" not in public.get("/collections/hazards").json()["extent"]
    ref = doc["features"][0]["id"]
    one = public.get(f"/collections/hazards/items/{ref}").json()
    assert set(one["properties"]) == PUBLIC_PROPERTIES


def test_the_public_filters_by_status_and_type_only(
    public: TestClient, hazards: dict[str, Any]
) -> None:
    path = "/collections/hazards/items"
    confirmed = {r for r, h in hazards.items() if h["status"] == "confirmed"}
    assert ids(public, path, filter="status = 'confirmed'", limit=20) == confirmed
    assert ids(public, path, status="confirmed", limit=20) == confirmed
    # with a box too: the filter narrows what the box finds, and the count follows it
    box = "22,44,41,53"
    in_box = ids(public, path, bbox=box, limit=20)
    both = ids(public, path, bbox=box, filter="status = 'confirmed'", limit=7)
    assert both == in_box & confirmed
    first = public.get(path, params={"bbox": box, "filter": "status = 'confirmed'", "limit": 7})
    assert first.json()["numberMatched"] == len(both)
    bad_request(public.get(path, params={"filter": "area_m2 > 1"}), "filter")
    bad_request(
        public.get(path, params={"filter": "S_INTERSECTS(geometry, POINT(36 49))"}), "filter"
    )
    bad_request(public.get(path, params={"datetime": "2024-01-01"}), "datetime")
    bad_request(public.get(path, params={"name": "x"}), "name")


# -- current, and the same bytes --------------------------------------------------------------


def test_a_write_shows_in_the_next_page(
    demo_copy: Path, demo_tokens: dict[str, str], client_for: ClientFor
) -> None:
    client = client_for(demo_copy, demo_tokens["viewer"])
    path = "/collections/hazards/items?limit=3"
    first = client.get(path).json()["features"][0]
    ref = first["id"]
    with Registry.open(demo_copy) as reg:
        reg.update_record("hazards", ref, {"name": "renamed by a test"}, actor="tester")
    after = client.get(path).json()["features"][0]
    assert after["properties"]["name"] == "renamed by a test"
    assert after["properties"]["version"] == first["properties"]["version"] + 1
    # an edit made outside landrelease (as QGIS makes it) is versioned by the triggers
    edit_outside(demo_copy, "UPDATE hazard_areas SET name = 'edited in QGIS' WHERE ref = ?", (ref,))
    again = client.get(path).json()["features"][0]
    assert again["properties"]["name"] == "edited in QGIS"
    assert again["properties"]["changed_by"] == "external"


def test_same_request_same_bytes(
    demo_db: Path, demo_tokens: dict[str, str], client_for: ClientFor
) -> None:
    path = "/collections/hazards/items?limit=40&bbox=30,45,40,52&offset=5"
    a = client_for(demo_db, demo_tokens["viewer"])
    first = a.get(path).content
    assert a.get(path).content == first  # from the cache
    b = client_for(demo_db, demo_tokens["viewer"], feature_cache_mb=0)
    assert b.get(path).content == first  # encoded anew
    assert b.get(path).content == first
