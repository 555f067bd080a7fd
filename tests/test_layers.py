"""Reference layers: added from files, checked whole, kept as GeoPackage layers a GIS reads.

Every layer here is synthetic (generated in the test, and named or sourced so); the demo's
settlements are the real GeoNames places.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely

from conftest import ACTOR, NewRegistry, RunCli
from fixtures import KYIV, bow_tie, snapshot
from gdal_tools import validate_gpkg
from landrelease.domain.errors import NotFound, ValidationError
from landrelease.priority.inputs import LAYER_FIELDS, ReferenceLayer
from landrelease.registry import Registry

X, Y = KYIV
SOURCE = "synthetic test layer"


def frame(geoms: list[Any], crs: str = "EPSG:4326", **columns: list[Any]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=geoms, crs=crs)


def towns(n: int = 5) -> gpd.GeoDataFrame:
    """n synthetic settlements west of Kyiv, 1,000 people more each."""
    return frame(
        [shapely.Point(X + 0.01 * i, Y) for i in range(n)],
        Population=[1000 * (i + 1) for i in range(n)],
        name=[f"synthetic town {i}" for i in range(n)],
    )


def road(dx: float = 0.0) -> shapely.LineString:
    return shapely.LineString([(X + dx, Y), (X + dx + 0.01, Y + 0.01)])


def write(tmp_path: Path, gdf: gpd.GeoDataFrame, name: str = "layer.geojson") -> Path:
    path = tmp_path / name
    gdf.to_file(path)
    return path


def rows(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


# -- a layer as a GIS sees it ----------------------------------------------------------------


@pytest.mark.sqlite_only(reason="the GeoPackage file as GDAL reads it")
def test_a_layer_is_a_geopackage_layer_that_gdal_reads(
    reg: Registry, registry_path: Path, tmp_path: Path
) -> None:
    row = reg.add_layer("settlements", write(tmp_path, towns()), source=SOURCE, actor=ACTOR)
    assert row["name"] == "settlements" and row["table_name"] == "ref_settlements"
    assert row["features"] == 5 and row["geometry_type"] == "POINT"
    assert row["field_from"] == "Population" and row["warnings"] == []

    listed = dict(pyogrio.list_layers(registry_path))
    assert listed["ref_settlements"] == "Point"
    back = pyogrio.read_dataframe(registry_path, layer="ref_settlements")
    assert list(back["population"]) == [1000.0, 2000.0, 3000.0, 4000.0, 5000.0]
    assert list(back["name"]) == [f"synthetic town {i}" for i in range(5)]
    assert back.crs.to_epsg() == 4326
    assert back.geometry.geom_equals_exact(towns().geometry, tolerance=0).all()

    [(srs, minx, maxx)] = rows(
        registry_path,
        "SELECT srs_id, min_x, max_x FROM gpkg_contents WHERE table_name = 'ref_settlements'",
    )
    assert srs == 4326 and (minx, maxx) == pytest.approx((X, X + 0.04))
    assert rows(registry_path, "SELECT rtreecheck('rtree_ref_settlements_geom')") == [("ok",)]
    assert rows(registry_path, "SELECT count(*) FROM rtree_ref_settlements_geom") == [(5,)]
    assert rows(
        registry_path,
        "SELECT feature_count FROM gpkg_ogr_contents WHERE table_name = 'ref_settlements'",
    ) == [(5,)]


@pytest.mark.sqlite_only(reason="the GeoPackage file as GDAL reads it")
def test_the_registry_with_a_layer_of_each_kind_passes_validate_gpkg(
    reg: Registry, registry_path: Path
) -> None:
    square = shapely.box(X, Y, X + 0.01, Y + 0.01)
    reg.add_layer("settlements", towns(), actor=ACTOR)
    reg.add_layer("buildings", frame([square, square.buffer(0.001)]), actor=ACTOR)
    reg.add_layer("roads", frame([road(), road(0.02)], highway=["primary", "track"]), actor=ACTOR)
    reg.add_layer("landuse", frame([square], landuse=["farmland"]), actor=ACTOR)
    reg.add_layer(
        "facilities",
        frame([shapely.MultiPoint([(X, Y), (X + 0.01, Y)])], amenity=["school"]),
        actor=ACTOR,
    )
    reg.close()
    for table in ("settlements", "buildings", "roads", "landuse", "facilities"):
        check = f"SELECT rtreecheck('rtree_ref_{table}_geom')"
        assert rows(registry_path, check) == [("ok",)]
    run = validate_gpkg(registry_path, extra=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_a_layer_in_another_crs_is_reprojected(reg: Registry, tmp_path: Path) -> None:
    utm = towns().to_crs("EPSG:32636")
    reg.add_layer("settlements", write(tmp_path, utm), actor=ACTOR)
    geoms, _ = _read(reg, "settlements")
    assert shapely.get_x(geoms) == pytest.approx([X + 0.01 * i for i in range(5)], abs=1e-9)
    assert shapely.get_y(geoms) == pytest.approx([Y] * 5, abs=1e-9)


def _read(reg: Registry, name: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    with reg.store.unit_of_work() as uow:
        return uow.layers.read(name)


def test_the_list_says_kind_name_count_source_and_who_added_it_when(
    reg: Registry, tmp_path: Path
) -> None:
    path = write(tmp_path, frame([road()], **{"class": ["primary"]}))
    reg.add_layer("roads", path, name="roads-main", actor=ACTOR)
    reg.add_layer("settlements", towns(), source=SOURCE, actor="someone")
    listed = reg.layers()
    assert [(r["kind"], r["name"], r["features"]) for r in listed] == [
        ("roads", "roads-main", 1),
        ("settlements", "settlements", 5),
    ]
    assert listed[0]["source"] == str(path) and listed[1]["source"] == SOURCE
    assert [r["added_by"] for r in listed] == [ACTOR, "someone"]
    assert all(r["added_at"].endswith("Z") for r in listed)


# -- content hash ----------------------------------------------------------------------------


def test_the_content_hash_is_stable_and_follows_the_content(reg: Registry, tmp_path: Path) -> None:
    path = write(tmp_path, towns())
    first = reg.add_layer("settlements", path, actor=ACTOR)["content_sha256"]
    reg.remove_layer("settlements", actor=ACTOR)
    assert reg.add_layer("settlements", path, actor=ACTOR)["content_sha256"] == first
    # the same content under another name or source is the same content
    assert (
        reg.add_layer("settlements", path, name="again", source="x", actor=ACTOR)["content_sha256"]
        == first
    )
    changed = towns()
    changed.loc[2, "Population"] = 3001
    assert (
        reg.add_layer("settlements", changed, name="changed", actor=ACTOR)["content_sha256"]
        != first
    )
    moved = towns()
    moved.geometry = moved.geometry.translate(1e-7)
    assert reg.add_layer("settlements", moved, name="moved", actor=ACTOR)["content_sha256"] != first


# -- removing ----------------------------------------------------------------------------------


@pytest.mark.sqlite_only(reason="the layer's gpkg_contents row, through sqlite3")
def test_removing_a_layer_leaves_the_file_as_it_was(
    reg: Registry, registry_path: Path, tmp_path: Path
) -> None:
    before = snapshot(registry_path)
    reg.add_layer("roads", frame([road()], highway=["primary"]), actor=ACTOR)
    # (not GDAL here: its own SQLite in this process would trip the snapshot's, not ours)
    assert rows(
        registry_path, "SELECT count(*) FROM gpkg_contents WHERE table_name = 'ref_roads'"
    ) == [(1,)]
    removed = reg.remove_layer("roads", actor=ACTOR)
    assert removed["name"] == "roads" and removed["removed_by"] == ACTOR
    assert reg.layers() == []
    assert snapshot(registry_path) == before
    with pytest.raises(NotFound, match="layers list"):
        reg.remove_layer("roads", actor=ACTOR)


# -- refusals: the field named, nothing written ------------------------------------------------


def _refused(reg: Registry, path: Path, kind: str, source: Any, **kw: Any) -> ValidationError:
    before = snapshot(path)
    with pytest.raises(ValidationError) as err:
        reg.add_layer(kind, source, actor=ACTOR, **kw)
    assert snapshot(path) == before
    return err.value


def test_a_layer_of_the_wrong_geometry_type_is_refused(reg: Registry, registry_path: Path) -> None:
    err = _refused(
        reg,
        registry_path,
        "roads",
        frame([road(), shapely.Point(X, Y)], highway=["primary", "primary"]),
    )
    assert err.field == "geometry" and "row 2 is a Point" in err.message
    err = _refused(reg, registry_path, "landuse", frame([road()], landuse=["farmland"]))
    assert err.field == "geometry" and "polygons" in err.message
    mixed = frame([shapely.Point(X, Y), shapely.box(X, Y, X + 0.01, Y + 0.01)], pop=[1, 2])
    err = _refused(reg, registry_path, "settlements", mixed)
    assert err.field == "geometry" and "not both" in err.message


def test_settlements_without_a_population_are_refused(reg: Registry, registry_path: Path) -> None:
    err = _refused(reg, registry_path, "settlements", towns().drop(columns="Population"))
    assert err.field == "population"
    assert "population, pop, pop_total" in err.message and "the file has name" in err.message
    bad = towns()
    bad["Population"] = bad["Population"].astype(object)
    bad.loc[1, "Population"] = None
    bad.loc[3, "Population"] = -5
    err = _refused(reg, registry_path, "settlements", bad)
    assert err.field == "Population" and "rows 2, 4" in err.message


def test_unknown_road_classes_are_refused_and_listed(
    reg: Registry, registry_path: Path, tmp_path: Path
) -> None:
    gdf = frame(
        [road(i * 0.01) for i in range(5)],
        highway=["primary", "construction", "proposed", "construction", "footway"],
    )
    err = _refused(reg, registry_path, "roads", write(tmp_path, gdf))
    assert err.field == "highway"
    assert "construction (2 features), proposed (1 feature)" in err.message
    assert "footway" not in err.message.split(";")[0]  # footway is a path
    err = _refused(reg, registry_path, "roads", frame([road()], name=["x"]))
    assert err.field == "class" and "one named class, highway (any case)" in err.message


def test_an_empty_file_a_bad_name_or_a_taken_one_is_refused(
    reg: Registry, registry_path: Path, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.geojson"
    empty.write_text('{"type": "FeatureCollection", "features": []}')
    err = _refused(reg, registry_path, "buildings", empty)
    assert err.field == "geometry" and "no feature" in err.message
    no_geometry = frame([None, None], pop=[1, 2])
    assert _refused(reg, registry_path, "settlements", no_geometry).field == "geometry"

    assert _refused(reg, registry_path, "roads", frame([road()]), name="Roads!").field == "name"
    assert _refused(reg, registry_path, "parks", frame([road()])).field == "kind"
    reg.add_layer("buildings", frame([shapely.Point(X, Y)]), actor=ACTOR)
    err = _refused(reg, registry_path, "settlements", towns(), name="buildings")
    assert err.field == "name" and "layers remove buildings" in err.message
    # '-' and '_' would name the same table
    reg.add_layer("roads", frame([road()], highway=["track"]), name="a-b", actor=ACTOR)
    err = _refused(reg, registry_path, "roads", frame([road()], highway=["track"]), name="a_b")
    assert err.field == "name" and "ref_a_b" in err.message


def test_the_store_writes_a_layer_in_one_unit_of_work(reg: Registry, registry_path: Path) -> None:
    before = snapshot(registry_path)
    with pytest.raises(RuntimeError, match="power cut"):  # noqa: PT012
        with reg.store.unit_of_work(write=True) as uow:
            uow.layers.add(
                "roads",
                "roads",
                "LINESTRING",
                np.array([road()], dtype=object),
                {"class": np.array(["track"], dtype=object)},
                SOURCE,
                "0" * 64,
                "2024-05-01T00:00:00.000Z",
                ACTOR,
            )
            assert uow.layers.get("roads") is not None
            raise RuntimeError("power cut")
    assert snapshot(registry_path) == before


# -- normalising -------------------------------------------------------------------------------


def test_osm_tags_are_mapped_onto_our_classes(reg: Registry) -> None:
    reg.add_layer(
        "roads",
        frame(
            [road(), shapely.MultiLineString([[(X, Y), (X, Y + 0.01)]])],
            highway=["primary_link", "Unclassified"],
        ),
        actor=ACTOR,
    )
    square = shapely.box(X, Y, X + 0.01, Y + 0.01)
    reg.add_layer(
        "landuse", frame([square] * 3, landuse=["farmland", "cemetery", None]), actor=ACTOR
    )
    reg.add_layer(
        "facilities",
        frame([shapely.Point(X, Y)] * 3, AMENITY=["doctors", "drinking_water", "bench"]),
        actor=ACTOR,
    )
    layers = reg.reference_layers()
    assert list(layers["roads"].values["class"]) == ["primary", "residential"]
    assert shapely.get_type_id(layers["roads"].geometry).tolist() == [5, 5]  # one type
    assert list(layers["landuse"].values["class"]) == ["farmland", "other", "other"]
    assert list(layers["facilities"].values["kind"]) == ["clinic", "water_point", "other"]


def test_our_own_class_field_is_strict(reg: Registry, registry_path: Path) -> None:
    square = shapely.box(X, Y, X + 0.01, Y + 0.01)
    err = _refused(reg, registry_path, "landuse", frame([square], **{"class": ["cemetery"]}))
    assert err.field == "class" and "cemetery (1 feature)" in err.message
    err = _refused(reg, registry_path, "facilities", frame([shapely.Point(X, Y)], kind=["bench"]))
    assert err.field == "kind"


def test_invalid_polygons_are_made_valid_and_z_is_dropped(reg: Registry) -> None:
    tie = bow_tie()
    cube = shapely.Polygon([(X, Y, 5), (X + 0.01, Y, 5), (X + 0.01, Y + 0.01, 5), (X, Y, 5)])
    row = reg.add_layer("landuse", frame([tie, cube], landuse=["farmland", "forest"]), actor=ACTOR)
    assert row["repaired"] == 1 and "1 invalid polygon(s) made valid" in row["warnings"]
    geoms, columns = _read(reg, "landuse")
    assert shapely.is_valid(geoms).all() and not shapely.has_z(geoms).any()
    assert shapely.area(geoms[0]) == pytest.approx(shapely.area(shapely.make_valid(tie)))
    assert list(columns["class"]) == ["farmland", "forest"]


def test_features_without_geometry_and_outside_the_country_are_reported(reg: Registry) -> None:
    gdf = frame([shapely.Point(X, Y), None, shapely.Point(0, 0)], pop=[1, 2, 3])
    row = reg.add_layer("settlements", gdf, actor=ACTOR)
    assert row["features"] == 2 and row["skipped"] == 1
    assert any("outside the country" in w for w in row["warnings"])
    assert list(_read(reg, "settlements")[1]["population"]) == [1.0, 3.0]


# -- what the engine reads ---------------------------------------------------------------------


def test_reference_layers_give_each_kind_as_one_layer(reg: Registry) -> None:
    reg.add_layer("roads", frame([road()], highway=["primary"]), name="roads-a", actor=ACTOR)
    reg.add_layer(
        "roads",
        frame([road(0.1), road(0.2)], highway=["track", "path"]),
        name="roads-b",
        actor=ACTOR,
    )
    reg.add_layer("settlements", towns(2), actor=ACTOR)
    layers = reg.reference_layers()
    assert set(layers) == set(LAYER_FIELDS)
    assert layers["buildings"] is None and layers["landuse"] is None
    roads = layers["roads"]
    assert isinstance(roads, ReferenceLayer) and roads.kind == "roads" and len(roads) == 3
    assert list(roads.values["class"]) == ["primary", "track", "path"]
    people = layers["settlements"]
    assert people.values["population"].dtype == np.float64
    assert list(people.values["population"]) == [1000.0, 2000.0]
    assert list(people.values["name"]) == ["synthetic town 0", "synthetic town 1"]


# -- the command line --------------------------------------------------------------------------


def test_layers_commands_add_list_and_remove(
    run_cli: RunCli, registry_path: Path, tmp_path: Path
) -> None:
    import json

    path = write(tmp_path, frame([road()], highway=["primary"]))
    db = ["--db", str(registry_path)]
    code, out, err = run_cli(["layers", "add", "roads", path, *db, "--source", SOURCE])
    assert code == 0, err
    assert "Added roads layer roads: 1 feature(s)" in out
    code, out, _ = run_cli(["layers", "list", *db, "--json"])
    assert code == 0
    [listed] = json.loads(out)
    assert listed["kind"] == "roads" and listed["source"] == SOURCE and listed["features"] == 1
    code, out, _ = run_cli(["layers", "list", *db])
    assert code == 0 and "roads" in out and SOURCE in out
    code, out, _ = run_cli(["layers", "remove", "roads", *db])
    assert code == 0 and "Removed roads layer roads" in out


def test_a_bad_layer_exits_2_naming_the_field(
    run_cli: RunCli, registry_path: Path, tmp_path: Path
) -> None:
    path = write(tmp_path, frame([road()], highway=["proposed"]))
    before = snapshot(registry_path)
    code, _, err = run_cli(["layers", "add", "roads", path, "--db", registry_path])
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("error: roads: highway: unknown road classes: proposed")
    code, _, err = run_cli(["layers", "add", "settlements", path, "--db", registry_path])
    assert code == 2 and "settlements: geometry:" in err
    assert snapshot(registry_path) == before
    code, _, err = run_cli(["layers", "remove", "nothing", "--db", registry_path])
    assert code == 2 and "no reference layer named 'nothing'" in err


@pytest.mark.sqlite_only(reason="an older registry file is upgraded")
def test_an_older_registry_gets_the_tables_when_opened(tmp_path: Path) -> None:
    import shutil

    path = tmp_path / "old.gpkg"
    shutil.copyfile(Path(__file__).with_name("data") / "registry-0002.gpkg", path)
    with Registry.open(path) as reg:
        assert reg.layers() == []
        reg.add_layer("settlements", towns(), actor=ACTOR)
        assert reg.reference_layers()["settlements"] is not None


# -- the demo's layers -------------------------------------------------------------------------


def test_the_demo_adds_real_settlements_and_synthetic_layers(new_registry: NewRegistry) -> None:
    from landrelease.demo import build_demo

    path = new_registry("demo")
    summary = build_demo(path, areas=6)
    assert summary["layers"]["settlements-geonames"] == 5488  # Ukraine's places of 500+
    with Registry.open(path) as reg:
        listed = {r["name"]: r for r in reg.layers()}
        layers = reg.reference_layers()
    assert set(listed) == set(summary["layers"])
    assert "GeoNames" in listed["settlements-geonames"]["source"]
    for name, row in listed.items():
        assert row["added_by"] == "synthetic-demo"
        if name != "settlements-geonames":
            assert name.startswith("synthetic-") and row["source"].startswith("synthetic demo")
    assert {k for k, v in layers.items() if v is not None} == set(LAYER_FIELDS)
    people = layers["settlements"].values["population"]
    assert people.min() >= 0 and (people >= 500).mean() > 0.9  # 0: GeoNames gives none
    # the generated land is where the hazard areas are: some farmland touches some area
    with Registry.open(path) as reg:
        areas = reg.hazards().geometry.values
    land = layers["landuse"]
    farmland = land.geometry[land.values["class"] == "farmland"]
    assert shapely.STRtree(farmland).query(areas, predicate="intersects").size
