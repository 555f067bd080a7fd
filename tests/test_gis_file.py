"""The registry file as a GIS officer opens it: counts, styles, relations, code lists, validity.

Each check reads the file with other software than the store: sqlite3 (as QGIS writes),
GDAL's ogrinfo and validate_gpkg.py, GDAL's Python bindings; those that GDAL must judge skip
where GDAL is not installed (tests/gdal_tools.py says which package to install).
"""

from __future__ import annotations

import contextlib
import importlib.util
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import geopandas as gpd
import pyogrio
import pytest
import shapely

from fixtures import KHARKIV, hazard, polygon, snapshot, write_geojson
from gdal_tools import gdal_version, ogrinfo, osgeo, validate_gpkg
from landrelease.domain.records import HAZARDS, KINDS
from landrelease.registry import Registry
from landrelease.store import geopackage as gpkg
from landrelease.store import gis
from landrelease.store.sqlite import MIGRATIONS

pytestmark = pytest.mark.sqlite_only(reason="the GeoPackage file as GDAL and QGIS open it")

FIXTURE_0002 = Path(__file__).with_name("data") / "registry-0002.gpkg"


@contextlib.contextmanager
def plain(path: Path) -> Iterator[sqlite3.Connection]:
    """Yield a plain sqlite3 connection, as QGIS and GDAL have: the GeoPackage functions only."""
    conn = sqlite3.connect(path, isolation_level=None)
    gpkg.register_functions(conn)
    try:
        yield conn
    finally:
        conn.close()


