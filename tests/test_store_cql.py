"""CQL2 filters: parsed by pygeofilter, compiled to parameterised SQL, run by the store.

Runs on the small template registry of tests/conftest.py (three hazard areas: "Kyiv field"
suspected, "Kharkiv orchard" confirmed, "Kyiv forest"), read only: the file, and the same
registry made in PostGIS when a cluster is given (tests/backends.py), where the filters are
compiled to PostgreSQL (`cql.compile_postgis`) and run by the database.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import shapely

from backends import backends, is_database, new_registry_url
from conftest import _build_template
from fixtures import KHARKIV, polygon
from landrelease.domain.errors import ValidationError
from landrelease.domain.records import HAZARDS, ITEMS
from landrelease.registry import Registry
from landrelease.store import cql


@pytest.fixture(scope="module", params=backends())
def treg(
    request: pytest.FixtureRequest,
    template: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Registry]:
    """The template registry, or its twin on the other backend, opened by this module's tests."""
    location = template["path"]
    if is_database(location) != (request.param == "postgis"):
        location = new_registry_url(tmp_path_factory.mktemp("cql"), request.param, "cql")
        refs = _build_template(location)
        assert refs == {k: template[k] for k in ("kyiv", "kharkiv", "forest")}
    with Registry.open(location) as r:
        yield r


def refs_of(reg: Registry, text: str | dict[str, Any], lang: str | None = None) -> set[str]:
    flt = cql.parse_filter(text, lang)
    cols = reg.record_columns("hazards", columns=["ref"], filter=flt, geometry=False)
    assert reg.count("hazards", filter=flt) == len(cols["ref"])
    return set(cols["ref"])


# -- parsing and compiling ----------------------------------------------------------------------


def test_example_filter_compiles_to_bound_parameters() -> None:
    node = cql.parse_filter("status='confirmed' AND area_m2 > 10000")
    compiled = cql.compile_sql(HAZARDS, node)
    assert compiled.sql == "((t.status = ?) AND (t.area_m2 > ?))"
    assert compiled.params == ("confirmed", 10000)


def test_the_same_filter_compiles_for_postgis_with_typed_placeholders() -> None:
    node = cql.parse_filter(
        "status='confirmed' AND area_m2 > 10000 AND reported_on >= DATE('2024-01-01') "
        "AND name LIKE 'Ky_v%' AND S_WITHIN(geometry, BBOX(30, 50, 31, 51))"
    )
    compiled = cql.compile_postgis(HAZARDS, node)
    assert compiled.sql == (
        "(((((t.status = %s::text) AND (t.area_m2 > %s::double precision)) "
        "AND (t.reported_on >= %s::text)) AND (t.name LIKE %s)) "
        "AND ST_Within(t.geom, ST_GeomFromWKB(%s, 4326)))"
    )
    assert compiled.params[:4] == ("confirmed", 10000, "2024-01-01", "Ky_v%")
    assert shapely.from_wkb(compiled.params[4]).equals(shapely.box(30, 50, 31, 51))
    assert compiled.spatial == []  # the database tests the geometries itself


def test_values_never_become_sql_text() -> None:
    hostile = "x'); DROP TABLE hazard_areas; --"
    node = cql.parse_filter({"op": "=", "args": [{"property": "name"}, hostile]})
    compiled = cql.compile_sql(HAZARDS, node)
    assert "DROP" not in compiled.sql
    assert compiled.params == (hostile,)


@pytest.mark.parametrize(
    "text",
    ["nosuch = 1", "status = 'x' OR sql_injection > 1", "S_INTERSECTS(geom, POINT(30 50))"],
)
def test_unknown_property_is_refused_naming_the_filter(text: str) -> None:
    with pytest.raises(ValidationError) as exc:
        cql.compile_sql(HAZARDS, cql.parse_filter(text))
    assert exc.value.field == "filter"
    assert "unknown property" in str(exc.value)


def test_names_can_be_restricted() -> None:
    node = cql.parse_filter("name = 'x'")
    with pytest.raises(ValidationError, match="unknown property 'name'"):
        cql.compile_sql(HAZARDS, node, names=("status", "hazard_type"))
    assert cql.property_names(cql.parse_filter("status = 'a' AND hazard_type = 'CHA'")) == {
        "status",
        "hazard_type",
    }


