"""Ranking the hazard areas through the Registry and the CLI: reproducible, saved, explained.

The registry is the tests' template (three synthetic areas near Kyiv and Kharkiv) with
synthetic reference layers: a town beside the Kyiv field, a primary road through the
Kharkiv orchard, and an accident near the Kyiv field. Buildings, land use and facilities
are left out on purpose: a missing layer is a warning, not an error.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely

from backends import copy_registry
from conftest import ACTOR, NewRegistry
from landrelease.domain.errors import NotFound, ValidationError
from landrelease.priority import COMPONENTS
from landrelease.registry import Registry

AS_OF = dt.date(2024, 6, 1)
WEIGHTS_ONLY_COMMENTS = "# synthetic test configuration: the defaults, said again\n[weights]\n"


def _build(path: Path, refs: dict[str, str]) -> None:
    with Registry.open(path) as reg:
        kyiv = reg.hazard(refs["kyiv"]).geometry
        kharkiv = reg.hazard(refs["kharkiv"]).geometry
        town = shapely.Point(kyiv.centroid.x + 0.003, kyiv.centroid.y)  # about 200 m east
        reg.add_layer(
            "settlements",
            gpd.GeoDataFrame(
                {"population": [12_000.0], "name": ["synthetic town"]},
                geometry=[town],
                crs="EPSG:4326",
            ),
            name="synthetic-towns",
            source="synthetic test town",
            actor=ACTOR,
        )
        b = kharkiv.bounds
        road = shapely.LineString(
            [(b[0] - 0.01, kharkiv.centroid.y), (b[2] + 0.01, kharkiv.centroid.y)]
        )
        reg.add_layer(
            "roads",
            gpd.GeoDataFrame({"class": ["primary"]}, geometry=[road], crs="EPSG:4326"),
            name="synthetic-roads",
            source="synthetic test road",
            actor=ACTOR,
        )
        reg.add_records(
            "accidents",
            [
                {
                    "area_ref": refs["kyiv"],
                    "occurred_on": "2024-01-10",
                    "injured_civilian": 1,
                    "notes": "synthetic accident",
                    "geometry": kyiv.centroid,
                }
            ],
            actor=ACTOR,
        )


@pytest.fixture(scope="module")
def ranked_template(template: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template with the synthetic layers and accident, built once (never changed)."""
    path = copy_registry(template["path"], tmp_path_factory.mktemp("ranked") / "ranked.gpkg")
    _build(path, {k: template[k] for k in ("kyiv", "kharkiv", "forest")})
    return path


@pytest.fixture
def db(ranked_template: Path, tmp_path: Path) -> Path:
    """This test's own copy of the ranked template."""
    return copy_registry(ranked_template, tmp_path / "ranked.gpkg")


@pytest.fixture
def rreg(db: Path) -> Iterator[Registry]:
    with Registry.open(db) as reg:
        yield reg


def _comparable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {k: r[k] for k in ("rank", "ref", "score", "components", "contributions")} for r in rows
    ]


# -- the use case ------------------------------------------------------------------------------


def test_the_same_inputs_give_the_same_id_and_rows(rreg: Registry, refs: dict[str, str]) -> None:
    first = rreg.prioritize(as_of=AS_OF, actor=ACTOR)
    second = rreg.prioritize(as_of=AS_OF, actor=ACTOR)
    assert re.fullmatch(r"[0-9a-f]{16}", first.id)
    assert second.id == first.id
    assert second.rows == first.rows
    assert [r["rank"] for r in first.rows] == [1, 2, 3]
    assert {r["ref"] for r in first.rows} == set(refs.values())
    for r in first.rows:
        assert list(r["components"]) == list(COMPONENTS)
        assert sum(r["contributions"].values()) == pytest.approx(r["score"], rel=1e-12)
    # the area beside the town, with an accident, comes first
    assert first.rows[0]["ref"] == refs["kyiv"]
    assert first.rows[0]["components"]["people"] == 12_000.0
    assert first.rows[0]["components"]["accidents"] == 1.0
    # the road through the orchard counts for the orchard only
    roads = {r["ref"]: r["components"]["roads"] for r in first.rows}
    assert roads[refs["kharkiv"]] > 0 and roads[refs["kyiv"]] == roads[refs["forest"]] == 0


def test_comments_and_spacing_do_not_change_the_id(rreg: Registry) -> None:
    default = rreg.prioritize(as_of=AS_OF, actor=ACTOR)
    said_again = rreg.prioritize(config_text=WEIGHTS_ONLY_COMMENTS, as_of=AS_OF, actor=ACTOR)
    assert said_again.id == default.id and said_again.rows == default.rows


