"""Every bad input a new user met, through the command line: exit 2, one line, data unchanged.

A table of cases: each builds its input in tmp_path, runs one command in-process and expects
exit 2 with one line naming what is wrong (and words that say how to fix it), with the
registry byte-for-byte as it was; or, where the input is acceptable, exit 0. Exit 1 means a
bug, and no case here may give it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import shapely

from fixtures import KYIV, hazard, polygon, snapshot, write_geojson

Build = Callable[[Path, Path, dict[str, str]], list[Any]]  # (tmp, db, refs) -> CLI args


@dataclass
class Case:
    name: str
    build: Build
    words: tuple[str, ...] = ()
    code: int = 2
    env: dict[str, str] = field(default_factory=dict)
    marks: tuple[pytest.MarkDecorator, ...] = ()


def _geojson_text(path: Path, coordinates: str, props: str = '{"name": "x"}') -> Path:
    path.write_text(
        '{"type": "FeatureCollection", "features": ['
        '{"type": "Feature", "properties": {"name": "fine"}, "geometry": '
        + json.dumps(shapely.geometry.mapping(polygon(60)))
        + "},"
        f'{{"type": "Feature", "properties": {props}, "geometry": '
        f'{{"type": "Polygon", "coordinates": {coordinates}}}}}]}}',
        encoding="utf-8",
    )
    return path


def _ring(last: str = "[30.5, 50.45]", third: str = "[30.51, 50.46]") -> str:
    return f"[[[30.5, 50.45], [30.51, 50.45], {third}, [30.5, 50.46], {last}]]"


def _plain_sqlite(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (a)")
    conn.commit()
    conn.close()
    return path


def _cut(source: Path, dest: Path, share: float) -> Path:
    conn = sqlite3.connect(source)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = source.read_bytes()
    dest.write_bytes(data[: int(len(data) * share)])
    return dest


def _gpkg_export(tmp: Path, db: Path) -> Path:
    """A real GeoPackage of two new areas, made by the export command's writer."""
    import geopandas as gpd

    path = tmp / "areas.gpkg"
    gdf = gpd.GeoDataFrame(
        {"name": ["g1", "g2"], "status": ["suspected"] * 2, "evidence": ["informant"] * 2},
        geometry=[polygon(61), polygon(62)],
        crs="EPSG:4326",
    )
    gdf.to_file(path, layer="areas", driver="GPKG")
    return path


def _cp1251_csv(tmp: Path) -> Path:
    path = tmp / "areas-cp1251.csv"
    rows = [
        "name,status,evidence,wkt",
        f'"Поле біля Ізюма",suspected,informant,"{polygon(63).wkt}"',
        f'"Ліс",suspected,informant,"{polygon(64).wkt}"',
    ]
    path.write_bytes("\n".join(rows).encode("cp1251"))
    return path