def rows(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with plain(path) as conn:
        return conn.execute(sql, params).fetchall()


def layers(path: Path) -> list[str]:
    return [
        r[0]
        for r in rows(
            path,
            "SELECT table_name FROM gpkg_contents WHERE data_type IN ('features', 'attributes')",
        )
    ]


def assert_counts_true(path: Path) -> None:
    kept = dict(rows(path, "SELECT table_name, feature_count FROM gpkg_ogr_contents"))
    actual = {t: rows(path, f'SELECT count(*) FROM "{t}"')[0][0] for t in layers(path)}
    assert kept == actual


def add_item_as_qgis_does(path: Path, area_ref: str, category: str = "uxo") -> int:
    """Insert an item with plain SQL, as QGIS does when a point is drawn; return its fid."""
    blob = gpkg.encode([shapely.Point(KHARKIV)])[0]
    with plain(path) as conn:
        cur = conn.execute(
            "INSERT INTO items (geom, area_ref, category, state, found_on) VALUES (?, ?, ?, ?, ?)",
            (blob, area_ref, category, "live", "2024-05-01"),
        )
        return int(cur.lastrowid or 0)


@pytest.fixture
def busy_registry(registry_path: Path, refs: dict[str, str]) -> Path:
    """The template with one record of every kind per area and 60 more areas (a bulk write)."""
    with Registry.open(registry_path) as reg:
        reg.add_records("hazards", [hazard(100 + i) for i in range(60)], actor="t")
        for area in refs.values():
            reg.add_records(
                "activities",
                [{"area_ref": area, "activity_type": "nts", "geometry": polygon(7)}],
                actor="t",
            )
            reg.add_records(
                "accidents",
                [
                    {
                        "area_ref": area,
                        "occurred_on": "2023-06-01",
                        "geometry": shapely.Point(KHARKIV),
                    }
                ],
                actor="t",
            )
    return registry_path


# -- feature counts ---------------------------------------------------------------------------


def test_every_layer_is_counted_by_gdals_triggers(busy_registry: Path) -> None:
    names = {r[0] for r in rows(busy_registry, "SELECT name FROM sqlite_master")}
    for table in layers(busy_registry):
        assert f"trigger_insert_feature_count_{table}" in names
        assert f"trigger_delete_feature_count_{table}" in names
    assert_counts_true(busy_registry)
    assert "layer_styles" in layers(busy_registry)


def test_counts_follow_an_import(registry_path: Path, tmp_path: Path) -> None:
    source = write_geojson(tmp_path / "new.geojson", [hazard(200 + i) for i in range(70)])
    with Registry.open(registry_path) as reg:
        reg.import_file(source, actor="t")
    assert rows(
        registry_path,
        "SELECT feature_count FROM gpkg_ogr_contents WHERE table_name = 'hazard_areas'",
    ) == [(73,)]
    assert_counts_true(registry_path)


def test_counts_follow_a_plain_sqlite_insert(busy_registry: Path, refs: dict[str, str]) -> None:
    before = dict(rows(busy_registry, "SELECT table_name, feature_count FROM gpkg_ogr_contents"))
    add_item_as_qgis_does(busy_registry, refs["kharkiv"])
    after = dict(rows(busy_registry, "SELECT table_name, feature_count FROM gpkg_ogr_contents"))
    assert after["items"] == before["items"] + 1
    assert_counts_true(busy_registry)


def test_a_feature_gdal_adds_is_counted_once(busy_registry: Path, refs: dict[str, str]) -> None:
    # GDAL knows the triggers by name: had it missed them, it would count the feature itself too
    before = rows(
        busy_registry, "SELECT feature_count FROM gpkg_ogr_contents WHERE table_name = 'items'"
    )
    item = gpd.GeoDataFrame(
        {"area_ref": [refs["kyiv"]], "category": ["ied"], "state": ["live"]},
        geometry=[shapely.Point(30.5, 50.45)],
        crs="EPSG:4326",
    )
    pyogrio.write_dataframe(item, busy_registry, layer="items", append=True)
    after = rows(
        busy_registry, "SELECT feature_count FROM gpkg_ogr_contents WHERE table_name = 'items'"
    )
    assert after[0][0] == before[0][0] + 1
    assert_counts_true(busy_registry)


def test_ogrinfo_counts_a_filtered_layer_right(busy_registry: Path) -> None:
    confirmed = rows(busy_registry, "SELECT count(*) FROM hazard_areas WHERE status = 'confirmed'")
    total = rows(busy_registry, "SELECT count(*) FROM hazard_areas")
    assert 0 < confirmed[0][0] < total[0][0]
    for where, expected in ((["-where", "status = 'confirmed'"], confirmed), ([], total)):
        run = ogrinfo("-ro", "-so", busy_registry, "hazard_areas", *where)
        assert run.returncode == 0, run.stderr
        assert f"Feature Count: {expected[0][0]}\n" in run.stdout


# -- QGIS styles ------------------------------------------------------------------------------


def _styles(path: Path) -> dict[str, tuple[Any, ...]]:
    return {
        r[0]: r[1:]
        for r in rows(
            path,
            "SELECT f_table_name, f_table_catalog, f_table_schema, f_geometry_column, "
            "useAsDefault, styleQML, owner FROM layer_styles WHERE styleName = 'landrelease'",
        )
    }


@pytest.mark.parametrize("table", sorted(gis.STYLES))
def test_each_layer_opens_with_a_style_by_its_codes(registry_path: Path, table: str) -> None:
    spec = gis.STYLES[table]
    catalog, schema, column, default, qml, owner = _styles(registry_path)[table]
    # what QGIS looks for: f_table_schema = '' AND f_table_name AND f_geometry_column
    assert (catalog, schema, column, default, owner) == ("", "", "geom", 1, "landrelease")
    assert qml.startswith("<!DOCTYPE qgis")
    root = ET.fromstring(qml)
    renderer = root.find("renderer-v2")
    assert renderer is not None
    assert renderer.get("type") == "categorizedSymbol"
    assert renderer.get("attr") == spec.column
    codes = spec.kind.field(spec.column).codes
    assert codes is not None
    values = [c.get("value") for c in renderer.iterfind("categories/category")]
    assert values == [v.value for v in codes] + [""]  # "" catches any other value
    symbols = renderer.findall("symbols/symbol")
    assert [s.get("name") for s in symbols] == [str(i) for i in range(len(values))]
    kind = "fill" if spec.kind.geometry == "polygon" else "marker"
    assert {s.get("type") for s in symbols} == {kind}
    for symbol in symbols:
        layer = symbol.find("layer")
        assert layer is not None
        options = {o.get("name"): o.get("value") for o in layer.iterfind("Option/Option")}
        legacy = {p.get("k"): p.get("v") for p in layer.iterfind("prop")}
        assert options == legacy and "color" in options
    assert root.findtext("layerGeometryType") == ("2" if kind == "fill" else "0")


def test_every_styled_code_has_its_own_colour() -> None:
    for spec in gis.STYLES.values():
        codes = spec.kind.field(spec.column).codes
        assert codes is not None
        missing = [v.value for v in codes if v not in spec.colours]
        assert not missing, f"give {spec.column} code(s) {missing} a colour in store/gis.py"
    assert gis.STATUS_COLOURS["confirmed"][0] > 200  # confirmed danger is red


def test_history_layers_are_styled_faded(registry_path: Path) -> None:
    styles = _styles(registry_path)
    for table in gis.STYLES:
        history = table + gis.HISTORY_SUFFIX
        if history not in layers(registry_path):
            pytest.skip("this registry has no history layers")
        root = ET.fromstring(styles[history][4])
        assert float(root.findtext("layerOpacity") or 1) < 1
        outline = root.find("renderer-v2/symbols/symbol/layer/Option/Option[@name='outline_style']")
        assert outline is not None and outline.get("value") == "dash"


def test_a_default_style_saved_by_the_user_is_kept(registry_path: Path) -> None:
    with plain(registry_path) as conn:
        conn.execute("UPDATE layer_styles SET useAsDefault = 0 WHERE f_table_name = 'items'")
        conn.execute(
            "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
            "f_geometry_column, styleName, styleQML, useAsDefault) "
            "VALUES ('', '', 'items', 'geom', 'mine', '<qgis/>', 1)"
        )
        gis.apply(conn.execute)
    kept = rows(
        registry_path,
        "SELECT styleName, useAsDefault FROM layer_styles WHERE f_table_name = 'items'",
    )
    assert sorted(kept) == [("landrelease", 0), ("mine", 1)]


def test_register_history_layer_is_idempotent(registry_path: Path) -> None:
    if "items_history" not in layers(registry_path):
        pytest.skip("this registry has no history layers")
    before = snapshot(registry_path)
    with plain(registry_path) as conn:
        gis.register_history_layer(conn.execute, "items_history")
    assert snapshot(registry_path) == before
    with pytest.raises(ValueError, match="history"):
        gis.register_history_layer(print, "items")


# -- relations --------------------------------------------------------------------------------


def _mapping(path: Path, kind_name: str) -> set[tuple[str, str]]:
    """Return the (area ref, record ref) pairs that the mapping table of a kind holds."""
    kind = KINDS[kind_name]
    return set(
        rows(
            path,
            f"SELECT a.ref, r.ref FROM {gis.mapping_table(kind)} m "
            f"JOIN hazard_areas a ON a.fid = m.base_id JOIN {kind.table} r ON r.fid = m.related_id",
        )
    )


def _by_area_ref(path: Path, kind_name: str) -> set[tuple[str, str]]:
    table = KINDS[kind_name].table
    return set(
        rows(
            path,
            f"SELECT area_ref, ref FROM {table} WHERE area_ref IN (SELECT ref FROM hazard_areas)",
        )
    )


def test_relations_are_registered_as_the_extension_asks(registry_path: Path) -> None:
    relations = rows(
        registry_path,
        "SELECT base_table_name, base_primary_column, related_table_name, "
        "related_primary_column, relation_name, mapping_table_name FROM gpkgext_relations",
    )
    expected = {
        (
            "hazard_areas",
            "fid",
            k.table,
            "fid",
            "features" if k.geometry else "attributes",
            f"hazard_areas_{k.table}",
        )
        for k in gis.RELATED_KINDS
    }
    assert set(relations) == expected
    assert {k.name for k in gis.RELATED_KINDS} == {"events", "activities", "items", "accidents"}
    registered = set(
        rows(
            registry_path,
            "SELECT table_name, column_name, scope FROM gpkg_extensions "
            "WHERE extension_name = 'related_tables'",
        )
    )
    assert registered == {
        (t, None, "read-write") for t in ["gpkgext_relations", *(r[5] for r in relations)]
    }


def test_mappings_follow_the_records(busy_registry: Path, refs: dict[str, str]) -> None:
    for kind in ("events", "activities", "items", "accidents"):
        assert _mapping(busy_registry, kind) == _by_area_ref(busy_registry, kind)
    assert len(_mapping(busy_registry, "accidents")) == 3
    fid = add_item_as_qgis_does(busy_registry, refs["forest"])
    assert _mapping(busy_registry, "items") == _by_area_ref(busy_registry, "items")
    with plain(busy_registry) as conn:  # QGIS moves the item to another area
        conn.execute("UPDATE items SET area_ref = ? WHERE fid = ?", (refs["kyiv"], fid))
    pairs = _mapping(busy_registry, "items")
    assert pairs == _by_area_ref(busy_registry, "items")
    assert sum(1 for area, _ in pairs if area == refs["forest"]) == 0


def test_gdal_reads_the_relationships(busy_registry: Path) -> None:
    named = {
        f"hazard_areas_{k.table}_{'features' if k.geometry else 'attributes'}"
        for k in gis.RELATED_KINDS
    }
    if gdal_version() >= (3, 7):  # ogrinfo lists relationships since GDAL 3.7
        run = ogrinfo("-ro", "-so", busy_registry)
        assert {n for n in named if f"Relationship: {n} " in run.stdout} == named, run.stdout
    names = osgeo(
        "from osgeo import gdal\n"
        f"ds = gdal.OpenEx({str(busy_registry)!r}, gdal.OF_VECTOR)\n"
        "for n in sorted(ds.GetRelationshipNames() or []):\n"
        "    r = ds.GetRelationship(n)\n"
        "    print(n, r.GetLeftTableName(), r.GetRightTableName(), r.GetMappingTableName())\n"
    ).splitlines()
    assert sorted(names) == sorted(
        f"hazard_areas_{k.table}_{'features' if k.geometry else 'attributes'} hazard_areas "
        f"{k.table} hazard_areas_{k.table}"
        for k in gis.RELATED_KINDS
    )


# -- code lists -------------------------------------------------------------------------------


def test_code_lists_are_declared_from_the_domain(registry_path: Path) -> None:
    enums: dict[str, set[str]] = {}
    for name, value in rows(
        registry_path,
        "SELECT constraint_name, value FROM gpkg_data_column_constraints "
        "WHERE constraint_type = 'enum' AND constraint_name NOT LIKE '\\_%' ESCAPE '\\'",
    ):
        enums.setdefault(name, set()).add(value)
    columns = {
        (t, c): (constraint, description)
        for t, c, constraint, description in rows(
            registry_path,
            "SELECT table_name, column_name, constraint_name, description FROM gpkg_data_columns",
        )
    }
    for kind in KINDS.values():
        for f in kind.fields:
            if f.codes is None:
                continue
            constraint, description = columns[(kind.table, f.name)]
            if f.kind == "codes":  # a ';' list of codes cannot be one enum value
                assert constraint is None and "';'" in description
                assert all(v.value in description for v in f.codes)
            else:
                assert constraint == gis.code_list_name(f.codes)
                assert enums[constraint] == {v.value for v in f.codes}
    assert columns[("hazard_areas", "status")][0] == "status"
    assert columns[("activities", "status")][0] == "activity_status"
    schema = rows(
        registry_path,
        "SELECT table_name, scope FROM gpkg_extensions WHERE extension_name = 'gpkg_schema'",
    )
    assert sorted(schema) == [
        ("gpkg_data_column_constraints", "read-write"),
        ("gpkg_data_columns", "read-write"),
    ]


def test_gdal_reads_the_code_lists_as_field_domains(registry_path: Path) -> None:
    run = ogrinfo("-ro", "-so", registry_path, "hazard_areas")
    assert "status: String" in run.stdout and "domain name=status" in run.stdout
    assert "contamination: String" in run.stdout
    domain = ogrinfo("-ro", registry_path, "-fielddomain", "status").stdout
    assert "Type: coded" in domain
    assert "in_progress: In progress" in domain and "released: Released" in domain


def test_the_newest_code_list_migration_matches_the_domain() -> None:
    digests = {}
    for script in sorted((MIGRATIONS / "versions").glob("[0-9]*.py")):
        spec = importlib.util.spec_from_file_location(f"migration_{script.stem}", script)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        if hasattr(module, "CODE_LISTS_DIGEST"):
            digests[module.revision] = module.CODE_LISTS_DIGEST
    newest = max(digests)
    assert digests[newest] == gis.code_lists_digest(), (
        "the code lists of the domain changed since migration "
        f"{newest}: add a migration that calls landrelease.store.gis.sync_with_domain "
        f"(and remakes the code triggers) with CODE_LISTS_DIGEST = '{gis.code_lists_digest()}'"
    )


def test_sync_brings_an_older_files_code_lists_up_to_date(registry_path: Path) -> None:
    with plain(registry_path) as conn:  # as a file written before 'released' existed
        conn.execute("DELETE FROM gpkg_data_column_constraints WHERE value = 'released'")
        conn.execute("DELETE FROM gpkg_data_columns WHERE column_name = 'device_category'")
        gis.sync_with_domain(conn.execute)
    assert rows(
        registry_path,
        "SELECT description FROM gpkg_data_column_constraints WHERE value = 'released'",
    ) == [("Released",)]
    assert rows(
        registry_path,
        "SELECT constraint_name FROM gpkg_data_columns WHERE column_name = 'device_category'",
    ) == [("item_category",)]


# -- the file as a whole ----------------------------------------------------------------------


def test_gdal_opens_every_table_without_a_warning(registry_path: Path) -> None:
    run = ogrinfo("-ro", "-so", "-oo", "LIST_ALL_TABLES=YES", registry_path)
    assert run.returncode == 0
    assert "Warning" not in run.stderr and "VARCHAR" not in run.stderr, run.stderr
    assert "alembic_version" in run.stdout
    [(sql,)] = rows(registry_path, "SELECT sql FROM sqlite_master WHERE name = 'alembic_version'")
    assert "VARCHAR" not in sql


def test_the_registry_passes_validate_gpkg(busy_registry: Path) -> None:
    run = validate_gpkg(busy_registry, extra=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_apply_twice_changes_nothing(busy_registry: Path) -> None:
    with plain(busy_registry) as conn:
        gis.apply(conn.execute)
    before = snapshot(busy_registry)
    with plain(busy_registry) as conn:
        gis.apply(conn.execute)
    assert snapshot(busy_registry) == before


def test_the_migration_maps_and_counts_an_older_registry(tmp_path: Path) -> None:
    path = tmp_path / "old.gpkg"
    shutil.copyfile(FIXTURE_0002, path)
    expected = {k: _by_area_ref(path, k) for k in ("events", "activities", "items", "accidents")}
    assert any(expected.values())
    with Registry.open(path):
        pass
    for kind, pairs in expected.items():
        assert _mapping(path, kind) == pairs
    assert_counts_true(path)
    assert {r[0] for r in rows(path, "SELECT f_table_name FROM layer_styles")} >= set(gis.STYLES)
    run = validate_gpkg(path, extra=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_table_names_are_checked_before_they_reach_sql() -> None:
    with pytest.raises(ValueError, match="not a registry table"):
        gis.count_triggers('items"; DROP TABLE items; --')
    with pytest.raises(ValueError, match="not a record table"):
        gis.register_history_layer(print, "secrets_history")
    assert HAZARDS.table in gis.STYLES
