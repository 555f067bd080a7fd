"""Risk-education sessions, the sixth kind of record: stored, versioned and checked as the others.

On either backend a new registry has their table and history table; a session is added,
imported from a file, edited, reverted and edited outside landrelease as any record is; a
negative audience count is refused. A registry made before their migration (0008) gains
them when it is opened, and the file stays one that GDAL's validator passes.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import shapely

import backends
from backends import is_database
from conftest import RunCli
from fixtures import KHARKIV, edit_outside, query, snapshot, write_geojson
from gdal_tools import validate_gpkg
from landrelease.domain.errors import ValidationError
from landrelease.domain.records import EORE
from landrelease.registry import Registry
from landrelease.store import geopackage as gpkg
from landrelease.store.schema_migrations import SCHEMA_HEAD, alembic_config, kinds_at

ACTOR = "tester"
FIXTURE_0002 = Path(__file__).with_name("data") / "registry-0002.gpkg"
TABLES = (EORE.table, f"{EORE.table}_history")


def session(**fields: Any) -> dict[str, Any]:
    """Return a valid risk-education session held near Kharkiv."""
    return {
        "organisation": "Demining NGO",
        "held_on": "2024-03-05",
        "method": "interpersonal",
        "admin_area": "Kharkiv oblast",
        "girls": 12,
        "boys": 9,
        "women": 4,
        "geometry": shapely.Point(KHARKIV),
        **fields,
    }


def has_eore_tables(location: Path | str) -> bool:
    """Return whether a registry has the session tables (and, in a file, their layers)."""
    if is_database(location):
        found = query(location, "SELECT to_regclass(?)::text, to_regclass(?)::text", TABLES)
        return found == [TABLES]
    layers = query(
        location,
        "SELECT c.table_name, g.geometry_type_name FROM gpkg_contents c "
        "JOIN gpkg_geometry_columns g USING (table_name) WHERE c.table_name IN (?, ?)",
        TABLES,
    )
    return sorted(layers) == [(t, "POINT") for t in TABLES]


# -- the schema -------------------------------------------------------------------------------


def test_only_the_last_migration_makes_the_sessions() -> None:
    assert EORE not in kinds_at("0006") and EORE not in kinds_at("0007")
    assert EORE in kinds_at("0008") and kinds_at(SCHEMA_HEAD)[-1] is EORE


def test_a_new_registry_has_the_session_tables(empty_path: str) -> None:
    with Registry.open(empty_path, create=True) as reg:
        assert reg.summary()["eore"] == 0
    assert has_eore_tables(empty_path)
    if is_database(empty_path):
        assert query(
            empty_path, "SELECT changes FROM landrelease_changes WHERE table_name = ?", TABLES[:1]
        ) == [(0,)]
        indexes = query(
            empty_path, "SELECT indexdef FROM pg_indexes WHERE tablename = ?", TABLES[:1]
        )
        assert any("USING gist (geom)" in i for (i,) in indexes)
    else:
        styled = query(
            empty_path,
            "SELECT f_table_name FROM layer_styles WHERE styleName = ?",
            ("landrelease",),
        )
        assert {TABLES[0], TABLES[1]} <= {t for (t,) in styled}
        assert query(
            empty_path,
            "SELECT constraint_name FROM gpkg_data_columns WHERE table_name = ? "
            "AND column_name = 'method'",
            TABLES[:1],
        ) == [("eore_method",)]


def _at_0006(location: Path | str) -> None:
    """Make a registry at `location` as a release of migration 0006 made it."""
    from sqlalchemy import create_engine, event

    if is_database(location):
        engine = create_engine(str(location).replace("postgresql://", "postgresql+psycopg://", 1))
    else:
        engine = create_engine(f"sqlite:///{location}")
        event.listen(engine, "connect", lambda dbapi, _: gpkg.register_functions(dbapi))
    from alembic import command

    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0006")
    finally:
        engine.dispose()


def test_a_registry_of_0006_gains_the_sessions_when_opened(backend: str, tmp_path: Path) -> None:
    location: Path | str = (
        backends.new_database("eore") if backend == "postgis" else tmp_path / "old.gpkg"
    )
    _at_0006(location)
    assert not has_eore_tables(location)
    assert query(location, "SELECT version_num FROM alembic_version") == [("0006",)]
    with Registry.open(location) as reg:
        [ref] = reg.add_records("eore", [session()], actor=ACTOR)
    assert query(location, "SELECT version_num FROM alembic_version") == [(SCHEMA_HEAD,)]
    assert has_eore_tables(location)
    assert ref.split("-")[-3:-1] == ["RE", "2024"]


@pytest.mark.sqlite_only(reason="a GeoPackage file of an older release, and GDAL's validator")
def test_an_older_file_upgrades_to_a_valid_file_with_the_session_layers(tmp_path: Path) -> None:
    path = tmp_path / "old.gpkg"
    shutil.copyfile(FIXTURE_0002, path)
    with Registry.open(path) as reg:
        before = reg.summary()
        [ref] = reg.add_records("eore", [session()], actor=ACTOR)
        reg.update_record("eore", ref, {"men": 3}, actor=ACTOR)
    assert has_eore_tables(path)
    assert before["eore"] == 0 and before["hazards"] > 0
    conn = sqlite3.connect(path)
    try:
        assert conn.execute(f"SELECT rtreecheck('{gpkg.rtree_name(EORE.table)}')").fetchone() == (
            "ok",
        )
        counts = dict(conn.execute("SELECT table_name, feature_count FROM gpkg_ogr_contents"))
    finally:
        conn.close()
    assert (counts[TABLES[0]], counts[TABLES[1]]) == (1, 1)
    run = validate_gpkg(path, extra=True)
    assert run.returncode == 0, run.stdout + run.stderr


# -- the records ------------------------------------------------------------------------------


def test_a_session_is_added_edited_and_reverted_with_its_history(reg: Registry) -> None:
    [ref] = reg.add_records("eore", [session()], actor=ACTOR, reason="form 12")
    assert ref.split("-")[-3:-1] == ["RE", "2024"]
    stored = reg.stored_record("eore", ref)
    assert (stored["method"], stored["girls"], stored["men"], stored["version"]) == (
        "interpersonal",
        12,
        0,
        1,
    )
    changed = reg.update_record(
        "eore", ref, {"method": "mass_media", "men": 30}, actor="officer", reason="radio"
    )
    assert (changed.method, changed.men, changed.version) == ("mass_media", 30, 2)
    history = reg.history(ref)
    assert [h["version"] for h in history] == [1, 2]
    assert history[0]["kind"] == "eore"
    assert history[1]["changes"] == {"method": ["interpersonal", "mass_media"], "men": [0, 30]}
    back = reg.revert(ref, 1, actor="officer", reason="the form said interpersonal")
    assert (back.method, back.men, back.version) == ("interpersonal", 0, 3)
    assert reg.summary()["eore"] == 1
    assert list(reg.records("eore")["ref"]) == [ref]


def test_a_negative_count_is_refused_and_nothing_lands(
    reg: Registry, registry_path: Path | str
) -> None:
    before = snapshot(registry_path)
    with pytest.raises(ValidationError) as info:
        reg.add_records("eore", [session(women=-2)], actor=ACTOR)
    assert (info.value.record, info.value.field) == ("row 1", "women")
    assert "women -2 is negative" in info.value.message
    assert snapshot(registry_path) == before


def test_required_fields_are_named(reg: Registry) -> None:
    with pytest.raises(ValidationError) as info:
        reg.add_records("eore", [session(method=None)], actor=ACTOR)
    assert info.value.field == "method"
    with pytest.raises(ValidationError, match="unknown method"):
        reg.add_records("eore", [session(method="leaflets by air")], actor=ACTOR)


def test_an_edit_outside_landrelease_is_versioned_and_a_bad_code_refused(
    reg: Registry, registry_path: Path | str
) -> None:
    [ref] = reg.add_records("eore", [session()], actor=ACTOR)
    edit_outside(
        registry_path, "UPDATE eore_sessions SET notes = 'typed in QGIS' WHERE ref = ?", (ref,)
    )
    assert query(
        registry_path, "SELECT version, changed_by FROM eore_sessions WHERE ref = ?", (ref,)
    ) == [(2, "external")]
    assert reg.history(ref)[-1]["changes"] == {"notes": [None, "typed in QGIS"]}
    with pytest.raises(Exception, match="method must be one of interpersonal"):
        edit_outside(
            registry_path, "UPDATE eore_sessions SET method = 'posters' WHERE ref = ?", (ref,)
        )


def test_sessions_are_imported_and_exported_through_the_cli(
    run_cli: RunCli, registry_path: Path | str, tmp_path: Path
) -> None:
    source = write_geojson(
        tmp_path / "sessions.geojson",
        [session(), session(method="digital", girls=0, notes="online", held_on="2023-12-01")],
    )
    code, out, err = run_cli(["import", source, "--kind", "eore", "--db", registry_path])
    assert code == 0, err
    out_path = tmp_path / "sessions.gpkg"
    code, _, err = run_cli(["export", out_path, "--kind", "eore", "--db", registry_path])
    assert code == 0, err
    exported = gpd.read_file(out_path).sort_values("held_on")
    assert list(exported["method"]) == ["digital", "interpersonal"]
    assert list(exported["girls"]) == [0, 12] and list(exported["notes"])[0] == "online"


def test_a_copy_to_the_other_backend_and_back_keeps_every_version(
    reg: Registry, registry_path: Path | str, tmp_path: Path
) -> None:
    from landrelease.migrating import migrate

    [ref] = reg.add_records("eore", [session()], actor=ACTOR)
    reg.update_record("eore", ref, {"boys": 15}, actor="officer")
    edit_outside(registry_path, "UPDATE eore_sessions SET notes = 'QGIS' WHERE ref = ?", (ref,))
    hops: list[Path | str] = [tmp_path / "copy.gpkg"]
    if backends.pg_admin_url() is not None:
        hops.append(backends.new_database("eorecopy"))
    hops.append(tmp_path / "back.gpkg")
    here: Path | str = registry_path
    for there in hops:
        copied = {c.table: c.target for c in migrate(str(here), str(there), actor=ACTOR)}
        assert (copied[TABLES[0]], copied[TABLES[1]]) == (1, 2)
        here = there
    with Registry.open(here) as back:
        assert back.history(ref) == reg.history(ref)
        assert back.stored_record("eore", ref) == reg.stored_record("eore", ref)
