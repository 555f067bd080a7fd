"""Saved rankings in the store: written once, read back exactly, never changed nor deleted.

The rankings here are synthetic: made-up scores of the template's areas.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from conftest import ACTOR
from fixtures import snapshot
from landrelease.registry import Registry

CONFIG = "# synthetic test configuration\n[weights]\npeople = 1.0\n"


def ranking(ranking_id: str, at: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": ranking_id,
        "created_at": at,
        "created_by": ACTOR,
        "as_of": dt.date(2024, 5, 1),
        "config": CONFIG,
        "inputs": {"layers": {"roads": "ab" * 32}, "engine": "1", "registry": "cd" * 8},
        **extra,
    }


def areas(refs: list[str]) -> list[dict[str, Any]]:
    # 0.1 + 0.2 is not 0.3: the stored number must be the very float given
    return [
        {
            "rank": i + 1,
            "ref": ref,
            "score": 0.1 + 0.2 * (len(refs) - i),
            "components": {"people": 1240.5 / (i + 1), "roads": 0.1 + 0.2, "residual": 0.0},
        }
        for i, ref in enumerate(refs)
    ]


def save(reg: Registry, r: dict[str, Any], rows: list[dict[str, Any]]) -> bool:
    with reg.store.unit_of_work(write=True) as uow:
        return uow.rankings.add(r, rows)


def test_a_saved_ranking_reads_back_exactly(reg: Registry, refs: dict[str, str]) -> None:
    order = [refs["kharkiv"], refs["kyiv"], refs["forest"]]
    rows = areas(order)
    assert save(reg, ranking("a1", "2024-05-01T10:00:00.000Z"), rows)
    with reg.store.unit_of_work() as uow:
        got = uow.rankings.get("a1")
        back = uow.rankings.areas("a1")
        assert uow.rankings.get("nope") is None and uow.rankings.areas("nope") == []
    assert got == {
        **ranking("a1", "2024-05-01T10:00:00.000Z"),
        "as_of": "2024-05-01",
        "areas": 3,
    }
    assert back == rows  # floats to the last bit, in rank order


def test_latest_and_all_follow_the_time_saved(reg: Registry, refs: dict[str, str]) -> None:
    with reg.store.unit_of_work() as uow:
        assert uow.rankings.latest() is None and uow.rankings.all() == []
    one = [refs["kyiv"]]
    save(reg, ranking("old", "2024-05-01T10:00:00.000Z"), areas(one))
    save(reg, ranking("new", "2024-06-01T10:00:00.000Z"), areas(one))
    save(reg, ranking("mid", "2024-05-15T10:00:00.000Z"), areas(one))
    with reg.store.unit_of_work() as uow:
        latest = uow.rankings.latest()
        listed = [r["id"] for r in uow.rankings.all()]
    assert latest is not None and latest["id"] == "new"
    assert listed == ["old", "mid", "new"]


def test_the_same_id_is_saved_once(
    reg: Registry, registry_path: Path, refs: dict[str, str]
) -> None:
    assert save(reg, ranking("same", "2024-05-01T10:00:00.000Z"), areas([refs["kyiv"]]))
    before = snapshot(registry_path)
    later = ranking("same", "2024-07-01T10:00:00.000Z", created_by="someone else")
    assert not save(reg, later, areas([refs["forest"]]))
    assert snapshot(registry_path) == before


@pytest.mark.sqlite_only(
    reason="the file's triggers, with sqlite3 (PostGIS: test_store_postgis_tables.py)"
)
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE landrelease_rankings SET config = 'weights bent'",
        "DELETE FROM landrelease_rankings",
        "UPDATE landrelease_ranking_areas SET rank = 1",
        "UPDATE landrelease_ranking_areas SET score = score * 2 WHERE rank = 3",
        "DELETE FROM landrelease_ranking_areas WHERE rank = 3",
    ],
)
def test_saved_rankings_are_append_only_for_any_client(
    reg: Registry, registry_path: Path, refs: dict[str, str], sql: str
) -> None:
    save(reg, ranking("kept", "2024-05-01T10:00:00.000Z"), areas(list(refs.values())))
    before = snapshot(registry_path)
    conn = sqlite3.connect(registry_path)  # as QGIS or any SQL client would
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(sql)
    finally:
        conn.close()
    assert snapshot(registry_path) == before


@pytest.mark.sqlite_only(
    reason="the file's triggers, with sqlite3 (PostGIS: test_store_postgis_tables.py)"
)
def test_a_failed_save_leaves_nothing(
    reg: Registry, registry_path: Path, refs: dict[str, str]
) -> None:
    before = snapshot(registry_path)
    rows = areas([refs["kyiv"], refs["kyiv"]])  # one area twice: the key refuses it
    with pytest.raises(sqlite3.IntegrityError):
        save(reg, ranking("twice", "2024-05-01T10:00:00.000Z"), rows)
    assert snapshot(registry_path) == before


@pytest.mark.sqlite_only(
    reason="the file's triggers, with sqlite3 (PostGIS: test_store_postgis_tables.py)"
)
def test_a_new_registry_has_the_tables_and_guards(registry_path: Path) -> None:
    conn = sqlite3.connect(registry_path)
    try:
        names = {
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        }
        registered = {r[0] for r in conn.execute("SELECT table_name FROM gpkg_contents")}
    finally:
        conn.close()
    for table in ("landrelease_rankings", "landrelease_ranking_areas"):
        assert {f"{table}_no_update", f"{table}_no_delete"} <= names
        assert table not in registered  # internal tables: no layer in a GIS
    assert "landrelease_reference_layers" not in registered
