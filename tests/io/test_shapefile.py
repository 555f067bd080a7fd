"""Shapefiles, plain and zipped: finding the parts, and the format's limits on export."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

from landrelease.domain.errors import InputFileError
from landrelease.io import read_features, write_features


def points() -> gpd.GeoDataFrame:
    """Return two points with a Cyrillic name column, in UTM zone 36N."""
    return gpd.GeoDataFrame(
        {"name": ["Ізюм", "Балаклія"], "n": [1, 2]},
        geometry=[shapely.Point(300000, 5540000), shapely.Point(310000, 5545000)],
        crs="EPSG:32636",
    )


def shapefile_parts(tmp_path: Path) -> Path:
    """Return a folder holding the parts of a Shapefile named hazards.*."""
    write_features(points(), tmp_path / "source.zip", layer="hazards")
    folder = tmp_path / "parts"
    with zipfile.ZipFile(tmp_path / "source.zip") as archive:
        archive.extractall(folder)
    return folder


def test_zip_with_the_shapefile_in_a_subfolder(tmp_path: Path) -> None:
    folder = shapefile_parts(tmp_path)
    path = tmp_path / "nested.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for part in folder.iterdir():
            archive.write(part, arcname=f"export/2024/{part.name}")
        archive.writestr("__MACOSX/export/._hazards.shp", b"junk")
    read = read_features(path)
    assert read["name"].tolist() == ["Ізюм", "Балаклія"]
    assert read.crs == "EPSG:32636"


def test_plain_shapefile_is_read(tmp_path: Path) -> None:
    read = read_features(shapefile_parts(tmp_path) / "hazards.shp")
    assert read["n"].tolist() == [1, 2]
    assert read.geometry[0].equals(shapely.Point(300000, 5540000))


def test_plain_shapefile_without_dbf_is_reported(tmp_path: Path) -> None:
    folder = shapefile_parts(tmp_path)
    (folder / "hazards.dbf").unlink()
    with pytest.raises(InputFileError, match=r"hazards\.shp: no hazards\.dbf beside it"):
        read_features(folder / "hazards.shp")


@pytest.mark.parametrize(
    ("left_out", "message"),
    [(".dbf", r"hazards\.shp has no \.dbf beside it"), (".shp+.dbf", r"holds no Shapefile")],
)
def test_zip_missing_parts_is_reported(tmp_path: Path, left_out: str, message: str) -> None:
    folder = shapefile_parts(tmp_path)
    path = tmp_path / "broken.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for part in folder.iterdir():
            if part.suffix not in left_out.split("+"):
                archive.write(part, arcname=part.name)
    with pytest.raises(InputFileError, match=rf"broken\.zip: .*{message}"):
        read_features(path)


def test_zip_with_several_shapefiles_needs_a_layer(tmp_path: Path) -> None:
    folder = shapefile_parts(tmp_path)
    path = tmp_path / "two.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for part in folder.iterdir():
            archive.write(part, arcname=f"a/{part.name}")
            archive.write(part, arcname=f"b/{part.stem}_copy{part.suffix}")
    with pytest.raises(InputFileError, match=r"several Shapefiles \(hazards, hazards_copy\)"):
        read_features(path)
    assert len(read_features(path, layer="hazards_copy")) == 2


def test_not_a_zip_is_reported(tmp_path: Path) -> None:
    (tmp_path / "fake.zip").write_text("hello")
    with pytest.raises(InputFileError, match=r"fake\.zip: not a readable zip file"):
        read_features(tmp_path / "fake.zip")


def test_field_names_colliding_once_cut_to_ten_bytes_are_refused(tmp_path: Path) -> None:
    features = points().assign(clearance_start="2024-01-01", clearance_end="2024-02-01")
    with pytest.raises(InputFileError, match=r"'clearance_start' and 'clearance_end' .*\.gpkg"):
        write_features(features, tmp_path / "long.zip")
    assert not any(tmp_path.iterdir())


def test_mixed_geometry_types_are_refused(tmp_path: Path) -> None:
    mixed = gpd.GeoDataFrame(
        {"n": [1, 2]}, geometry=[shapely.Point(0, 0), shapely.box(0, 0, 1, 1)], crs=4326
    )
    with pytest.raises(InputFileError, match=r"mixed\.zip: .*mix points, polygons"):
        write_features(mixed, tmp_path / "mixed.zip")


def test_zip_written_holds_the_parts_named_by_layer(tmp_path: Path) -> None:
    write_features(points(), tmp_path / "out.zip", layer="nts_points")
    with zipfile.ZipFile(tmp_path / "out.zip") as archive:
        names = sorted(archive.namelist())
    assert names == [f"nts_points.{ext}" for ext in ("cpg", "dbf", "prj", "shp", "shx")]


def test_crs_argument_applies_to_a_shapefile_without_prj(tmp_path: Path) -> None:
    folder = shapefile_parts(tmp_path)
    (folder / "hazards.prj").unlink()
    assert read_features(folder / "hazards.shp").crs is None
    assert read_features(folder / "hazards.shp", crs="EPSG:32636").crs == "EPSG:32636"


def cp1251_zip_without_cpg(tmp_path: Path) -> Path:
    """Return a zipped Shapefile whose .dbf is cp1251 with no .cpg, as Ukrainian GIS exports."""
    folder = tmp_path / "cp1251"
    folder.mkdir()
    features = gpd.GeoDataFrame(
        {"name": ["road", "Ізюм", "Балаклія"]},
        geometry=[shapely.Point(300000 + i, 5540000) for i in range(3)],
        crs="EPSG:32636",
    )
    pyogrio.write_dataframe(features, folder / "hazards.shp", encoding="cp1251")
    path = tmp_path / "hazards.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for part in folder.iterdir():
            if part.suffix != ".cpg":
                archive.write(part, arcname=part.name)
    return path


@pytest.mark.parametrize("arrow", [True, False], ids=["arrow", "rows"])
def test_a_cp1251_dbf_reads_with_its_encoding_named(
    tmp_path: Path, arrow: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("landrelease.io.ogr.USE_ARROW", arrow)
    path = cp1251_zip_without_cpg(tmp_path)
    assert read_features(path, encoding="cp1251")["name"].tolist() == ["road", "Ізюм", "Балаклія"]


def test_a_cp1251_dbf_without_cpg_names_the_row_and_the_encoding(tmp_path: Path) -> None:
    path = cp1251_zip_without_cpg(tmp_path)
    with pytest.raises(InputFileError) as caught:
        read_features(path)
    assert str(caught.value) == (
        f"{path}: row 2, column 'name': not UTF-8 text; it reads as Windows Cyrillic ('Ізюм'): "
        "import with --encoding cp1251"
    )