@pytest.mark.parametrize(
    "text, lang",
    [
        ("status = ", "cql2-text"),
        ("status === 'x'", "cql2-text"),
        ('{"op": "=", "args": [{"property": "status"}]}', "cql2-json"),
        ("{not json", "cql2-json"),
        ('{"op": "nosuch", "args": []}', "cql2-json"),
    ],
)
def test_malformed_filters_are_validation_errors(text: str, lang: str) -> None:
    with pytest.raises(ValidationError) as exc:
        cql.parse_filter(text, lang)
    assert exc.value.field == "filter"


def test_unknown_language_names_filter_lang() -> None:
    with pytest.raises(ValidationError) as exc:
        cql.parse_filter("status = 'x'", "ecql")
    assert exc.value.field == "filter-lang"


@pytest.mark.parametrize(
    "text, message",
    [
        ("area_m2 > 'big'", "takes a number"),
        ("status = 5", "takes a text"),
        ("area_m2 + 1 > 2", "not supported"),
        ("CASEI(name) = 'x'", "function 'lower'"),
        ("S_INTERSECTS(geometry, geometry)", "geometry literal"),
        ("geometry = 'x'", "spatial function"),
        ("version = 99999999999999999999999", "too large"),
        ('{"op": "in", "args": [{"property": "status"}, "confirmed"]}', "takes a list"),
    ],
)
def test_unsupported_or_mistyped_filters_say_why(text: str, message: str) -> None:
    lang = "cql2-json" if text.startswith("{") else "cql2-text"
    with pytest.raises(ValidationError, match=message):
        cql.compile_sql(HAZARDS, cql.parse_filter(text, lang))


def test_like_patterns_become_case_sensitive_globs() -> None:
    assert cql._glob_of_like("Kyiv%") == "Kyiv*"
    assert cql._glob_of_like("K_iv") == "K?iv"
    assert cql._glob_of_like("100\\%") == "100%"
    assert cql._glob_of_like("a*b?[c") == "a[*]b[?][[]c"


def test_json_bbox_and_three_argument_between_are_read_as_cql2_says() -> None:
    node = cql.parse_filter(
        {
            "op": "and",
            "args": [
                {"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": [1, 2, 3, 4]}]},
                {"op": "between", "args": [{"property": "area_m2"}, 10, 20]},
            ],
        }
    )
    compiled = cql.compile_sql(HAZARDS, node)
    (test,) = compiled.spatial
    assert test.geometry.bounds == (1.0, 2.0, 3.0, 4.0)
    assert compiled.params[1:] == (10, 20)


def test_a_kind_without_geometry_has_no_geometry_to_filter() -> None:
    from landrelease.domain.records import EVENTS

    with pytest.raises(ValidationError, match="unknown property 'geometry'"):
        cql.compile_sql(EVENTS, cql.parse_filter("S_INTERSECTS(geometry, POINT(30 50))"))


# -- run by the store ---------------------------------------------------------------------------


def test_comparisons_and_logic(treg: Registry, refs: dict[str, str]) -> None:
    everyone = set(refs.values())
    assert refs_of(treg, "status = 'confirmed'") == {refs["kharkiv"]}
    assert refs_of(treg, "status <> 'confirmed'") == everyone - {refs["kharkiv"]}
    assert refs_of(treg, "NOT (status = 'confirmed')") == everyone - {refs["kharkiv"]}
    assert refs_of(treg, "status = 'confirmed' OR land_use = 'forest'") == {
        refs["kharkiv"],
        refs["forest"],
    }
    assert refs_of(treg, "status IN ('confirmed', 'cleared')") == {refs["kharkiv"]}
    assert refs_of(treg, "status NOT IN ('confirmed')") == everyone - {refs["kharkiv"]}
    assert refs_of(treg, "area_m2 > 0 AND version >= 1") == everyone
    assert refs_of(treg, "area_m2 BETWEEN 0 AND 1") == set()
    assert refs_of(treg, "notes IS NULL") == everyone
    assert refs_of(treg, "land_use IS NOT NULL") == {refs["forest"]}


def test_like_is_case_sensitive(treg: Registry, refs: dict[str, str]) -> None:
    assert refs_of(treg, "name LIKE 'Kyiv%'") == {refs["kyiv"], refs["forest"]}
    assert refs_of(treg, "name LIKE 'kyiv%'") == set()
    assert refs_of(treg, "name LIKE 'Kyiv f_eld'") == {refs["kyiv"]}
    assert refs_of(treg, "name NOT LIKE 'Kyiv%'") == {refs["kharkiv"]}


