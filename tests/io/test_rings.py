"""Finding polygon rings that do not end where they start, in WKB and in WKT."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from landrelease.domain.errors import InputFileError
from landrelease.io import read_features, write_features
from landrelease.io.rings import unclosed_rings_in_wkb, unclosed_rings_in_wkt

Position = tuple[float, float]

SQUARE = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.0, 0.0)]
OPEN = SQUARE[:-1]


def polygon_wkb(rings: list[list[Position]], *, order: str = "<", z: bool = False) -> bytes:
    """Return ISO WKB of a polygon with `rings` taken as given, optionally with Z values."""
    code = 1003 if z else 3
    body = struct.pack(order + "I", len(rings))
    for ring in rings:
        body += struct.pack(order + "I", len(ring))
        for x, y in ring:
            body += struct.pack(order + ("ddd" if z else "dd"), x, y, *([7.0] if z else []))
    return struct.pack("B", order == "<") + struct.pack(order + "I", code) + body


def collection_wkb(code: int, parts: list[bytes]) -> bytes:
    """Return little-endian WKB of a multi-geometry or collection (`code`) of `parts`."""
    return struct.pack("<BII", 1, code, len(parts)) + b"".join(parts)


def test_a_closed_polygon_has_no_open_rings() -> None:
    assert unclosed_rings_in_wkb(shapely.to_wkb(shapely.Polygon(SQUARE))) == ([], [])


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("z", [False, True])
def test_an_open_hole_is_named_in_any_byte_order_and_dimension(order: str, z: bool) -> None:
    assert unclosed_rings_in_wkb(polygon_wkb([SQUARE, OPEN], order=order, z=z)).closable == [
        "polygon ring 2"
    ]


def test_parts_of_multipolygons_and_collections_are_numbered_in_order() -> None:
    point = shapely.to_wkb(shapely.Point(5, 5))
    line = shapely.to_wkb(shapely.LineString([(0, 0), (1, 1)]))
    wkb = collection_wkb(
        7,
        [
            point,
            line,
            polygon_wkb([SQUARE]),
            collection_wkb(6, [polygon_wkb([SQUARE]), polygon_wkb([SQUARE, SQUARE, OPEN])]),
        ],
    )
    assert unclosed_rings_in_wkb(wkb) == (["ring 3 of polygon 3"], [])


def test_extended_wkb_with_an_srid_is_walked() -> None:
    with_srid = shapely.set_srid(shapely.Polygon(SQUARE), 4326)
    ewkb = shapely.to_wkb(with_srid, flavor="extended", include_srid=True)
    assert unclosed_rings_in_wkb(ewkb) == ([], [])
    # the last position of the ring is the file's last 16 bytes
    opened = ewkb[:-16] + struct.pack("<dd", 0.5, 0.5)
    assert unclosed_rings_in_wkb(opened) == (["polygon ring 1"], [])


@pytest.mark.parametrize("wkb", [b"", b"\x01\x03\x00", b"\x01\x0a\x00\x00\x00\x00\x00\x00\x00"])
def test_bytes_that_cannot_be_walked_name_no_ring(wkb: bytes) -> None:
    assert unclosed_rings_in_wkb(wkb) == ([], [])


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_a_ring_ending_at_no_number_cannot_be_closed(value: float) -> None:
    found = unclosed_rings_in_wkb(polygon_wkb([SQUARE, [*OPEN, (value, 0.0)]]))
    assert found == ([], ["polygon ring 2"])
    assert not found.mendable
    assert found.refusal() == (
        "polygon ring 2 starts or ends at a position that is not a number (NaN or infinite); "
        "correct it in the source file"
    )


coordinate = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
rings = st.lists(st.tuples(coordinate, coordinate), min_size=3, max_size=8)


@given(st.lists(st.tuples(rings, st.booleans()), min_size=1, max_size=4))
def test_exactly_the_rings_left_open_are_named(shape: list[tuple[list[Position], bool]]) -> None:
    built = []
    expected = []
    for number, (ring, close) in enumerate(shape, start=1):
        if close or ring[0] == ring[-1]:
            built.append([*ring, ring[0]])
        else:
            built.append(ring)
            expected.append(f"polygon ring {number}")
    assert unclosed_rings_in_wkb(polygon_wkb(built)) == (expected, [])
    wkt = (
        "POLYGON ("
        + ", ".join("(" + ", ".join(f"{x!r} {y!r}" for x, y in ring) + ")" for ring in built)
        + ")"
    )
    assert unclosed_rings_in_wkt(wkt) == (expected, [])


@pytest.mark.parametrize(
    ("wkt", "names"),
    [
        ("POLYGON ((0 0, 1 0, 1 1, 0 0))", []),
        ("POLYGON Z ((0 0 1, 1 0 1, 1 1 1, 0 0 2))", []),  # closed in x and y, as GEOS asks
        ("polygon((0 0,1 0,1 1,0.5 0.5))", ["polygon ring 1"]),
        (
            "SRID=4326;POLYGON ((0 0, 1 0, 1 1, 0 0), (0.1 0.1, 0.2 0.1, 0.2 0.2))",
            ["polygon ring 2"],
        ),
        (
            "MULTIPOLYGON (((0 0, 1 0, 1 1, 0 0)), ((5 5, 6 5, 6 6)), ((7 7, 8 7, 8 8)))",
            ["ring 1 of polygon 2", "ring 1 of polygon 3"],
        ),
        ("POLYGON EMPTY", []),
        ("LINESTRING (0 0, 1 1)", []),
        ("POLYGON ((a b, c d))", []),
    ],
)
def test_open_rings_in_wkt(wkt: str, names: list[str]) -> None:
    assert unclosed_rings_in_wkt(wkt) == (names, [])


def test_a_wkt_ring_ending_at_nan_is_no_number() -> None:
    assert unclosed_rings_in_wkt("POLYGON ((0 0, 1 0, 1 1, NaN 0))") == ([], ["polygon ring 1"])


@pytest.mark.parametrize("extension", [".csv", ".xlsx"])
def test_an_open_ring_in_a_wkt_cell_names_the_row_or_is_closed_on_repair(
    tmp_path: Path, extension: str
) -> None:
    table = pd.DataFrame(
        {
            "ref": ["A", "B", "C"],
            "wkt": [
                "POLYGON ((0 0, 1 0, 1 1, 0 0))",
                "POLYGON ((0 0, 1 0, 1 1, 0.5 0.5))",
                "MULTIPOLYGON (((0 0, 1 0, 1 1, 0 0)), ((5 5, 6 5, 6 6)))",
            ],
        }
    )
    path = tmp_path / f"open{extension}"
    write_features(gpd.GeoDataFrame(table), path)
    with pytest.raises(InputFileError) as caught:
        read_features(path)
    assert str(caught.value) == (
        f"{path}: row 2, column 'wkt': polygon ring 1 is not closed (its last position differs "
        "from its first) (also open: 1 more row(s)); close them, or import with --repair"
    )
    read = read_features(path, repair=True)
    assert read.geometry[1].equals_exact(
        shapely.Polygon([(0, 0), (1, 0), (1, 1), (0.5, 0.5)]), tolerance=0
    )
    assert [(p.row, p.message) for p in read.attrs["repairs"]] == [
        (1, "repaired: polygon ring 1 was not closed; closed by repeating the first position"),
        (2, "repaired: ring 1 of polygon 2 was not closed; closed by repeating the first position"),
    ]
