"""The public view: outlines generalised to a grid, coded values, warnings, box searches.

Every polygon here is synthetic, drawn in the grid's own projection (the country's
equal-area projection) so that where it lies among the cells is known exactly.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from fixtures import KYIV, hazard
from landrelease.domain.codes import Status
from landrelease.domain.errors import NotFound, ValidationError
from landrelease.domain.geometry import COUNTRIES, equal_area
from landrelease.domain.public import (
    MAX_GRID_M,
    WARNINGS,
    check_grid,
    generalise,
    public_values,
    search_box,
    warning,
)
from landrelease.public import PUBLIC_COLUMNS, cache_of
from landrelease.registry import Registry

UA = COUNTRIES["UA"]
TR = equal_area(UA)
KYIV_XY = TR.transform(*KYIV)


def to_grid(xy: np.ndarray) -> np.ndarray:
    """Return lon/lat points in the grid's projection (metres)."""
    x, y = TR.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])


def to_lonlat(xy: np.ndarray) -> np.ndarray:
    x, y = TR.transform(xy[:, 0], xy[:, 1], direction="INVERSE")
    return np.column_stack([x, y])


def drawn(geom: shapely.Geometry) -> shapely.Geometry:
    """Return a shape drawn in the projection (metres) as lon/lat."""
    return shapely.transform(geom, to_lonlat)


def in_grid(geom: shapely.Geometry) -> shapely.Geometry:
    """Return a lon/lat shape in the projection (metres)."""
    return shapely.transform(geom, to_grid)


def cell_of(x: float, y: float, g: float) -> tuple[int, int]:
    return math.floor(x / g), math.floor(y / g)


def star(cx: float, cy: float, radii: list[float], turn: float) -> shapely.Polygon:
    """Return a star-shaped (hence simple) polygon around (cx, cy), metres."""
    k = len(radii)
    a = (np.arange(k) + turn) * 2 * np.pi / k
    r = np.asarray(radii)
    return shapely.Polygon(np.column_stack([cx + r * np.cos(a), cy + r * np.sin(a)]))


def assert_on_grid(geom: shapely.Geometry, g: float) -> None:
    xy = shapely.get_coordinates(in_grid(geom))
    off = np.abs(xy / g - np.round(xy / g)) * g
    assert off.max() < 1e-6, f"a vertex lies {off.max()} m off the {g} m grid"


def assert_no_exact_vertex(general: shapely.Geometry, exact: shapely.Geometry) -> None:
    a = shapely.get_coordinates(general)
    b = shapely.get_coordinates(exact)
    near = np.abs(a[:, None, :] - b[None, :, :]).max(axis=2) <= 1e-9
    assert not near.any(), "an exact vertex was published"


# -- the grid ---------------------------------------------------------------------------------


def test_a_polygon_inside_one_cell_gives_exactly_that_cell() -> None:
    g = 1000.0
    i, j = cell_of(*KYIV_XY, g)
    inside = drawn(shapely.box(i * g + 120, j * g + 300, i * g + 870, j * g + 640))
    (out,) = generalise(np.array([inside]), UA, g)
    assert out.geom_type == "MultiPolygon" and len(out.geoms) == 1
    cell = shapely.box(i * g, j * g, (i + 1) * g, (j + 1) * g)
    assert shapely.get_num_coordinates(out) == 5  # the four corners, and back
    assert shapely.hausdorff_distance(in_grid(out), cell) < 1e-6
    assert out.covers(inside)


