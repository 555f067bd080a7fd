"""The tiles' memory of decoded records (tiles.FeatureCache): never stale, whatever edits the
file, and the same tile whichever way the records were read. Synthetic demo registry."""

from __future__ import annotations

import math
from pathlib import Path

import mapbox_vector_tile
import pytest
import shapely

from fixtures import edit_outside
from landrelease import tiles
from landrelease.registry import Registry

Z = 12


def _tile_of_area(reg: Registry, ref: str, z: int = Z) -> tuple[int, int, int]:
    cols = reg.record_columns("hazards", where={"ref": ref})
    p = shapely.point_on_surface(cols["geometry"][0])
    n = 1 << z
    phi = math.radians(p.y)
    y = (1.0 - math.log(math.tan(phi) + 1.0 / math.cos(phi)) / math.pi) / 2.0 * n
    return z, int((p.x + 180.0) / 360.0 * n), int(y)


def _props(body: bytes, ref: str) -> dict[str, object]:
    layer = mapbox_vector_tile.decode(body)["hazards"]
    found = [f["properties"] for f in layer["features"] if f["properties"]["ref"] == ref]
    assert len(found) == 1
    return found[0]


def test_an_edit_made_outside_landrelease_shows_in_the_next_tile(demo_copy: Path) -> None:
    with Registry.open(demo_copy) as reg:
        ref = reg.record_columns("hazards", columns=["ref"], order_by="ref", limit=1)["ref"][0]
        z, x, y = _tile_of_area(reg, ref)
        before = _props(tiles.tile(reg, "hazards", z, x, y, public=False), ref)
        other = "CHA" if before["hazard_type"] == "SHA" else "SHA"
        edit_outside(  # as QGIS edits the registry
            demo_copy, "UPDATE hazard_areas SET hazard_type = ? WHERE ref = ?", (other, ref)
        )
        after = _props(tiles.tile(reg, "hazards", z, x, y, public=False), ref)
        assert after["hazard_type"] == other


def test_records_read_by_ref_or_by_box_make_the_same_tile(
    demo_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Registry.open(demo_copy) as reg:
        ref = reg.record_columns("hazards", columns=["ref"], order_by="ref", limit=1)["ref"][0]
        z, x, y = _tile_of_area(reg, ref, 6)
        box = tiles.tile_bounds(z, x, y, tiles.BUFFER)
        keys = reg.record_columns("hazards", columns=["ref", "version"], bbox=box, geometry=False)
        assert len(keys["ref"]) > 1
        layer = tiles.LAYERS["hazards"]
        made = []
        for by_box in (False, True):
            monkeypatch.setattr(tiles, "READ_BY_BOX", 0 if by_box else 10**9)
            cache = tiles.FeatureCache()
            cols = cache.columns(reg, layer, box, keys["ref"], keys["version"])
            assert cols["ref"] == keys["ref"]
            again = cache.columns(reg, layer, box, keys["ref"], keys["version"])  # from memory
            assert again["ref"] == cols["ref"]
            assert list(shapely.to_wkb(again["geometry"])) == list(shapely.to_wkb(cols["geometry"]))
            made.append(cols)
        assert made[0]["status"] == made[1]["status"]
        assert list(shapely.to_wkb(made[0]["geometry"])) == list(
            shapely.to_wkb(made[1]["geometry"])
        )


def test_the_least_recently_used_records_are_dropped(demo_copy: Path) -> None:
    with Registry.open(demo_copy) as reg:
        keys = reg.record_columns("hazards", columns=["ref", "version"], geometry=False)
        cache = tiles.FeatureCache(size=3)
        world = (-180.0, -85.0, 180.0, 85.0)
        cols = cache.columns(reg, tiles.LAYERS["hazards"], world, keys["ref"], keys["version"])
        assert cols["ref"] == keys["ref"]  # all drawn, even past the size kept
        assert len(cache._kept) == 3
