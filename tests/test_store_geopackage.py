"""The registry file is a GeoPackage GDAL reads: layers, pragmas, contents, R-trees, WAL.

Every check reads the file with other software (sqlite3, GDAL through pyogrio) than the store.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import pytest
import shapely

from conftest import NewRegistry
from fixtures import KHARKIV, KYIV, hazard, polygon, snapshot
from landrelease.domain.errors import InputFileError, LandreleaseError, NotFound
from landrelease.registry import Registry
from landrelease.store import geopackage as gpkg

RECORD_LAYERS = {
    "hazard_areas": "MultiPolygon",
    "activities": "MultiPolygon",
    "items": "Point",
    "accidents": "Point",
    "eore_sessions": "Point",
}
# each feature layer has a history layer of its earlier versions, of the same geometry type
FEATURE_TABLES = RECORD_LAYERS | {f"{k}_history": v for k, v in RECORD_LAYERS.items()}
ATTRIBUTE_TABLES = {
    "contamination_events",
    "contamination_events_history",
    "landrelease_batches",
    "layer_styles",  # QGIS's own table of layer styles (store/gis.py)
}
# the tables relating an area to its records, which GDAL 3.8+ lists as layers too
MAPPING_TABLES = {
    f"hazard_areas_{t}" for t in ("contamination_events", "activities", "items", "accidents")
}


@pytest.fixture(scope="module")
def full_registry(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A registry holding every kind, written by every write path; read-only for the tests.

    60 more hazard areas take the bulk path (R-tree filled in one pass); a triangle's
    envelope reaches a box its shape does not; one area's geometry is updated and reverted.
    """
    path = tmp_path_factory.mktemp("full") / "full.gpkg"
    with Registry.open(path, create=True) as reg:
        few = reg.add_records(
            "hazards", [hazard(0), hazard(1, geometry=polygon(1, KHARKIV))], actor="t"
        )
        x, y = KHARKIV[0] + 0.3, KHARKIV[1] + 0.3
        triangle = shapely.Polygon([(x, y), (x + 0.01, y), (x, y + 0.01)])
        [tri] = reg.add_records("hazards", [hazard(2, geometry=triangle)], actor="t")
        many = reg.add_records("hazards", [hazard(100 + i) for i in range(60)], actor="t")
        reg.update_record("hazards", many[0], {"geometry": polygon(300)}, actor="t")
        reg.update_record("hazards", many[1], {"geometry": polygon(301)}, actor="t")
        reg.revert(many[1], 1, actor="t")
        reg.set_status(few[0], "confirmed", actor="t", reason="AP mine found")
        area = few[0]
        reg.add_records(
            "events",
            [
                {
                    "area_ref": area,
                    "profile_id": "persistent-ap-mine",
                    "quantity_best": 4,
                    "emplaced_on": "2022-03-01",
                }
            ],
            actor="t",
        )
        reg.add_records(
            "activities",
            [
                {
                    "area_ref": area,
                    "activity_type": "nts",
                    "status": "completed",
                    "evidence_found": False,
                    "geometry": polygon(0),
                }
            ],
            actor="t",
        )
        reg.add_records(
            "items",
            [
                {
                    "area_ref": area,
                    "category": "uxo",
                    "state": "live",
                    "geometry": polygon(0).centroid,
                }
            ],
            actor="t",
        )
        reg.add_records(
            "accidents",
            [{"area_ref": area, "occurred_on": "2024-05-01", "geometry": polygon(0).centroid}],
            actor="t",
        )
    # a box meeting the triangle's envelope (its upper-right corner) but not its shape
    corner = (x + 0.007, y + 0.007, x + 0.012, y + 0.012)
    return {"path": path, "triangle": tri, "corner": corner, "n_hazards": 63}


def _sql(path: Path, query: str) -> list[tuple]:
    conn = sqlite3.connect(str(path))
    try:
        return conn.execute(query).fetchall()
    finally:
        conn.close()