CASES = [
    Case(
        "the same geometry imported twice",
        lambda tmp, db, refs: [
            "import",
            write_geojson(tmp / "dup.geojson", [hazard(0, name="again")]),
        ],
        ("probable duplicate", "geometry"),
    ),
    Case(
        "--db names a folder", lambda tmp, db, refs: ["hazards", "list", "--db", tmp], ("folder",)
    ),
    Case(
        "init in a missing folder",
        lambda tmp, db, refs: ["init", "--db", tmp / "missing" / "dir" / "x.gpkg"],
        ("does not exist",),
    ),
    Case(
        "--db names a plain SQLite file",
        lambda tmp, db, refs: ["hazards", "list", "--db", _plain_sqlite(tmp / "plain.gpkg")],
        ("not a landrelease registry",),
    ),
    Case(
        "--db names a registry cut short",
        lambda tmp, db, refs: ["hazards", "list", "--db", _cut(db, tmp / "cut.gpkg", 0.5)],
        ("damaged or cut short",),
        marks=(pytest.mark.sqlite_only(reason="cuts the registry file short"),),
    ),
    Case(
        "a NaN coordinate",
        lambda tmp, db, refs: [
            "import",
            _geojson_text(tmp / "nan.geojson", _ring(third="[NaN, 50.46]")),
        ],
        ("not a finite number", "row 2"),
    ),
    Case(
        "a NaN coordinate with --repair",
        lambda tmp, db, refs: [
            "import",
            _geojson_text(tmp / "nan.geojson", _ring(third="[NaN, 50.46]")),
            "--repair",
        ],
        ("not a finite number",),
    ),
    Case(
        "an infinite coordinate",
        lambda tmp, db, refs: [
            "import",
            _geojson_text(tmp / "inf.geojson", _ring(third="[30.51, Infinity]")),
        ],
        ("not a finite number", "vertex 3"),
    ),
    Case(
        "an unclosed ring",
        lambda tmp, db, refs: [
            "import",
            _geojson_text(tmp / "open.geojson", _ring(last="[30.5, 50.461]")),
        ],
        ("not closed", "row 2"),
    ),
    Case(
        "an unclosed ring with --repair",
        lambda tmp, db, refs: [
            "import",
            _geojson_text(tmp / "open.geojson", _ring(last="[30.5, 50.461]")),
            "--repair",
        ],
        code=0,
    ),
    Case(
        "a plain SQLite file to import",
        lambda tmp, db, refs: ["import", _plain_sqlite(tmp / "plain-import.gpkg")],
        ("not a GeoPackage",),
    ),
    Case(
        "a GeoPackage cut short to import",
        lambda tmp, db, refs: [
            "import",
            _cut(_gpkg_export(tmp, db), tmp / "cut-import.gpkg", 0.6),
        ],
        ("damaged or cut short",),
    ),
    Case(
        "a cp1251 CSV read as UTF-8",
        lambda tmp, db, refs: ["import", _cp1251_csv(tmp)],
        ("row 1", "--encoding cp1251"),
    ),
    Case(
        "a cp1251 CSV with --encoding cp1251",
        lambda tmp, db, refs: ["import", _cp1251_csv(tmp), "--encoding", "cp1251"],
        code=0,
    ),
    Case(
        "an unknown --encoding",
        lambda tmp, db, refs: ["import", _cp1251_csv(tmp), "--encoding", "klingon-8"],
        ("klingon-8",),
    ),
    Case(
        "an accident dated 2099",
        lambda tmp, db, refs: [
            "import",
            write_geojson(
                tmp / "acc.geojson",
                [
                    {
                        "area_ref": refs["kyiv"],
                        "occurred_on": "2099-01-01",
                        "geometry": shapely.Point(*KYIV),
                    }
                ],
            ),
            "--kind",
            "accidents",
        ],
        ("occurred_on", "in the future"),
    ),
    Case(
        "a polygon with Z values",
        lambda tmp, db, refs: [
            "import",
            write_geojson(
                tmp / "z.geojson", [hazard(65, geometry=shapely.force_3d(polygon(65), 99.0))]
            ),
        ],
        code=0,
    ),
    Case(
        "an illegal status change",
        lambda tmp, db, refs: ["hazards", "set-status", refs["kyiv"], "released"],
        ("cannot change status",),
    ),
    Case(
        "an unknown status",
        lambda tmp, db, refs: ["hazards", "set-status", refs["kyiv"], "bogus"],
        ("bogus",),
    ),
    Case(
        "a bad busy timeout setting",
        lambda tmp, db, refs: ["hazards", "set-status", refs["kyiv"], "confirmed"],
        ("LANDRELEASE_BUSY_TIMEOUT_MS",),
        env={"LANDRELEASE_BUSY_TIMEOUT_MS": "soon"},
    ),
    Case(
        "a bad future-date tolerance setting",
        lambda tmp, db, refs: [
            "import",
            write_geojson(tmp / "ok.geojson", [hazard(66)]),
        ],
        ("LANDRELEASE_FUTURE_DATE_TOLERANCE_DAYS",),
        env={"LANDRELEASE_FUTURE_DATE_TOLERANCE_DAYS": "a week"},
    ),
]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name, marks=c.marks) for c in CASES])
def test_bad_input_is_exit_2_with_one_line_and_nothing_changed(
    case: Case,
    registry_path: Path,
    refs: dict[str, str],
    tmp_path: Path,
    run_cli: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for k, v in case.env.items():
        monkeypatch.setenv(k, v)
    args = [str(a) for a in case.build(tmp_path, registry_path, refs)]
    if "--db" not in args:
        args += ["--db", str(registry_path)]
    before = snapshot(registry_path)
    code, out, err = run_cli(args)
    assert code == case.code, (code, err)
    if case.code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), err
        for w in case.words:
            assert w in err, (w, err)
        assert snapshot(registry_path) == before


def test_a_busy_registry_is_exit_2_naming_what_holds_it(
    registry_path: Path, refs: dict[str, str], run_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from landrelease.registry import Registry

    monkeypatch.setenv("LANDRELEASE_BUSY_TIMEOUT_MS", "100")
    with (
        Registry.open(registry_path) as reg,
        reg.store.unit_of_work(write=True, note="an import by alice"),
    ):
        code, _out, err = run_cli(
            ["hazards", "set-status", refs["kyiv"], "confirmed", "--db", registry_path]
        )
    assert code == 2 and "busy" in err and "an import by alice" in err, err
    assert len(err.strip().splitlines()) == 1
