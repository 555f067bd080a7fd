"""Vector tiles: /tiles/{collection}/{z}/{x}/{y}.mvt and /tiles/{collection}.json, over the
synthetic demo registry."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import numpy as np
import pytest
import shapely
from shapely.geometry import shape
from tests.service.conftest import ClientFor

from landrelease import tiles
from landrelease.registry import Registry

MVT = "application/vnd.mapbox-vector-tile"
Z = 12


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    x = int((lon + 180.0) / 360.0 * n)
    phi = math.radians(lat)
    y = int((1.0 - math.log(math.tan(phi) + 1.0 / math.cos(phi)) / math.pi) / 2.0 * n)
    return x, y


def _area(db: Path, **where: Any) -> dict[str, Any]:
    """The first demo hazard area (matching `where`), with its exact outline."""
    with Registry.open(db) as reg:
        cols = reg.record_columns("hazards", where=where or None, order_by="ref", limit=1)
    return {k: v[0] for k, v in cols.items()}


def _decode(body: bytes) -> dict[str, Any]:
    return mapbox_vector_tile.decode(body, default_options={"y_coord_down": True})  # type: ignore[no-any-return]


def _feature(layer: dict[str, Any], ref: str) -> dict[str, Any]:
    found = [f for f in layer["features"] if f["properties"]["ref"] == ref]
    assert len(found) == 1, [f["properties"]["ref"] for f in layer["features"]]
    return found[0]


def _tile_url(
    area: dict[str, Any], collection: str = "hazards", z: int = Z
) -> tuple[str, tuple[int, int, int]]:
    p = shapely.point_on_surface(area["geometry"])
    x, y = _tile_of(p.x, p.y, z)
    return f"/tiles/{collection}/{z}/{x}/{y}.mvt", (z, x, y)


def test_a_signed_in_tile_holds_the_areas_and_their_attributes(
    demo_db: Path, demo_tokens: dict[str, str], client_for: ClientFor
) -> None:
    area = _area(demo_db)
    url, (z, x, y) = _tile_url(area)
    r = client_for(demo_db, demo_tokens["viewer"]).get(url)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == MVT
    layers = _decode(r.content)
    assert list(layers) == ["hazards"] and layers["hazards"]["extent"] == tiles.EXTENT
    feat = _feature(layers["hazards"], area["ref"])
    props = feat["properties"]
    assert props["status"] == area["status"] and props["hazard_type"] == area["hazard_type"]
    assert props["contamination"] == area["contamination"]
    assert props["reported_on"] == area["reported_on"]
    assert props["area_m2"] == pytest.approx(area["area_m2"])
    # the drawn outline is the exact one, in pixels, within a pixel or two
    drawn = shape(feat["geometry"])
    assert drawn.geom_type in ("Polygon", "MultiPolygon")
    exact = tiles.to_pixels(np.array([area["geometry"]]), z, x, y)[0]
    b = tiles.BUFFER
    exact = shapely.clip_by_rect(exact, -b, -b, tiles.EXTENT + b, tiles.EXTENT + b)
    assert shapely.hausdorff_distance(drawn, exact) < 2.0


def test_a_small_area_at_a_low_zoom_stays_as_a_pixel(
    demo_db: Path, demo_tokens: dict[str, str], client_for: ClientFor
) -> None:
    area = _area(demo_db)
    url, _ = _tile_url(area, z=0)
    layer = _decode(client_for(demo_db, demo_tokens["viewer"]).get(url).content)["hazards"]
    drawn = shape(_feature(layer, area["ref"])["geometry"])
    assert drawn.area >= 1.0


def test_point_collections_for_a_signed_in_user(
    demo_db: Path, demo_tokens: dict[str, str], client_for: ClientFor
) -> None:
    with Registry.open(demo_db) as reg:
        item = {k: v[0] for k, v in reg.record_columns("items", limit=1).items()}
    p = item["geometry"]
    x, y = _tile_of(p.x, p.y, Z)
    client = client_for(demo_db, demo_tokens["viewer"])
    layer = _decode(client.get(f"/tiles/items/{Z}/{x}/{y}.mvt").content)["items"]
    feat = _feature(layer, item["ref"])
    assert feat["geometry"]["type"] == "Point"
    assert feat["properties"]["category"] == item["category"]
    assert feat["properties"]["state"] == item["state"]
    for collection in ("activities", "accidents"):
        assert client.get(f"/tiles/{collection}/{Z}/{x}/{y}.mvt").status_code == 200


def test_the_public_gets_generalised_hazards_only(demo_db: Path, client_for: ClientFor) -> None:
    area = _area(demo_db)
    url, (z, x, y) = _tile_url(area)
    public = client_for(demo_db)
    r = public.get(url)
    assert r.status_code == 200 and r.headers["content-type"] == MVT
    # one URL serves the public and the signed-in: no cache may give one the other's tile
    assert {"cookie", "authorization"} <= {v.strip().lower() for v in r.headers["vary"].split(",")}
    assert "Cookie" in public.get("/tiles/hazards.json").headers["vary"]
    feat = _feature(_decode(r.content)["hazards"], area["ref"])
    assert set(feat["properties"]) == set(tiles.PUBLIC_FIELDS)
    assert feat["properties"]["contamination"] == area["contamination"]  # text, "a;b"
    drawn = shape(feat["geometry"])
    with Registry.open(demo_db) as reg:
        generalised = reg.public_hazard(area["ref"])["geometry"]
    pix = tiles.to_pixels(np.array([area["geometry"], generalised]), z, x, y)
    exact, general = pix
    # every vertex drawn lies on the generalised outline (or the tile's clip edge) ...
    b = tiles.BUFFER
    inner = shapely.box(-b + 1, -b + 1, tiles.EXTENT + b - 1, tiles.EXTENT + b - 1)
    vertices = shapely.points(shapely.get_coordinates(drawn))
    vertices = vertices[shapely.within(vertices, inner)]
    assert len(vertices)
    assert float(shapely.distance(vertices, general.boundary).max()) <= 1.5
    # ... and none is an exact one: the drawn outline is far from the exact one
    exact_vertices = shapely.points(shapely.get_coordinates(exact))
    assert float(shapely.distance(exact_vertices, shapely.MultiPoint(list(vertices))).min()) > 1.0
    assert shapely.hausdorff_distance(drawn, exact) > 10.0
    assert shapely.covers(drawn.buffer(1.0), shapely.clip_by_rect(exact, 0, 0, 4096, 4096))


@pytest.mark.parametrize("collection", ["items", "accidents", "activities"])
def test_the_public_may_not_read_other_collections(
    demo_db: Path, client_for: ClientFor, collection: str
) -> None:
    public = client_for(demo_db)
    for url in (f"/tiles/{collection}/6/37/22.mvt", f"/tiles/{collection}.json"):
        r = public.get(url)
        assert r.status_code == 401, r.text
        assert r.headers["content-type"] == "application/problem+json"


def test_a_tile_is_current_after_a_write(
    demo_copy: Path, demo_tokens: dict[str, str], client_for: ClientFor
) -> None:
    area = _area(demo_copy, status="suspected")
    url, _ = _tile_url(area)
    admin = client_for(demo_copy, demo_tokens["admin"])
    public = client_for(demo_copy)
    before = _feature(_decode(admin.get(url).content)["hazards"], area["ref"])
    assert before["properties"]["status"] == "suspected"
    _feature(_decode(public.get(url).content)["hazards"], area["ref"])  # kept now

    tag = admin.get(f"/api/hazards/{area['ref']}").headers["etag"]
    r = admin.post(
        f"/api/hazards/{area['ref']}/status",
        json={"status": "confirmed", "reason": "synthetic: evidence found"},
        headers={"If-Match": tag},
    )
    assert r.status_code == 200, r.text
    after = _feature(_decode(admin.get(url).content)["hazards"], area["ref"])
    assert after["properties"]["status"] == "confirmed"
    shown = _feature(_decode(public.get(url).content)["hazards"], area["ref"])
    assert shown["properties"]["status"] == "confirmed"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/tiles/hazards/25/0/0.mvt", 400),
        ("/tiles/hazards/-1/0/0.mvt", 400),
        ("/tiles/hazards/a/0/0.mvt", 400),
        ("/tiles/hazards/3/1.5/0.mvt", 400),
        ("/tiles/hazards/3/8/0.mvt", 404),
        ("/tiles/hazards/3/0/-1.mvt", 404),
        ("/tiles/roads/3/0/0.mvt", 404),
        ("/tiles/roads.json", 404),
    ],
)
def test_a_tile_that_cannot_exist_is_a_problem(
    demo_db: Path, demo_tokens: dict[str, str], client_for: ClientFor, path: str, status: int
) -> None:
    for client in (client_for(demo_db), client_for(demo_db, demo_tokens["viewer"])):
        r = client.get(path)
        assert r.status_code == status, r.text
        assert r.headers["content-type"] == "application/problem+json"


def test_tilejson(demo_db: Path, demo_tokens: dict[str, str], client_for: ClientFor) -> None:
    doc = client_for(demo_db, demo_tokens["viewer"]).get("/tiles/hazards.json").json()
    assert doc["tilejson"] == "3.0.0" and (doc["minzoom"], doc["maxzoom"]) == (0, 16)
    assert doc["tiles"] == ["http://testserver/tiles/hazards/{z}/{x}/{y}.mvt"]
    with Registry.open(demo_db) as reg:
        (w, s, e, n), _ = reg.extent("hazards")  # type: ignore[misc]
    bw, bs, be, bn = doc["bounds"]
    assert bw <= w and bs <= s and be >= e and bn >= n and be - bw < e - w + 0.01
    (layer,) = doc["vector_layers"]
    assert layer["id"] == "hazards" and "area_m2" in layer["fields"]
    public = client_for(demo_db).get("/tiles/hazards.json").json()
    assert set(public["vector_layers"][0]["fields"]) == set(tiles.PUBLIC_FIELDS)
    assert all(round(v * 10) == v * 10 for v in public["bounds"])