@pytest.mark.sqlite_only(reason="the GeoPackage file as GDAL reads it")
def test_gdal_reads_every_layer_without_warnings(full_registry: dict[str, Any]) -> None:
    path = full_registry["path"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layers = {str(name): gtype for name, gtype in pyogrio.list_layers(path)}
        assert {k: v for k, v in layers.items() if v is not None} == FEATURE_TABLES
        assert {k for k, v in layers.items() if v is None} - MAPPING_TABLES == ATTRIBUTE_TABLES
        counts = {}
        for name in layers:
            df = pyogrio.read_dataframe(path, layer=name)
            counts[name] = len(df)
            if name in FEATURE_TABLES:
                assert df.crs.to_epsg() == 4326
                assert df.geometry.notna().all() and df.geometry.is_valid.all()
                assert set(df.geom_type) <= {FEATURE_TABLES[name]}  # history may be empty
    assert counts["hazard_areas"] == full_registry["n_hazards"]
    for name in ("contamination_events", "activities", "items", "accidents"):
        assert counts[name] == 1
    # every earlier version is one history row: the fixture made four changes
    assert sum(v for k, v in counts.items() if k.endswith("_history")) == 4


@pytest.mark.sqlite_only(reason="the GeoPackage file as GDAL reads it")
def test_gdal_reads_the_same_values_as_the_registry(full_registry: dict[str, Any]) -> None:
    path = full_registry["path"]
    df = pyogrio.read_dataframe(path, layer="hazard_areas").sort_values("ref")
    with Registry.open(path) as reg:
        ours = reg.hazards().sort_values("ref")
    assert list(df["ref"]) == list(ours["ref"])
    assert list(df["status"]) == list(ours["status"])
    assert np.allclose(df["area_m2"], ours["area_m2"])
    assert shapely.equals_exact(df.geometry.values, ours.geometry.values, tolerance=0).all()


@pytest.mark.sqlite_only(reason="the GeoPackage file as GDAL reads it")
def test_geopackage_pragmas_and_wal(full_registry: dict[str, Any]) -> None:
    path = full_registry["path"]
    assert _sql(path, "PRAGMA application_id")[0][0] == 0x47504B47
    assert _sql(path, "PRAGMA user_version")[0][0] == 10300
    assert _sql(path, "PRAGMA journal_mode")[0][0] == "wal"
    assert path.read_bytes()[:16] == b"SQLite format 3\x00"


@pytest.mark.sqlite_only(reason="the GeoPackage file as GDAL reads it")
def test_gpkg_contents_and_geometry_columns(full_registry: dict[str, Any]) -> None:
    path = full_registry["path"]
    contents = {
        r[0]: r[1:]
        for r in _sql(
            path,
            "SELECT table_name, data_type, srs_id, min_x, min_y, max_x, max_y FROM gpkg_contents",
        )
    }
    assert set(contents) == set(FEATURE_TABLES) | ATTRIBUTE_TABLES
    for t in FEATURE_TABLES:
        assert contents[t][:2] == ("features", 4326)
    for t in ATTRIBUTE_TABLES:
        assert contents[t][0] == "attributes"
    # the extent of the hazard layer covers every area
    minx, miny, maxx, maxy = contents["hazard_areas"][2:]
    df = pyogrio.read_dataframe(path, layer="hazard_areas")
    bx = df.total_bounds
    assert minx <= bx[0] and miny <= bx[1] and maxx >= bx[2] and maxy >= bx[3]
    cols = set(
        _sql(
            path,
            "SELECT table_name, column_name, geometry_type_name, srs_id, z, m "
            "FROM gpkg_geometry_columns",
        )
    )
    assert cols == {(t, "geom", g.upper(), 4326, 0, 0) for t, g in FEATURE_TABLES.items()}
    srs = {r[0] for r in _sql(path, "SELECT srs_id FROM gpkg_spatial_ref_sys")}
    assert {-1, 0, 4326} <= srs
    ext = set(_sql(path, "SELECT table_name, extension_name FROM gpkg_extensions"))
    rtrees = {e for e in ext if e[1] == "gpkg_rtree_index"}
    assert rtrees == {(t, "gpkg_rtree_index") for t in FEATURE_TABLES}
    assert {e[1] for e in ext} == {"gpkg_rtree_index", "gpkg_schema", "related_tables"}


@pytest.mark.sqlite_only(reason="the GeoPackage file as GDAL reads it")
@pytest.mark.parametrize("table", sorted(FEATURE_TABLES))
def test_rtree_is_sound_and_matches_every_geometry(
    full_registry: dict[str, Any], table: str
) -> None:
    path = full_registry["path"]
    rtree = f"rtree_{table}_geom"
    assert _sql(path, f"SELECT rtreecheck('{rtree}')") == [("ok",)]
    rows = _sql(path, f"SELECT fid, geom FROM {table} WHERE geom IS NOT NULL ORDER BY fid")
    boxes = {r[0]: r[1:] for r in _sql(path, f"SELECT id, minx, maxx, miny, maxy FROM {rtree}")}
    assert sorted(boxes) == [r[0] for r in rows]
    geoms = gpkg.decode([r[1] for r in rows])
    for (fid, _), b in zip(rows, shapely.bounds(geoms), strict=True):
        minx, maxx, miny, maxy = boxes[fid]
        # the R-tree keeps 32-bit floats, rounded outwards
        assert minx <= b[0] and maxx >= b[2] and miny <= b[1] and maxy >= b[3]
        assert np.allclose([minx, maxx, miny, maxy], [b[0], b[2], b[1], b[3]], atol=1e-5)


@pytest.mark.sqlite_only(reason="the GeoPackage file as GDAL reads it")
def test_geometry_blobs_carry_a_geopackage_header(full_registry: dict[str, Any]) -> None:
    path = full_registry["path"]
    for table in FEATURE_TABLES:
        for (blob,) in _sql(path, f"SELECT geom FROM {table}"):
            assert blob[:2] == b"GP" and blob[2] == 0
            assert int.from_bytes(blob[4:8], "little") == 4326
            assert shapely.from_wkb(gpkg.wkb_of(blob)).is_valid


@pytest.mark.sqlite_only(reason="the GeoPackage file as GDAL reads it")
def test_polygons_are_encoded_as_the_multipolygons_the_column_holds() -> None:
    holed = shapely.Polygon(
        [(30, 50), (30.1, 50), (30.1, 50.1), (30, 50.1)],
        [[(30.02, 50.02), (30.04, 50.02), (30.04, 50.04)]],
    )
    multi = shapely.MultiPolygon([polygon(0), polygon(1)])
    geoms = np.array([polygon(0), holed, multi, None, shapely.Point(*KYIV)], dtype=object)
    blobs = gpkg.encode(geoms, multi=True)
    promoted = np.array(
        [shapely.MultiPolygon([polygon(0)]), shapely.MultiPolygon([holed]), multi, None]
        + [shapely.Point(*KYIV)],
        dtype=object,
    )
    assert blobs == gpkg.encode(promoted)
    back = gpkg.decode(blobs)
    assert [g.geom_type if g is not None else None for g in back] == [
        "MultiPolygon",
        "MultiPolygon",
        "MultiPolygon",
        None,
        "Point",
    ]
    assert back[1].geoms[0].equals_exact(holed, tolerance=0)


@pytest.mark.sqlite_only(reason="the GeoPackage file as GDAL reads it")
def test_sql_reads_the_wkb_out_of_any_geopackage_blob() -> None:
    # Envelopes of every size the standard allows: none (points), xy, xyz/xym, xyzm.
    geoms = np.array([shapely.Point(*KYIV), polygon(0), None], dtype=object)
    wkbs = [None if g is None else shapely.to_wkb(g, byte_order=1) for g in geoms]
    blobs = gpkg.encode(geoms)
    for code, size in ((1, 32), (2, 48), (3, 48), (4, 64)):
        head = bytes([ord("G"), ord("P"), 0, 1 | (code << 1)]) + (4326).to_bytes(4, "little")
        blobs.append(head + bytes(size) + wkbs[1])
        wkbs.append(wkbs[1])
    conn = sqlite3.connect(":memory:")
    try:
        sql = f"WITH b(g) AS (SELECT ?) SELECT {gpkg.wkb_sql('g')} FROM b"
        got = [conn.execute(sql, (b,)).fetchone()[0] for b in blobs]
    finally:
        conn.close()
    assert got == wkbs


def _bboxes(full: dict[str, Any]) -> list[tuple[float, float, float, float]]:
    kx, ky = KYIV
    return [
        (kx - 0.01, ky - 0.01, kx + 0.05, ky + 0.05),  # a corner of the Kyiv grid
        (kx + 0.015, ky - 0.01, kx + 0.025, ky + 0.2),  # a column of it
        full["corner"],  # the triangle's envelope only
        (35.0, 49.0, 37.5, 51.0),  # everything near Kharkiv
        (22.13, 44.38, 40.23, 52.38),  # the whole country
        (24.0, 45.0, 24.1, 45.1),  # nothing
    ]


@pytest.mark.sqlite_only(reason="the GeoPackage file as GDAL reads it")
def test_bbox_queries_agree_with_gdal(full_registry: dict[str, Any]) -> None:
    path = full_registry["path"]
    with Registry.open(path) as reg:
        for box in _bboxes(full_registry):
            ours = set(reg.hazards(bbox=box)["ref"])
            gdal = set(pyogrio.read_dataframe(path, layer="hazard_areas", bbox=box)["ref"])
            exact = {
                r
                for r, g in zip(reg.hazards()["ref"], reg.hazards().geometry, strict=True)
                if g.intersects(shapely.box(*box))
            }
            assert ours == gdal == exact, box
        assert full_registry["triangle"] not in set(
            reg.hazards(bbox=full_registry["corner"])["ref"]
        )


@pytest.mark.sqlite_only(reason="edits the file with sqlite3 (PostGIS: test_store_postgis.py)")
def test_history_is_never_changed(reg: Registry, registry_path: Path, refs: dict[str, str]) -> None:
    reg.update_record("hazards", refs["kyiv"], {"notes": "fenced"}, actor="b")
    before = snapshot(registry_path)
    conn = sqlite3.connect(str(registry_path))
    gpkg.register_functions(conn)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="history is never changed"):
            conn.execute("UPDATE hazard_areas_history SET changed_by = 'mallory'")
        with pytest.raises(sqlite3.DatabaseError, match="history is never deleted"):
            conn.execute("DELETE FROM hazard_areas_history")
        conn.rollback()
    finally:
        conn.close()
    assert snapshot(registry_path) == before