def test_dates_and_timestamps(treg: Registry, refs: dict[str, str]) -> None:
    everyone = set(refs.values())
    assert refs_of(treg, "reported_on = DATE('2024-03-15')") == everyone
    assert refs_of(treg, "reported_on > DATE('2024-03-15')") == set()
    assert refs_of(treg, "reported_on >= TIMESTAMP('2024-03-15T23:00:00Z')") == everyone
    assert refs_of(treg, "changed_at > TIMESTAMP('2020-01-01T00:00:00Z')") == everyone


def test_property_compared_with_property(treg: Registry, refs: dict[str, str]) -> None:
    assert refs_of(treg, "area_m2 > version") == set(refs.values())


def test_text_and_json_agree(treg: Registry, refs: dict[str, str]) -> None:
    text = "status = 'confirmed' AND area_m2 > 1000"
    as_json = {
        "op": "and",
        "args": [
            {"op": "=", "args": [{"property": "status"}, "confirmed"]},
            {"op": ">", "args": [{"property": "area_m2"}, 1000]},
        ],
    }
    assert refs_of(treg, text) == refs_of(treg, as_json) == {refs["kharkiv"]}


def test_spatial_predicates(treg: Registry, refs: dict[str, str]) -> None:
    kharkiv = polygon(1, KHARKIV)
    x, y = KHARKIV
    box = f"BBOX({x - 0.1}, {y - 0.1}, {x + 0.3}, {y + 0.3})"
    everyone = set(refs.values())
    assert refs_of(treg, f"S_INTERSECTS(geometry, {box})") == {refs["kharkiv"]}
    assert refs_of(treg, f"S_DISJOINT(geometry, {box})") == everyone - {refs["kharkiv"]}
    assert refs_of(treg, f"S_WITHIN(geometry, {box})") == {refs["kharkiv"]}
    inside = kharkiv.representative_point()
    assert refs_of(treg, f"S_CONTAINS(geometry, {inside.wkt})") == {refs["kharkiv"]}
    assert refs_of(treg, f"S_CONTAINS({inside.wkt}, geometry)") == set()  # swapped: within
    # a polygon literal that meets the box of the area but not the area itself
    minx, miny, maxx, maxy = kharkiv.bounds
    corner = shapely.box(minx - 0.01, miny - 0.01, minx + 1e-6, miny + 1e-6)
    assert not corner.intersects(kharkiv)
    assert refs_of(treg, f"S_INTERSECTS(geometry, {corner.wkt})") == set()
    as_json = {
        "op": "s_intersects",
        "args": [{"property": "geometry"}, shapely.geometry.mapping(inside)],
    }
    assert refs_of(treg, as_json) == {refs["kharkiv"]}


def test_filter_with_where_bbox_and_paging(treg: Registry, refs: dict[str, str]) -> None:
    flt = cql.parse_filter("name LIKE 'Kyiv%'")
    x, y = 30.5, 50.45
    box = (x - 0.1, y - 0.1, x + 0.2, y + 0.2)
    cols = treg.record_columns("hazards", columns=["ref"], filter=flt, bbox=box, geometry=False)
    assert set(cols["ref"]) == {refs["kyiv"], refs["forest"]}
    assert treg.count("hazards", filter=flt, bbox=box, where={"land_use": "forest"}) == 1
    page, matched = treg.record_page(
        "hazards", columns=["ref", "version"], filter=flt, bbox=box, limit=1, offset=1
    )
    assert matched == 2 and len(page["ref"]) == 1
    page, matched = treg.record_page("hazards", columns=["ref"], filter=flt, limit=1)
    assert matched == 2 and len(page["ref"]) == 1


def test_points_are_filtered_too(treg: Registry) -> None:
    x, y = KHARKIV
    flt = cql.parse_filter(f"S_INTERSECTS(geometry, BBOX({x - 1}, {y - 1}, {x + 1}, {y + 1}))")
    assert treg.count(ITEMS.name, filter=flt) == 1
    assert treg.count(ITEMS.name, filter=cql.parse_filter("state = 'live'")) == 0


def test_extent(treg: Registry) -> None:
    box, (first, last) = treg.extent("hazards")
    assert box is not None and box[0] < 30.6 and box[2] > 36.2
    assert first == last == "2024-03-15"
    assert treg.extent("events")[0] is None