@pytest.mark.parametrize("g", [100.0, 1000.0, 2500.0, 30_000.0])
def test_cells_cover_the_outline_lie_on_the_grid_and_are_grid_sized(g: float) -> None:
    x, y = KYIV_XY
    exact = np.array(
        [
            drawn(star(x + 3 * g / 7, y, [1.7 * g, 0.6 * g, 2.2 * g, 0.9 * g, 1.3 * g], 0.3)),
            drawn(star(x - 5 * g, y + 4 * g, [0.3 * g] * 7, 0.1)),
            drawn(
                shapely.MultiPolygon(
                    [
                        star(x, y - 6 * g, [0.4 * g] * 5, 0.0),
                        star(x + 9 * g, y - 6 * g, [g] * 6, 0.5),
                    ]
                )
            ),
        ]
    )
    out = generalise(exact, UA, g)
    for general, shape in zip(out, exact, strict=True):
        assert general.is_valid and general.geom_type == "MultiPolygon"
        assert general.covers(shape)
        assert_on_grid(general, g)
        assert_no_exact_vertex(general, shape)
        projected = in_grid(general)
        # whole cells only: the area is a whole number of cells, every edge one cell long
        cells = projected.area / g**2
        assert abs(cells - round(cells)) < 1e-6
        xy = shapely.get_coordinates(projected.boundary)
        steps = np.hypot(*np.diff(xy, axis=0).T)
        assert np.all((np.abs(steps - g) < 1e-6) | (steps > 2 * g))  # > 2g: to the next ring


def test_the_cells_do_not_depend_on_the_polygon() -> None:
    """Two areas in the same cells get the same cells: the grid is anchored, not fitted."""
    g = 1000.0
    i, j = cell_of(*KYIV_XY, g)
    a = drawn(shapely.box(i * g + 10, j * g + 10, i * g + 400, j * g + 500))
    b = drawn(star(i * g + 600, j * g + 600, [100, 250, 180], 0.2))
    out = generalise(np.array([a, b]), UA, g)
    assert shapely.equals_exact(out[0], out[1], tolerance=0)


def test_an_outline_with_a_hole_wider_than_cells_keeps_the_hole() -> None:
    g = 1000.0
    x, y = KYIV_XY
    ring = drawn(shapely.Point(x, y).buffer(6 * g).difference(shapely.Point(x, y).buffer(4 * g)))
    (out,) = generalise(np.array([ring]), UA, g)
    assert out.covers(ring)
    assert len(out.geoms) == 1 and len(out.geoms[0].interiors) == 1
    assert not out.covers(shapely.Point(*KYIV))  # the middle of the hole is not published


def test_missing_and_unusable_shapes_give_none() -> None:
    x, y = KYIV_XY
    good = drawn(shapely.box(x, y, x + 10, y + 10))
    with np.errstate(invalid="ignore"):
        nan = shapely.Polygon([(30.5, 50.4), (30.6, float("nan")), (30.6, 50.5)])
    out = generalise(np.array([None, shapely.Polygon(), good, nan], dtype=object), UA)
    assert out[0] is None and out[1] is None and out[3] is None
    assert out[2] is not None


def test_an_invalid_outline_edited_outside_landrelease_is_still_generalised() -> None:
    x, y = KYIV_XY
    bow_tie = drawn(shapely.Polygon([(x, y), (x + 900, y + 900), (x + 900, y), (x, y + 900)]))
    assert not bow_tie.is_valid
    (out,) = generalise(np.array([bow_tie]), UA, 1000.0)
    assert out.is_valid and out.covers(shapely.make_valid(bow_tie))


@pytest.mark.parametrize("bad", [0, -5, float("nan"), float("inf"), MAX_GRID_M * 1.01, "1km"])
def test_a_grid_out_of_range_is_refused_naming_grid_m(bad: Any) -> None:
    with pytest.raises(ValidationError) as err:
        check_grid(bad)
    assert err.value.field == "grid_m"
    with pytest.raises(ValidationError):
        generalise(np.array([None], dtype=object), UA, bad)


def test_a_grid_far_too_fine_for_the_areas_is_refused_not_run() -> None:
    x, y = KYIV_XY
    wide = drawn(shapely.box(x, y, x + 50_000, y + 50_000))
    with pytest.raises(ValidationError) as err:
        generalise(np.array([wide]), UA, 10.0)
    assert err.value.field == "grid_m" and "coarser" in str(err.value)


def test_many_areas_are_generalised_in_batches_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    from landrelease.domain import public

    x, y = KYIV_XY
    rng = np.random.default_rng(5)
    shapes = np.array(
        [
            drawn(star(x + dx, y + dy, list(rng.uniform(50, 2500, 7)), 0.4))
            for dx, dy in rng.uniform(-50_000, 50_000, (40, 2))
        ]
    )
    whole = generalise(shapes, UA, 1000.0)
    monkeypatch.setattr(public, "CHUNK_CELLS", 7)
    batched = generalise(shapes, UA, 1000.0)
    assert all(shapely.equals_exact(a, b, tolerance=0) for a, b in zip(whole, batched, strict=True))