READER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from landrelease.registry import Registry
    path, stop = sys.argv[1], Path(sys.argv[2])
    seen = []
    with Registry.open(path) as reg:
        print("ready", flush=True)
        while not stop.exists():
            seen.append(len(reg.hazards()))
        seen.append(len(reg.hazards()))
    assert seen == sorted(seen), seen
    print(len(seen), seen[0], seen[-1], flush=True)
    """
)


def test_a_reader_in_another_process_while_this_one_writes(
    registry_path: Path, tmp_path: Path
) -> None:
    stop = tmp_path / "stop"
    proc = subprocess.Popen(
        [sys.executable, "-c", READER, str(registry_path), str(stop)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        with Registry.open(registry_path) as reg:
            for i in range(15):
                reg.add_records("hazards", [hazard(200 + i)], actor="writer")
                time.sleep(0.02)
            n = len(reg.hazards())
        stop.touch()
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    reads, first, last = map(int, out.split())
    assert reads >= 2 and first >= 3 and last == n == 3 + 15


@pytest.mark.sqlite_only(reason="files that are not registries, sqlite:/// URLs")
def test_opening_what_is_not_a_registry(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="landrelease init"):
        Registry.open(tmp_path / "missing.gpkg")
    text = tmp_path / "notes.gpkg"
    text.write_text("hello, this is not a database")
    with pytest.raises(InputFileError, match="not a GeoPackage"):
        Registry.open(text)
    other = tmp_path / "other.gpkg"
    pyogrio.write_dataframe(
        __import__("geopandas").GeoDataFrame({"a": [1]}, geometry=[polygon(0)], crs=4326), other
    )
    before = snapshot(other)
    with pytest.raises(InputFileError, match="not a landrelease registry"):
        Registry.open(other)
    assert snapshot(other) == before


@pytest.mark.sqlite_only(reason="files that are not registries, sqlite:/// URLs")
def test_database_urls(tmp_path: Path) -> None:
    path = tmp_path / "url.gpkg"
    with Registry.open(f"sqlite:///{path}", create=True) as reg:
        reg.add_records("hazards", [hazard(0)], actor="t")
    with Registry.open(path) as reg:
        assert len(reg.hazards()) == 1
    with pytest.raises(LandreleaseError, match="PostGIS"):
        Registry.open("postgresql://user:secret@db.example/lr")


def test_create_on_an_existing_registry_keeps_its_records(registry_path: Path) -> None:
    before = snapshot(registry_path)
    with Registry.open(registry_path, create=True) as reg:
        assert len(reg.hazards()) == 3
    assert snapshot(registry_path) == before


def test_a_ref_stored_meanwhile_is_a_conflict_and_writes_nothing(
    new_registry: NewRegistry,
) -> None:
    # The importer checks refs before its write transaction; if another writer stores the
    # same ref in between, the store's unique index catches it and the batch rolls back.
    from landrelease.domain.errors import ConflictError
    from landrelease.domain.records import HAZARDS
    from landrelease.store import open_store

    path = new_registry("r")
    store = open_store(path, create=True)
    try:
        cols = {
            "ref": ["UA-2024-00001"],
            "name": ["a"],
            "status": ["suspected"],
            "hazard_type": ["SHA"],
            "geometry": np.array([polygon(1)], dtype=object),
        }
        with store.unit_of_work(write=True) as uow:
            uow.records(HAZARDS).add(
                cols, at="2026-01-01T00:00:00Z", actor="x", reason=None, batch=None
            )
        before = snapshot(path)
        with pytest.raises(ConflictError, match="added by someone else"):
            with store.unit_of_work(write=True) as uow:
                uow.records(HAZARDS).add(
                    cols,
                    at="2026-01-01T00:00:01Z",
                    actor="y",
                    reason=None,
                    batch=None,
                )
        assert snapshot(path) == before
    finally:
        store.close()