def test_a_changed_weight_date_or_status_list_gives_a_new_id(rreg: Registry) -> None:
    default = rreg.prioritize(as_of=AS_OF, actor=ACTOR)
    heavier = rreg.prioritize(config_text="[weights]\nroads = 101.0\n", as_of=AS_OF, actor=ACTOR)
    later = rreg.prioritize(as_of=AS_OF + dt.timedelta(days=1), actor=ACTOR)
    fewer = rreg.prioritize(
        config_text='[ranking]\nstatuses = ["confirmed"]\n', as_of=AS_OF, actor=ACTOR
    )
    assert len({default.id, heavier.id, later.id, fewer.id}) == 4
    assert [r["ref"] for r in fewer.rows] == [
        r["ref"] for r in default.rows if r["components"]["status"] == 300.0
    ]


def test_an_edit_of_a_hazard_gives_a_new_id(rreg: Registry, refs: dict[str, str]) -> None:
    before = rreg.prioritize(as_of=AS_OF, actor=ACTOR)
    rreg.update_record(
        "hazards", refs["forest"], {"notes": "checked again (synthetic)"}, actor=ACTOR
    )
    after = rreg.prioritize(as_of=AS_OF, actor=ACTOR)
    assert after.id != before.id
    assert after.rows == before.rows  # a note changes no score, but the state did change


def test_a_new_layer_gives_a_new_id(rreg: Registry, refs: dict[str, str]) -> None:
    before = rreg.prioritize(as_of=AS_OF, actor=ACTOR)
    centre = rreg.hazard(refs["forest"]).geometry.centroid
    rreg.add_layer(
        "buildings",
        gpd.GeoDataFrame(geometry=[centre], crs="EPSG:4326"),
        name="synthetic-houses",
        actor=ACTOR,
    )
    after = rreg.prioritize(as_of=AS_OF, actor=ACTOR)
    assert after.id != before.id
    assert {r["ref"]: r["components"]["buildings"] for r in after.rows}[refs["forest"]] == 1.0


def test_a_missing_layer_is_a_warning_and_its_component_zero(rreg: Registry) -> None:
    ranked = rreg.prioritize(as_of=AS_OF, actor=ACTOR)
    assert len(ranked.warnings) == 3
    for kind, component in (
        ("buildings", "buildings"),
        ("landuse", "farmland"),
        ("facilities", "facilities"),
    ):
        assert any(f"no {kind} layer" in w and component in w for w in ranked.warnings)
        assert all(r["components"][component] == 0.0 for r in ranked.rows)


def test_a_saved_ranking_reproduces_exactly(rreg: Registry) -> None:
    saved = rreg.prioritize(as_of=AS_OF, save=True, actor=ACTOR)
    assert saved.saved and not saved.already_saved
    stored = rreg.ranking(saved.id)
    assert stored["created_by"] == ACTOR and stored["as_of"] == AS_OF.isoformat()
    assert stored["config"] == saved.config.text and stored["areas"] == 3
    assert stored["inputs"]["layers"][0]["name"] == "synthetic-roads"
    rerun = rreg.prioritize(as_of=AS_OF, actor=ACTOR)
    assert rerun.id == saved.id
    # to the last bit: scores and components read back from the registry are the same floats
    assert _comparable(stored["rows"]) == _comparable(rerun.rows)
    again = rreg.prioritize(as_of=AS_OF, save=True, actor=ACTOR)
    assert again.saved and again.already_saved
    assert [r["id"] for r in rreg.rankings()] == [saved.id]
    assert rreg.ranking()["id"] == saved.id  # the latest
    page = rreg.ranking(limit=1, offset=1)
    assert [r["rank"] for r in page["rows"]] == [2]


def test_no_saved_ranking_is_not_found(rreg: Registry, refs: dict[str, str]) -> None:
    with pytest.raises(NotFound, match="no ranking is saved"):
        rreg.ranking()
    with pytest.raises(NotFound, match="no ranking is saved"):
        rreg.explain_priority(refs["kyiv"])
    assert rreg.latest_ranks() == (None, {})