@settings(max_examples=60, deadline=None)
@given(
    dx=st.floats(-400_000, 400_000),
    dy=st.floats(-300_000, 300_000),
    radii=st.lists(st.floats(5.0, 4000.0), min_size=3, max_size=24),
    turn=st.floats(0.05, 0.95),
    g=st.sampled_from([50.0, 333.3, 1000.0, 1500.0, 10_000.0]),
)
def test_property_random_polygons(
    dx: float, dy: float, radii: list[float], turn: float, g: float
) -> None:
    """Random synthetic star polygons anywhere in the country: the published cells always
    cover the outline, lie on the grid, show no exact vertex and are valid."""
    exact = drawn(star(dx, dy, radii, turn))
    (out,) = generalise(np.array([exact]), UA, g)
    assert out.is_valid and out.geom_type == "MultiPolygon"
    assert out.covers(exact)
    assert_on_grid(out, g)
    assert_no_exact_vertex(out, exact)


# -- words and codes --------------------------------------------------------------------------


def test_every_status_has_a_warning_and_released_land_is_not_called_safe() -> None:
    for status in Status:
        assert warning(status.value) == WARNINGS[status]
    for s in ("suspected", "confirmed", "in_progress"):
        assert warning(s).startswith("Danger") and "Do not enter" in warning(s)
    assert "suspected" in warning("suspected") and "confirmed" in warning("confirmed")
    assert "clearance in progress" in warning("in_progress")
    for s in ("cancelled", "reduced", "cleared", "released"):
        text = warning(s)
        assert text.startswith("Released") and "released" in text
        assert "No land can be guaranteed free" in text  # honest: released is not risk-free
    assert "Do not enter" in warning("whatever was typed in QGIS")


def test_only_known_codes_are_published() -> None:
    out = public_values(
        ["confirmed", "Ivan's field, call 0501234567"],
        ["CHA", "see notes"],
        ["ap_mine;cmr", "ap_mine;Ivan saw it"],
    )
    assert out["status"] == ["confirmed", None]
    assert out["hazard_type"] == ["CHA", None]
    assert out["contamination"] == [["ap_mine", "cmr"], ["ap_mine"]]
    assert out["warning"][1].startswith("Danger")


# -- through the registry ---------------------------------------------------------------------


def test_public_columns_hold_only_what_may_be_published(reg: Registry) -> None:
    cols, matched = reg.public_hazard_columns()
    assert tuple(cols) == PUBLIC_COLUMNS
    assert matched == 3 and cols["ref"] == sorted(cols["ref"])
    exact = reg.hazard_columns()
    secrets = {str(v) for f in ("name", "evidence", "notes") for v in exact[f] if v}
    assert secrets and not secrets & {str(v) for c in cols.values() for v in c}
    by_ref = dict(zip(exact["ref"], exact["geometry"], strict=True))
    for ref, general in zip(cols["ref"], cols["geometry"], strict=True):
        assert general.covers(by_ref[ref]) and not general.equals(by_ref[ref])
        assert_on_grid(general, 1000.0)


def test_pages_are_taken_by_ref(reg: Registry) -> None:
    everything, _ = reg.public_hazard_columns()
    page, matched = reg.public_hazard_columns(limit=2, offset=1)
    assert matched == 3 and page["ref"] == everything["ref"][1:3]
    assert reg.public_hazard_columns(limit=0)[0]["ref"] == []
    with pytest.raises(ValidationError):
        reg.public_hazard_columns(offset=-1)


def test_one_area_and_an_unknown_ref(reg: Registry, refs: dict[str, str]) -> None:
    one = reg.public_hazard(refs["kharkiv"])
    assert tuple(one) == PUBLIC_COLUMNS
    assert one["status"] == "confirmed" and one["warning"].startswith("Danger")
    assert one["geometry"].covers(reg.hazard(refs["kharkiv"]).geometry)
    with pytest.raises(NotFound):
        reg.public_hazard("UA-1999-99999")


