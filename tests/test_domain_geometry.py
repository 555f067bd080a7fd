"""Geometry checks, equal-area measurement and duplicate keys (domain, no store)."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod, Transformer

from fixtures import KHARKIV, KYIV, bow_tie, polygon
from landrelease.domain.geometry import (
    COUNTRIES,
    area_m2,
    check_geometries,
    geometry_keys,
    overlaps,
    promote_to_multi,
    usable_geometries,
    vertex_jumps,
)

UA = COUNTRIES["UA"]
GEOD = Geod(ellps="WGS84")


def check(geoms, kind="polygon", **kw):  # type: ignore[no-untyped-def]
    return check_geometries(np.array(geoms, dtype=object), kind, UA, **kw)


def test_valid_polygons_pass_unchanged() -> None:
    geoms = [polygon(0), polygon(1, KHARKIV), shapely.MultiPolygon([polygon(2), polygon(3)])]
    rep = check(geoms)
    assert rep.problems == [] and rep.repairs == [] and rep.warnings == []
    assert all(a.equals(b) for a, b in zip(rep.geometries, geoms, strict=True))


def test_problems_name_the_row_of_each_bad_geometry() -> None:
    swapped = shapely.Polygon([(y, x) for x, y in polygon(5).exterior.coords])
    geoms = [
        polygon(0),  # row 0: fine
        bow_tie(),  # 1: self-intersects
        None,  # 2: missing
        shapely.Polygon(),  # 3: empty
        shapely.Point(*KYIV),  # 4: wrong type
        swapped,  # 5: lat/lon swapped
        shapely.affinity.translate(polygon(6), 20, 0),  # 6: outside Ukraine
        polygon(7),  # 7: fine
    ]
    rep = check(geoms)
    by_row = {p.row: p for p in rep.problems}
    assert sorted(by_row) == [1, 2, 3, 4, 5, 6]
    assert all(p.field == "geometry" for p in rep.problems)
    assert "self-intersects" in by_row[1].message and "--repair" in by_row[1].message
    assert "missing or empty" in by_row[2].message
    assert "missing or empty" in by_row[3].message
    assert "Point" in by_row[4].message
    assert "swapped" in by_row[5].message
    assert "outside Ukraine" in by_row[6].message


def test_a_polygon_of_fewer_than_three_distinct_vertices_is_refused() -> None:
    flat = shapely.from_wkt("POLYGON ((30.6 50.5, 30.61 50.5, 30.6 50.5, 30.6 50.5))")
    rep = check([flat])
    assert len(rep.problems) == 1
    assert "3 distinct vertices" in rep.problems[0].message


def test_missing_geometry_is_allowed_when_not_required_but_empty_is_not() -> None:
    rep = check([None, shapely.Polygon()], required=False)
    assert [p.row for p in rep.problems] == [1]


def test_repair_turns_a_bow_tie_into_two_triangles_and_says_so() -> None:
    rep = check([bow_tie(), polygon(1)], repair=True)
    assert rep.problems == []
    assert len(rep.repairs) == 1 and rep.repairs[0].row == 0
    fixed = rep.geometries[0]
    assert fixed.is_valid and fixed.geom_type == "MultiPolygon" and len(fixed.geoms) == 2
    msg = rep.repairs[0].message
    assert "self-intersects" in msg and "2 part(s)" in msg and "m2" in msg
    assert rep.geometries[1].equals(polygon(1))


def test_points_must_be_points() -> None:
    rep = check([shapely.Point(*KYIV), polygon(0)], kind="point")
    assert [p.row for p in rep.problems] == [1]


def test_a_vertex_jump_over_5_km_is_a_warning_not_a_problem() -> None:
    x, y = KHARKIV
    spike = shapely.Polygon([(x, y), (x + 0.01, y), (x + 0.2, y + 0.005), (x, y + 0.01)])
    rep = check([polygon(0), spike])
    assert rep.problems == []
    assert [w.row for w in rep.warnings] == [1]
    assert "km" in rep.warnings[0].message
    assert vertex_jumps(np.array([polygon(0)], dtype=object)) == []


def test_a_boundary_polygon_replaces_the_bounding_box() -> None:
    west = shapely.box(22.13, 44.38, 33.0, 52.38)
    country = dataclasses.replace(UA, boundary=west)
    geoms = np.array([polygon(0), polygon(0, KHARKIV)], dtype=object)
    rep = check_geometries(geoms, "polygon", country)
    assert [p.row for p in rep.problems] == [1]


@pytest.mark.parametrize("epsg", [32636, 3857])
def test_area_is_measured_in_an_equal_area_projection(epsg: int) -> None:
    """A 1 km square drawn in a projected CRS: equal to the geodesic area within 0.1%."""
    to_ll = Transformer.from_crs(epsg, 4326, always_xy=True)
    to_xy = Transformer.from_crs(4326, epsg, always_xy=True)
    x0, y0 = to_xy.transform(*KHARKIV)
    square = shapely.box(x0, y0, x0 + 1000, y0 + 1000).segmentize(50)
    ll = shapely.transform(square, lambda xy: np.column_stack(to_ll.transform(xy[:, 0], xy[:, 1])))
    geodesic = abs(GEOD.geometry_area_perimeter(ll)[0])
    measured = area_m2(np.array([ll], dtype=object), UA)[0]
    assert measured == pytest.approx(geodesic, rel=1e-3)


def test_promote_to_multi_leaves_multis_and_points_alone() -> None:
    mp = shapely.MultiPolygon([polygon(0), polygon(1)])
    out = promote_to_multi(np.array([polygon(2), mp, shapely.Point(*KYIV)], dtype=object))
    assert out[0].geom_type == "MultiPolygon" and out[0].geoms[0].equals(polygon(2))
    assert out[1] is mp
    assert out[2].geom_type == "Point"


# -- duplicate keys --------------------------------------------------------------------


@st.composite
def star_polygons(draw: st.DrawFn) -> shapely.Polygon:
    """A simple (star-shaped) polygon near Kyiv: one vertex per angular sector."""
    k = draw(st.integers(3, 12))
    lon = draw(st.floats(24.0, 38.0))
    lat = draw(st.floats(45.5, 51.5))
    pts = []
    for j in range(k):
        a = (j + draw(st.floats(0.1, 0.9))) * 2 * np.pi / k
        r = draw(st.floats(0.001, 0.01))
        pts.append((round(lon + r * np.cos(a), 7), round(lat + r * np.sin(a), 7)))
    poly = shapely.Polygon(pts)
    return poly


@settings(max_examples=30, deadline=None)
@given(poly=star_polygons(), start=st.integers(0, 20), reverse=st.booleans(), multi=st.booleans())
def test_geometry_key_ignores_ring_start_and_orientation(
    poly: shapely.Polygon, start: int, reverse: bool, multi: bool
) -> None:
    ring = list(poly.exterior.coords)[:-1]
    start %= len(ring)
    ring = ring[start:] + ring[:start]
    if reverse:
        ring = ring[::-1]
    other: shapely.Geometry = shapely.Polygon(ring)
    if multi:
        other = shapely.MultiPolygon([other])
    # a Polygon has the key of the single-part MultiPolygon it is stored as
    a, b = geometry_keys(np.array([poly, other], dtype=object))
    assert a is not None and a == b
    assert geometry_keys(promote_to_multi(np.array([poly, other], dtype=object))) == [a, b]


@settings(max_examples=30, deadline=None)
@given(poly=star_polygons(), dx=st.floats(1e-6, 1e-3))
def test_geometry_key_differs_for_a_different_shape(poly: shapely.Polygon, dx: float) -> None:
    moved = shapely.affinity.translate(poly, dx, 0)
    a, b = geometry_keys(promote_to_multi(np.array([poly, moved], dtype=object)))
    assert a != b


def test_geometry_key_tells_one_part_from_two() -> None:
    one = shapely.MultiPolygon([polygon(0)])
    two = shapely.MultiPolygon([polygon(0), polygon(1)])
    a, b, c = geometry_keys(np.array([polygon(0), one, two], dtype=object))
    assert a == b != c


def test_geometry_key_of_a_missing_geometry_is_none() -> None:
    keys = geometry_keys(np.array([None, polygon(0)], dtype=object))
    assert keys[0] is None and keys[1] is not None


# -- overlaps --------------------------------------------------------------------------


def _square(x: float, y: float, side: float = 0.01) -> shapely.Polygon:
    return shapely.box(x, y, x + side, y + side)


def test_overlapping_areas_are_found_once_with_the_overlap_in_m2() -> None:
    x, y = KYIV
    a = _square(x, y)
    b = _square(x + 0.005, y)  # half of a
    touching = _square(x + 0.01, y + 0.02)  # shares an edge with nothing it overlaps
    next_to = _square(x + 0.02, y + 0.02)  # shares an edge with `touching`
    inside = _square(x + 0.002, y + 0.002, 0.001)  # within a (and b does not reach it)
    geoms = np.array([a, b, touching, next_to, inside, None], dtype=object)
    found = overlaps(geoms, UA)
    assert [(o.row, o.other, o.stored) for o in found] == [(1, 0, False), (4, 0, False)]
    half = area_m2(np.array([a]), UA)[0] / 2
    assert found[0].m2 == pytest.approx(half, rel=1e-3)
    assert found[0].share == pytest.approx(0.5, rel=1e-3)
    assert found[1].share == pytest.approx(1.0)


def test_overlaps_with_stored_areas_name_the_stored_one() -> None:
    x, y = KHARKIV
    stored = np.array([_square(x, y), _square(x + 1, y)], dtype=object)
    batch = np.array([_square(x + 1.005, y), _square(x + 2, y)], dtype=object)
    found = overlaps(batch, UA, stored)
    assert [(o.row, o.other, o.stored) for o in found] == [(0, 1, True)]


def test_a_sliver_below_the_minimum_is_not_an_overlap() -> None:
    x, y = KYIV
    a = _square(x, y)
    sliver = _square(x + 0.01 - 1e-9, y)  # about 0.08 m2 shared
    assert overlaps(np.array([a, sliver], dtype=object), UA) == []
    assert len(overlaps(np.array([a, sliver], dtype=object), UA, min_m2=0.01)) == 1


def test_usable_geometries_screen_what_the_checks_would_refuse_anyway() -> None:
    geoms = np.array(
        [polygon(0), None, shapely.Polygon(), shapely.Point(*KYIV), bow_tie()], dtype=object
    )
    usable = usable_geometries(geoms, "polygon")
    assert [g is not None for g in usable] == [True, False, False, False, True]
    assert usable[0] is geoms[0]  # the same objects, not copies
    # every row screened out is refused by the checks (a bow-tie passes the screen only)
    assert {p.row for p in check(geoms).problems} == {1, 2, 3, 4}
    points = usable_geometries(np.array([shapely.Point(*KYIV), polygon(0)], dtype=object), "point")
    assert [g is not None for g in points] == [True, False]


# -- Z and M values ----------------------------------------------------------------------


def _with_z(g: shapely.Geometry, z: float = 120.0) -> shapely.Geometry:
    with np.errstate(invalid="ignore"):  # some are given NaN coordinates
        return shapely.force_3d(g, z)


def test_z_and_m_values_are_dropped_with_a_warning_and_the_geometries_come_back_2d() -> None:
    square = shapely.box(30.5, 50.45, 30.51, 50.46)
    geoms = [
        _with_z(polygon(0)),  # 0: Polygon Z
        polygon(1),  # 1: 2D, no warning
        _with_z(shapely.MultiPolygon([polygon(2), polygon(3)])),  # 2: MultiPolygon Z
        shapely.from_wkt(
            f"POLYGON M (({', '.join(f'{x} {y} 7' for x, y in square.exterior.coords)}))"
        ),
        shapely.from_wkt(
            f"POLYGON ZM (({', '.join(f'{x + 0.1} {y} 1 2' for x, y in square.exterior.coords)}))"
        ),
    ]
    rep = check(geoms)
    assert rep.problems == []
    assert not shapely.has_z(rep.geometries).any()
    assert not shapely.has_m(rep.geometries).any()
    by_row = {p.row: p.message for p in rep.warnings}
    assert sorted(by_row) == [0, 2, 3, 4]
    assert by_row[0] == (
        "geometry has Z (height) values; they were dropped: the registry stores 2D geometries"
    )
    assert "M (measure)" in by_row[3] and "Z (height)" not in by_row[3]
    assert "Z (height) and M (measure)" in by_row[4]
    for given_, got in zip(geoms, rep.geometries, strict=True):
        assert shapely.equals(shapely.force_2d(given_), got)
    assert rep.geometries[1] is geoms[1]  # a 2D geometry is left as it was


def test_a_point_z_is_stored_as_a_2d_point() -> None:
    rep = check([shapely.Point(*KYIV, 150.0)], "point")
    assert rep.problems == [] and len(rep.warnings) == 1
    assert "Z (height)" in rep.warnings[0].message
    assert not rep.geometries[0].has_z and rep.geometries[0].equals(shapely.Point(*KYIV))


def test_a_refused_3d_geometry_is_not_also_warned_of_and_a_repaired_one_is_2d() -> None:
    rep = check([_with_z(bow_tie())])
    assert [p.row for p in rep.problems] == [0] and rep.warnings == []
    fixed = check([_with_z(bow_tie())], repair=True)
    assert fixed.problems == [] and len(fixed.repairs) == 1
    assert not fixed.geometries[0].has_z
    assert [p.row for p in fixed.warnings] == [0]


def test_usable_geometries_are_2d_like_the_checked_ones() -> None:
    geoms = np.array([_with_z(polygon(0)), polygon(1), None], dtype=object)
    usable = usable_geometries(geoms, "polygon")
    assert not shapely.has_z(usable[:2]).any()
    assert usable[0].equals(shapely.force_2d(geoms[0])) and usable[1] is geoms[1]
    points = usable_geometries(np.array([shapely.Point(*KYIV, 3.0)], dtype=object), "point")
    assert not points[0].has_z


def test_a_3d_geometry_has_the_key_and_area_of_its_2d_form() -> None:
    flat = np.array([polygon(0), shapely.MultiPolygon([polygon(1)])], dtype=object)
    lifted = np.array([_with_z(g, 99.0) for g in flat], dtype=object)
    assert geometry_keys(lifted) == geometry_keys(flat)
    assert geometry_keys(promote_to_multi(lifted)) == geometry_keys(flat)
    np.testing.assert_allclose(area_m2(lifted, UA), area_m2(flat, UA))


# -- coordinates that are not finite numbers ----------------------------------------------


def warnings_as_errors() -> warnings.catch_warnings:  # type: ignore[type-arg]
    """A context in which a RuntimeWarning (NaN reaching numpy or GEOS) fails the test."""
    return warnings.catch_warnings(action="error")


def _with_vertex(g: shapely.Polygon, k: int, x: float | None, y: float | None) -> shapely.Polygon:
    """Return `g` with its k-th vertex (1-based) given a new x and/or y."""
    ring = [list(c) for c in g.exterior.coords]
    if x is not None:
        ring[k - 1][0] = x
    if y is not None:
        ring[k - 1][1] = y
    with np.errstate(invalid="ignore"):
        return shapely.polygons(ring)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("axis", ["x", "y"])
@pytest.mark.parametrize("repair", [False, True])
def test_a_non_finite_coordinate_is_refused_at_its_vertex_and_never_repaired(
    bad: float, axis: str, repair: bool
) -> None:
    given_ = polygon(4)
    good = list(given_.exterior.coords)[2]  # vertex 3
    broken = _with_vertex(given_, 3, *((bad, None) if axis == "x" else (None, bad)))
    with warnings_as_errors():
        rep = check([polygon(0), broken, polygon(1)], repair=repair)
    assert [p.row for p in rep.problems] == [1] and rep.repairs == [] and rep.warnings == []
    msg = rep.problems[0].message
    text = f"{bad:.5f}"  # nan, inf, -inf
    other = f"lat {good[1]:.5f}" if axis == "x" else f"lon {good[0]:.5f}"
    assert msg.startswith("vertex 3 has a coordinate that is not a finite number (")
    assert f"{'lon' if axis == 'x' else 'lat'} {text}" in msg and other in msg
    assert msg.endswith("; fix the coordinate in the source file")
    assert "--repair" not in msg and "CRS" not in msg


def test_non_finite_vertices_are_counted_through_parts_and_rings() -> None:
    first, second = polygon(0), polygon(1)
    n_first = len(first.exterior.coords)  # every vertex as listed, closing one included
    broken = shapely.MultiPolygon([first, _with_vertex(second, 2, float("nan"), None)])
    hole = shapely.Polygon(
        shapely.box(30.5, 50.45, 30.52, 50.47).exterior.coords,
        [[(30.505, 50.455), (30.51, float("inf")), (30.51, 50.46), (30.505, 50.455)]],
    )
    twice = _with_vertex(_with_vertex(polygon(2), 2, float("nan"), None), 4, None, float("nan"))
    with warnings_as_errors():
        rep = check([broken, hole, twice])
    msgs = {p.row: p.message for p in rep.problems}
    assert msgs[0].startswith(f"vertex {n_first + 2} has")
    assert msgs[1].startswith("vertex 7 has")  # 5 of the shell, then the hole's second
    assert msgs[2].startswith("vertex 2 has") and "and 1 more vertex(es) too" in msgs[2]


def test_a_point_with_a_non_finite_coordinate_is_refused() -> None:
    with warnings_as_errors():
        rep = check([shapely.Point(KYIV[0], float("nan")), shapely.Point(*KYIV)], "point")
    assert [p.row for p in rep.problems] == [0]
    assert rep.problems[0].message.startswith("the point has a coordinate that is not a finite")
    assert f"lon {KYIV[0]:.5f}, lat nan" in rep.problems[0].message


def test_usable_geometries_screen_out_non_finite_coordinates_nan_included() -> None:
    nan = _with_vertex(polygon(0), 3, float("nan"), None)
    inf = _with_vertex(polygon(1), 2, None, float("inf"))
    lifted_nan = _with_z(_with_vertex(polygon(2), 2, None, float("nan")))
    nan_z_only = shapely.from_wkt("POINT Z (30.5 50.45 NaN)")  # Z is dropped: usable
    with warnings_as_errors():
        usable = usable_geometries(
            np.array([nan, inf, lifted_nan, polygon(3)], dtype=object), "polygon"
        )
        points = usable_geometries(np.array([nan_z_only], dtype=object), "point")
    assert [g is not None for g in usable] == [False, False, False, True]
    assert points[0] is not None and not points[0].has_z


def test_measures_skip_non_finite_coordinates_without_failing() -> None:
    nan = _with_vertex(polygon(0), 3, float("nan"), None)
    inf = _with_vertex(shapely.box(*KYIV, KYIV[0] + 0.01, KYIV[1] + 0.01), 2, float("inf"), None)
    fine = shapely.box(*KYIV, KYIV[0] + 0.01, KYIV[1] + 0.01)
    geoms = np.array(
        [nan, inf, fine, shapely.box(KYIV[0] + 0.005, KYIV[1], KYIV[0] + 0.02, KYIV[1] + 0.01)],
        dtype=object,
    )
    with warnings_as_errors():
        assert vertex_jumps(geoms) == []
        areas = area_m2(geoms, UA)
        found = overlaps(geoms, UA, stored=geoms[:2])
    assert np.isnan(areas[:2]).all() and np.isfinite(areas[2:]).all()
    assert [(o.row, o.other, o.stored) for o in found] == [(3, 2, False)]