def test_an_explanation_adds_up_to_the_saved_score(rreg: Registry, refs: dict[str, str]) -> None:
    saved = rreg.prioritize(as_of=AS_OF, save=True, actor=ACTOR)
    got = rreg.explain_priority(refs["kyiv"])
    assert got["ranking_id"] == saved.id and got["rank"] == 1 and got["detail_current"]
    assert [ln["component"] for ln in got["lines"]] == list(COMPONENTS)
    for ln in got["lines"]:
        assert ln["contribution"] == ln["weight"] * ln["raw"]
        assert ln["how"] and ln["unit"]
    assert sum(ln["contribution"] for ln in got["lines"]) == pytest.approx(got["score"])
    people = next(ln for ln in got["lines"] if ln["component"] == "people")
    assert "12,000 people" in people["how"]
    assert rreg.latest_ranks() == (saved.id, {r["ref"]: r["rank"] for r in saved.rows})
    # the registry changes: the saved values stay, and the explanation says so
    rreg.update_record("hazards", refs["kyiv"], {"notes": "synthetic edit"}, actor=ACTOR)
    later = rreg.explain_priority(refs["kyiv"], saved.id)
    assert not later["detail_current"] and "changed since" in later["note"]
    assert [ln["raw"] for ln in later["lines"]] == [ln["raw"] for ln in got["lines"]]
    with pytest.raises(NotFound):
        rreg.explain_priority("UA-1999-99999")
    with pytest.raises(NotFound, match="no saved ranking with this id"):
        rreg.explain_priority(refs["kyiv"], "0" * 16)


def test_a_saved_ranking_is_refused_if_the_registry_changed_meanwhile(
    rreg: Registry, refs: dict[str, str]
) -> None:
    from landrelease import prioritising
    from landrelease.domain.errors import ConflictError

    ranked = rreg.prioritize(as_of=AS_OF, actor=ACTOR)
    with rreg.store.unit_of_work() as uow:
        state = prioritising.read_state(uow)
    rreg.update_record("hazards", refs["kyiv"], {"notes": "synthetic edit"}, actor=ACTOR)
    with pytest.raises(ConflictError, match="changed while"):
        prioritising._save(rreg, ranked, state, ACTOR)
    assert rreg.rankings() == []


def test_a_local_cluster_gives_identical_rows(rreg: Registry) -> None:
    single = rreg.prioritize(as_of=AS_OF, actor=ACTOR)
    cluster = rreg.prioritize(as_of=AS_OF, actor=ACTOR, workers=2)
    assert cluster.id == single.id and cluster.rows == single.rows


def test_workers_and_scheduler_together_are_refused(rreg: Registry) -> None:
    with pytest.raises(ValidationError, match="not both"):
        rreg.prioritize(actor=ACTOR, workers=2, scheduler="tcp://127.0.0.1:8786")


def test_an_empty_registry_ranks_nothing(empty_reg: Registry) -> None:
    ranked = empty_reg.prioritize(as_of=AS_OF, actor=ACTOR, save=True)
    assert ranked.rows == [] and len(ranked.warnings) == 5 and ranked.saved
    assert empty_reg.ranking()["rows"] == []


# -- the command line --------------------------------------------------------------------------


def test_prioritize_json_is_an_array_by_rank(run_cli: Any, db: Path) -> None:
    code, out, err = run_cli(["prioritize", "--db", db, "--at", AS_OF, "--json"])
    assert code == 0, err
    rows = json.loads(out)
    assert [r["rank"] for r in rows] == [1, 2, 3]
    assert len({r["ranking_id"] for r in rows}) == 1
    for r in rows:
        assert set(r) == {"rank", "ref", "score", "components", "ranking_id"}
        assert list(r["components"]) == list(COMPONENTS)
    assert "warning: no buildings layer" in err
    code, out, err = run_cli(["prioritize", "--db", db, "--at", AS_OF, "--json", "--top", "1"])
    assert code == 0 and [r["rank"] for r in json.loads(out)] == [1]


def test_prioritize_save_twice_says_it_is_saved_already(run_cli: Any, db: Path) -> None:
    code, out, err = run_cli(["prioritize", "--db", db, "--at", AS_OF, "--save"])
    assert code == 0, err
    rid = re.search(r"Saved ranking ([0-9a-f]{16})", out)
    assert rid, out
    code, out, err = run_cli(["prioritize", "--db", db, "--at", AS_OF, "--save"])
    assert code == 0, err
    assert f"Ranking {rid[1]} is already saved" in out
    code, out, err = run_cli(["priority", "history", "--db", db, "--json"])
    assert code == 0 and [r["id"] for r in json.loads(out)] == [rid[1]]
    code, out, err = run_cli(["priority", "history", "--db", db])
    assert code == 0 and rid[1] in out


def test_priority_explain_prints_each_component(
    run_cli: Any, db: Path, refs: dict[str, str]
) -> None:
    assert run_cli(["prioritize", "--db", db, "--at", AS_OF, "--save"])[0] == 0
    code, out, err = run_cli(["priority", "explain", refs["kyiv"], "--db", db, "--json"])
    assert code == 0, err
    got = json.loads(out)
    assert [ln["component"] for ln in got["lines"]] == list(COMPONENTS)
    for ln in got["lines"]:
        assert set(ln) == {"component", "raw", "unit", "weight", "contribution", "how"}
    code, out, err = run_cli(["priority", "explain", refs["kyiv"], "--db", db])
    assert code == 0, err
    assert f"{refs['kyiv']}: rank 1 of 3" in out
    for c in COMPONENTS:
        assert re.search(rf"^{c}: .+ points$", out, re.M), c
    code, out, err = run_cli(["priority", "explain", "UA-1999-99999", "--db", db])
    assert code == 2 and err.count("\n") == 1