def test_outlines_are_kept_per_version_and_grid(reg: Registry, refs: dict[str, str]) -> None:
    ref = refs["kyiv"]
    first = reg.public_hazard(ref)["geometry"]
    assert reg.public_hazard(ref)["geometry"] is first  # kept, not made again
    coarse = reg.public_hazard(ref, grid_m=5000.0)["geometry"]
    assert coarse is not first and coarse.area > first.area
    x, y = TR.transform(*KYIV)
    moved = drawn(shapely.box(x + 7000, y + 100, x + 7300, y + 400))
    reg.update_record("hazards", ref, {"geometry": moved}, actor="tester", reason="re-surveyed")
    now = reg.public_hazard(ref)["geometry"]
    assert now.covers(moved) and not now.intersects(reg.hazard(refs["forest"]).geometry)
    assert len(cache_of(reg.store)) >= 3


# -- box searches -----------------------------------------------------------------------------


def _probe(x: float, y: float, size: float = 10.0) -> tuple[float, float, float, float]:
    """Return a tiny lon/lat box around a point of the projection (metres)."""
    minx, miny, maxx, maxy = drawn(shapely.box(x, y, x + size, y + size)).bounds
    return (minx, miny, maxx, maxy)


def test_a_box_search_sees_cells_never_the_exact_outline(empty_reg: Registry) -> None:
    g = 1000.0
    i, j = cell_of(*KYIV_XY, g)
    # reaches 50 m into the next cell east: published as two cells
    exact = drawn(shapely.box(i * g + 200, j * g + 300, (i + 1) * g + 50, j * g + 700))
    (ref,) = empty_reg.add_records(
        "hazards", [hazard(0, geometry=exact, notes="synthetic")], actor="tester"
    )
    (general,) = empty_reg.public_hazard_columns()[0]["geometry"]
    assert abs(in_grid(general).area - 2 * g * g) < 1e-3

    # Inside the second cell, where the exact outline is not: found all the same.
    far_corner = _probe((i + 1) * g + 800, j * g + 850)
    assert empty_reg.hazard_columns(bbox=far_corner)["ref"] == []  # the exact outline misses
    cols, matched = empty_reg.public_hazard_columns(bbox=far_corner)
    assert cols["ref"] == [ref] and matched == 1
    # In the cell beyond, right against the published edge, and farther: nothing.
    for x, y in [((i + 2) * g + 5, j * g + 500), ((i + 3) * g + 500, j * g + 500)]:
        cols, matched = empty_reg.public_hazard_columns(bbox=_probe(x, y))
        assert cols["ref"] == [] and matched == 0
    # Any probe inside either cell answers the same, wherever the exact outline lies.
    answers = {
        tuple(empty_reg.public_hazard_columns(bbox=_probe(i * g + px, j * g + py))[0]["ref"])
        for px in (20, 500, 980, 1020, 1500, 1980)
        for py in (20, 500, 980)
    }
    assert answers == {(ref,)}


def test_a_box_far_beyond_the_country_finds_nothing(reg: Registry) -> None:
    cols, matched = reg.public_hazard_columns(bbox=(-10.0, -10.0, -9.0, -9.0))
    assert matched == 0 and cols["ref"] == [] and len(cols["geometry"]) == 0
    assert reg.public_hazard_columns(bbox=(0.0, 0.0, 180.0, 90.0))[1] == 3
    with pytest.raises(ValidationError) as err:
        reg.public_hazard_columns(bbox=(31.0, 50.0, 30.0, 51.0))
    assert err.value.field == "bbox"


def test_the_search_box_holds_every_candidate() -> None:
    """An outline whose cells meet a box lies within the search box."""
    g = 1000.0
    box = _probe(*KYIV_XY)
    wide = search_box(box, UA, g)
    assert wide is not None
    inner = drawn(shapely.Point(*KYIV_XY).buffer(2 * g))  # any outline this near may qualify
    assert shapely.box(*wide).covers(inner)
    assert search_box((-10.0, -10.0, -9.0, -9.0), UA, g) is None
