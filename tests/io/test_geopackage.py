"""GeoPackage layers: which layer is read, its declared CRS, attribute tables."""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import struct
from pathlib import Path

import geopandas as gpd
import pyarrow as pa
import pyogrio
import pytest
import shapely

from landrelease.domain.errors import InputFileError
from landrelease.io import read_features, write_features


def web_mercator_hazards() -> gpd.GeoDataFrame:
    """Return two hazard polygons near Izium in EPSG:3857."""
    return gpd.GeoDataFrame(
        {"ref": ["HZ-1", "HZ-2"]},
        geometry=[shapely.box(4145000, 6300000, 4146000, 6301000), shapely.Point(4150000, 6310000)],
        crs="EPSG:3857",
    )


def test_the_declared_crs_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "mercator.gpkg"
    write_features(web_mercator_hazards(), path)
    read = read_features(path, crs="EPSG:4326")  # a declared CRS wins over the assumed one
    assert read.crs == "EPSG:3857"
    assert read.geometry[0].equals_exact(web_mercator_hazards().geometry[0], tolerance=0)


def test_layer_name_defaults_to_the_file_stem_and_can_be_chosen(tmp_path: Path) -> None:
    path = tmp_path / "survey.gpkg"
    write_features(web_mercator_hazards(), path)
    assert list(pyogrio.list_layers(path)[:, 0]) == ["survey"]
    write_features(web_mercator_hazards(), path, layer="hazard_areas")
    assert list(pyogrio.list_layers(path)[:, 0]) == ["hazard_areas"]
    assert len(read_features(path, layer="hazard_areas")) == 2


def test_first_layer_is_read_unless_one_is_named(tmp_path: Path) -> None:
    path = tmp_path / "two.gpkg"
    pyogrio.write_dataframe(web_mercator_hazards(), path, layer="areas")
    pyogrio.write_dataframe(web_mercator_hazards().iloc[:1], path, layer="one", append=True)
    assert len(read_features(path)) == 2
    assert len(read_features(path, layer="one")) == 1
    with pytest.raises(InputFileError, match=r"two\.gpkg: GeoPackage has no layer 'x'.*areas, one"):
        read_features(path, layer="x")


def test_not_a_geopackage_is_reported(tmp_path: Path) -> None:
    (tmp_path / "fake.gpkg").write_text("this is not SQLite")
    with pytest.raises(InputFileError, match=r"fake\.gpkg: cannot be read as GeoPackage"):
        read_features(tmp_path / "fake.gpkg")


@pytest.mark.parametrize("arrow", [True, False])
def test_date_fields_come_back_as_iso_text(
    tmp_path: Path, arrow: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "dated.gpkg"
    table = pa.table(
        {
            "reported": pa.array([dt.date(2024, 1, 2), None], pa.date32()),
            "geom": pa.array([shapely.Point(0, 0).wkb, None], pa.binary()),
        }
    )
    pyogrio.write_arrow(
        table, path, driver="GPKG", geometry_name="geom", geometry_type="Point", crs="EPSG:4326"
    )
    assert pyogrio.read_info(path)["ogr_types"] == ["OFTDate"]
    monkeypatch.setattr("landrelease.io.ogr.USE_ARROW", arrow)
    assert read_features(path)["reported"].tolist() == ["2024-01-02", None]


def test_a_plain_sqlite_database_is_not_called_a_geopackage(tmp_path: Path) -> None:
    path = tmp_path / "plain.gpkg"
    with contextlib.closing(sqlite3.connect(path)) as database:
        database.execute("CREATE TABLE hazards (ref TEXT, wkt TEXT)")
        database.commit()
    with pytest.raises(InputFileError) as caught:
        read_features(path)
    message = str(caught.value)
    assert message.startswith(
        f"{path}: is an SQLite database but not a GeoPackage (it has no gpkg_contents table); "
    )
    assert "\n" not in message


def many_hazards() -> gpd.GeoDataFrame:
    """Return 3,000 small squares, enough to fill many SQLite pages."""
    return gpd.GeoDataFrame(
        {"ref": [f"HZ-{i:05d}" for i in range(3000)]},
        geometry=[shapely.box(36 + i / 1e4, 49, 36.00005 + i / 1e4, 49.00005) for i in range(3000)],
        crs="EPSG:4326",
    )


@pytest.fixture(scope="module")
def whole_geopackage(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """Return the bytes of a valid GeoPackage of `many_hazards`."""
    path = tmp_path_factory.mktemp("whole") / "hazards.gpkg"
    write_features(many_hazards(), path)
    return path.read_bytes()


@pytest.mark.parametrize("kept", [0.1, 0.5, 0.6, 0.9, 0.999, 100, 99, 16])
def test_a_geopackage_cut_short_says_so(
    tmp_path: Path, whole_geopackage: bytes, kept: float, arrow: bool
) -> None:
    size = int(kept) if kept >= 1 else int(len(whole_geopackage) * kept)
    path = tmp_path / "cut.gpkg"
    path.write_bytes(whole_geopackage[:size])
    with pytest.raises(InputFileError) as caught:
        read_features(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: is damaged or cut short (")
    assert message.endswith("); copy or export the GeoPackage again")
    assert "sqlite3_" not in message and "\n" not in message


def test_a_damaged_page_is_not_read_as_fewer_features(
    tmp_path: Path, whole_geopackage: bytes, arrow: bool
) -> None:
    # Overwrite the page holding one feature's row: GDAL's Arrow reader would stop there
    # and hand over the rows before it as if they were all.
    page_size = int.from_bytes(whole_geopackage[16:18], "big")
    start = whole_geopackage.index(b"HZ-01500") // page_size * page_size
    damaged = bytearray(whole_geopackage)
    damaged[start : start + page_size] = b"\xff" * page_size
    path = tmp_path / "damaged.gpkg"
    path.write_bytes(bytes(damaged))
    with pytest.raises(InputFileError) as caught:
        read_features(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: is damaged or cut short (")
    assert "sqlite3_" not in message


def test_an_open_ring_in_a_geopackage_names_the_row(tmp_path: Path, arrow: bool) -> None:
    square = [(36.2, 49.9), (36.3, 49.9), (36.3, 50.0), (36.2, 50.0)]
    closed = polygon_wkb([*square, square[0]])
    path = tmp_path / "open.gpkg"
    table = pa.table(
        {"ref": ["A", "B"], "geom": pa.array([closed, polygon_wkb(square)], pa.binary())}
    )
    pyogrio.write_arrow(
        table, path, driver="GPKG", geometry_name="geom", geometry_type="Polygon", crs="EPSG:4326"
    )
    with pytest.raises(InputFileError, match=r"open\.gpkg: row 2: polygon ring 1 is not closed"):
        read_features(path)
    repaired = read_features(path, repair=True)
    assert repaired.geometry[1].equals_exact(shapely.Polygon(square), tolerance=0)
    assert [p.row for p in repaired.attrs["repairs"]] == [1]


def polygon_wkb(ring: list[tuple[float, float]]) -> bytes:
    """Return little-endian WKB of a polygon with one ring, taken as given (even if open)."""
    positions = b"".join(struct.pack("<dd", x, y) for x, y in ring)
    return struct.pack("<BIII", 1, 3, 1, len(ring)) + positions


@pytest.fixture(params=[True, False], ids=["arrow", "rows"])
def arrow(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Read through pyogrio's Arrow path, then through its row path."""
    monkeypatch.setattr("landrelease.io.ogr.USE_ARROW", request.param)
    return bool(request.param)