def test_a_bad_config_exits_2_naming_the_line(run_cli: Any, db: Path, tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("# synthetic\n[weights]\npeople = 1.0\nroads = -3\n")
    code, out, err = run_cli(["prioritize", "--db", db, "--config", config])
    assert code == 2 and err.count("\n") == 1
    assert "weights.roads" in err and "line 4" in err and str(config) in err
    config.write_text("[weights]\nroad = 1\n")
    code, out, err = run_cli(["prioritize", "--db", db, "--config", config])
    assert code == 2 and "line 2" in err and "unknown component 'road'" in err
    code, out, err = run_cli(["prioritize", "--db", db, "--config", tmp_path / "none.toml"])
    assert code == 2 and "--config" in err


def test_a_bad_out_exits_2_naming_out(run_cli: Any, db: Path, tmp_path: Path) -> None:
    for bad in (tmp_path / "ranking.txt", tmp_path / "missing" / "ranking.csv"):
        code, out, err = run_cli(["prioritize", "--db", db, "--out", bad])
        assert code == 2 and err.startswith("error: --out:"), err
    taken = tmp_path / "taken.csv"
    taken.write_text("synthetic")
    code, out, err = run_cli(["prioritize", "--db", db, "--out", taken])
    assert code == 2 and "--out" in err and taken.read_text() == "synthetic"
    code, out, err = run_cli(["prioritize", "--db", db, "--workers", "2", "--scheduler", "x"])
    assert code == 2 and "--scheduler" in err


@pytest.mark.parametrize("suffix", [".csv", ".gpkg", ".geojson"])
def test_out_writes_the_fields_and_the_outline(
    run_cli: Any, db: Path, tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / f"ranking{suffix}"
    code, out, err = run_cli(["prioritize", "--db", db, "--at", AS_OF, "--out", path])
    assert code == 0, err
    code, out, _ = run_cli(["prioritize", "--db", db, "--at", AS_OF, "--json"])
    rows = json.loads(out)
    if suffix == ".csv":
        import pandas as pd

        frame = pd.read_csv(path, encoding="utf-8-sig")
        outlines = shapely.from_wkt(frame["geometry"].to_numpy(dtype=str))
    else:
        frame = gpd.read_file(path)
        outlines = np.asarray(frame.geometry.values, dtype=object)
    assert list(frame["rank"]) == [1, 2, 3]
    assert list(frame["ref"]) == [r["ref"] for r in rows]
    assert set(frame["ranking_id"]) == {rows[0]["ranking_id"]}
    for c in COMPONENTS:
        assert list(frame[c]) == pytest.approx([r["components"][c] for r in rows])
    assert list(frame["score"]) == pytest.approx([r["score"] for r in rows])
    with Registry.open(db) as reg:
        exact = [reg.hazard(r["ref"]).geometry for r in rows]
    assert all(
        shapely.equals_exact(a, b, tolerance=1e-7) or a.equals(b)
        for a, b in zip(outlines, exact, strict=True)
    )


# -- the demo ----------------------------------------------------------------------------------


def test_the_demo_prints_its_top_10_with_reasons(
    run_cli: Any, new_registry: NewRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    import functools

    import landrelease.demo

    small = functools.partial(landrelease.demo.build_demo, areas=40)
    monkeypatch.setattr(landrelease.demo, "build_demo", small)
    path = new_registry("demo")
    code, out, err = run_cli(["demo", "--db", path])
    assert code == 0, err
    head = re.search(r"^Priority: ranking ([0-9a-f]{16}) as of \S+ \((\d+) open areas\)", out, re.M)
    assert head, out
    lines = re.findall(
        r"^ ?(\d+)\. (\S+) \((\w+)\) .+, score [\d,]+: (.+ pts \(\d+%\).*)$", out, re.M
    )
    assert [int(n) for n, *_ in lines] == list(range(1, 11))
    with Registry.open(path) as reg:
        saved = reg.ranking(head[1], limit=10)
    assert [r["ref"] for r in saved["rows"]] == [ref for _, ref, _, _ in lines]
    assert all(status in ("suspected", "confirmed", "in_progress") for _, _, status, _ in lines)
    scores = [r["score"] for r in saved["rows"]]
    assert scores == sorted(scores, reverse=True)
