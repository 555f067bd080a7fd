"""GeoPackage layers: which layer is read, its declared CRS, attribute tables."""

from __future__ import annotations

import datetime as dt
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
