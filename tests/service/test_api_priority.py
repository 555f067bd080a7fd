"""Saved rankings over HTTP, and the rank in the vector tiles, on the synthetic demo registry
(which saves a ranking as it is built)."""

from __future__ import annotations

import math
from pathlib import Path

import mapbox_vector_tile
import shapely
from tests.service.conftest import ClientFor

from conftest import NewRegistry
from landrelease.priority import COMPONENTS
from landrelease.registry import Registry

PROBLEM = "application/problem+json"
Z = 12


def _tile(lon: float, lat: float, z: int = Z) -> str:
    n = 1 << z
    x = int((lon + 180.0) / 360.0 * n)
    phi = math.radians(lat)
    y = int((1.0 - math.log(math.tan(phi) + 1.0 / math.cos(phi)) / math.pi) / 2.0 * n)
    return f"/tiles/hazards/{z}/{x}/{y}.mvt"


def _ranks_in_tile(body: bytes) -> dict[str, object]:
    layer = mapbox_vector_tile.decode(body, default_options={"y_coord_down": True})["hazards"]
    return {f["properties"]["ref"]: f["properties"].get("rank") for f in layer["features"]}


def test_the_latest_ranking_is_served_a_page_at_a_time(
    demo_db: Path, demo_tokens: dict[str, str], client_for: ClientFor
) -> None:
    client = client_for(demo_db, demo_tokens["viewer"])
    r = client.get("/api/priority", params={"limit": 5})
    assert r.status_code == 200, r.text
    body = r.json()
    with Registry.open(demo_db) as reg:
        saved = reg.ranking()
    assert body["id"] == saved["id"] and body["numberMatched"] == saved["areas"]
    assert body["numberReturned"] == 5 and [row["rank"] for row in body["rows"]] == [1, 2, 3, 4, 5]
    assert body["rows"] == saved["rows"][:5]  # the floats as stored, to the last digit
    for row in body["rows"]:
        assert list(row["components"]) == list(COMPONENTS)
    page = client.get("/api/priority", params={"limit": 2, "offset": 3, "ranking": body["id"]})
    assert [row["rank"] for row in page.json()["rows"]] == [4, 5]
    assert client.get("/api/priority", params={"ranking": "0" * 16}).status_code == 404


def test_an_area_is_explained_as_the_cli_explains_it(
    demo_db: Path, demo_tokens: dict[str, str], client_for: ClientFor
) -> None:
    client = client_for(demo_db, demo_tokens["viewer"])
    first = client.get("/api/priority", params={"limit": 1}).json()["rows"][0]
    r = client.get(f"/api/priority/{first['ref']}")
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["rank"] == 1 and got["score"] == first["score"]
    assert [ln["component"] for ln in got["lines"]] == list(COMPONENTS)
    assert [ln["raw"] for ln in got["lines"]] == [first["components"][c] for c in COMPONENTS]
    with Registry.open(demo_db) as reg:
        assert got == reg.explain_priority(first["ref"])
    missing = client.get("/api/priority/UA-1999-99999")
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM


def test_the_public_may_not_read_rankings(demo_db: Path, client_for: ClientFor) -> None:
    client = client_for(demo_db)
    assert client.get("/api/priority").status_code == 401
    assert client.get("/api/priority/UA-2024-00001").status_code == 401


def test_no_saved_ranking_is_a_404_problem(
    new_registry: NewRegistry, client_for: ClientFor
) -> None:
    path = new_registry("empty")
    with Registry.open(path, create=True) as reg:
        token = reg.add_user("viewer", "viewer", actor="tests")
    r = client_for(path, token).get("/api/priority")
    assert r.status_code == 404 and r.headers["content-type"] == PROBLEM
    assert "prioritize --save" in r.json()["detail"]


def test_the_signed_in_tiles_carry_the_latest_rank(
    demo_copy: Path, demo_tokens: dict[str, str], client_for: ClientFor
) -> None:
    with Registry.open(demo_copy) as reg:
        ranking, ranks = reg.latest_ranks()
        assert ranking is not None
        ref = min(ranks, key=lambda r: ranks[r])
        centre = shapely.point_on_surface(reg.hazard(ref).geometry)
    url = _tile(centre.x, centre.y)
    client = client_for(demo_copy, demo_tokens["viewer"])
    shown = _ranks_in_tile(client.get(url).content)
    assert shown[ref] == 1
    assert all(rank is None or rank == ranks[r] for r, rank in shown.items())
    # the public's tile has no rank (not part of the public view)
    public = _ranks_in_tile(client_for(demo_copy).get(url).content)
    assert set(public.values()) == {None}
    # a new ranking saved (the same process, its tile kept in memory): the tile shows it
    with Registry.open(demo_copy) as reg:
        only = reg.prioritize(
            config_text='# synthetic\n[ranking]\nstatuses = ["in_progress"]\n',
            save=True,
            actor="tests",
        )
    app_reg = client.app.state.registry  # type: ignore[attr-defined]
    assert app_reg.latest_ranks()[0] == only.id
    again = _ranks_in_tile(client.get(url).content)
    new_ranks = {r["ref"]: r["rank"] for r in only.rows}
    assert again == {r: new_ranks.get(r) for r in shown} and again != shown
    fields = client.get("/tiles/hazards.json").json()["vector_layers"][0]["fields"]
    assert fields["rank"] == "Number"
