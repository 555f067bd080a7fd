"""Benchmark: prioritisation at country scale, ours against a geopandas loop and DuckDB spatial.

Data (bench/priority_data.py, synthetic, seed 17): 100,000 hazard areas (the tessellated
registry layout of bench/hazard_data.py), 1,000,000 building points, 200,000 road segments,
30,000 settlements, 20,000 land-use polygons, 20,000 facilities and 5,000 dated accidents;
`--scale` multiplies every count (0.01 runs in seconds).

Ours, two ways:
- end to end through the registry, as `landrelease prioritize` reaches it: `Registry.open`
  and `Registry.prioritize` (one snapshot read of the areas, items, events and accidents, the
  reference layers read from their GeoPackage tables, the residual model for the 30% of areas
  with contamination events, every component, the scores, the ranks and the rows). The
  registry is built once per size with the CLI (`landrelease init`, `import` of the areas,
  accidents, events and items, `layers add` of each layer) and cached in bench/data/;
- per component, the engine's own time on the same data in memory
  (`priority_data.time_stages`: each stage of `compute_components` one after another), and
  `compute_components` whole.

Peers, on the same data, with the same metric coordinates (projected once in Python to the
country's equal-area projection, exactly as the engine projects them):
- DuckDB with its spatial extension (pip `duckdb` and `duckdb-extension-spatial`, loaded from
  the file the pip package ships): the metric geometries handed over as WKB and points as x, y,
  then one SQL query per component (spatial joins on ST_DWithin / ST_Intersects, ST_Distance,
  ST_Intersection), all threads of the machine;
- a straightforward geopandas implementation that loops over the areas (a spatial-index query
  per area, then the exact measure on the candidates), run on a seeded subsample of
  `--sample` areas and scaled to the full count (index builds counted once, not scaled).

Each run prints, per component and end to end, the seconds of each engine, the ratios
ours/peer (under 1: ours is faster), and whether every engine agrees with ours on every area
to 1e-6 relative (the loop on its subsample; the registry's ranking on every component but
residual, which the registry takes from the residual model and the in-memory data draw). The
machine's load average is printed before and after: on a shared 2-core machine figures under
load are noisy. Ours and DuckDB are timed `--runs` times, interleaved; medians are printed.

    .venv/bin/python bench/priority.py                 # the issue's scale: ~2 min (+1 min once)
    .venv/bin/python bench/priority.py --scale 0.01    # a quick small run (seconds)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from hazard_data import DATA, data_file
from priority_data import AS_OF, benchmark_inputs, time_stages

from landrelease.domain.geometry import equal_area
from landrelease.priority import (
    COMPONENTS,
    Inputs,
    PriorityConfig,
    ReferenceLayer,
    compute_components,
    load_config,
)
from landrelease.priority.measure import project, project_points
from landrelease.registry import Registry

EXE = str(Path(sys.executable).with_name("landrelease"))
SYNTHETIC = "synthetic benchmark"
VERSION = "v1"  # of the cached registry: bump when priority_data or the build changes
RTOL = 1e-6
TARGET_S = 15.0
SPATIAL = ("people", "buildings", "facilities", "roads", "farmland", "accidents")


# -- the registry ----------------------------------------------------------------------------


def registry_file(inputs: Inputs, scale: float, seed: int) -> Path:
    """Return the cached registry of the benchmark's inputs, building it with the CLI on first
    use: init, import the areas (then accidents, events, items), `layers add` each layer."""
    from residual import make_areas, write_events  # bench/residual.py: its synthetic events

    db = DATA / f"priority-registry-{VERSION}-{scale:g}-{seed}.gpkg"
    if db.exists():
        return db
    n = len(inputs.areas)
    part = db.with_name(f"{db.stem}.part.gpkg")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{part}{suffix}").unlink(missing_ok=True)
    t = time.perf_counter()
    print(f"building the benchmark registry ({n:,} areas and its layers) -> {db}", flush=True)
    env = {**os.environ, "LANDRELEASE_ACTOR": SYNTHETIC}

    def cli(*args: str) -> None:  # the overlap warnings of the areas are not wanted here
        subprocess.run(
            [EXE, *args, "--db", str(part)], check=True, env=env, stdout=subprocess.DEVNULL
        )

    with tempfile.TemporaryDirectory(dir=DATA) as tmp:
        work = Path(tmp)
        cli("init")
        cli("import", str(data_file("tessellated", n)))
        cli("import", str(_accidents_file(inputs, work)), "--kind", "accidents")
        with Registry.open(part) as reg:
            cols = reg.hazard_columns(columns=["ref", "name"], geometry=False)
        refs = np.empty(n, dtype=object)
        refs[_area_index(cols["name"])] = np.asarray(cols["ref"], dtype=object)
        with_events = np.flatnonzero(np.isfinite(inputs.areas.residual_expected))
        events = work / "events.csv"
        write_events(events, list(refs[with_events]), make_areas(len(with_events)))
        cli("import", str(events), "--kind", "events")
        cli("import", str(_items_file(inputs, refs, work)), "--kind", "items")
        for kind, layer in inputs.layers.items():
            assert layer is not None
            path = work / f"{kind}.gpkg"
            frame = gpd.GeoDataFrame(layer.values, geometry=layer.geometry, crs="EPSG:4326")
            pyogrio.write_dataframe(frame, path, layer=kind, driver="GPKG")
            source = f"{SYNTHETIC}: bench/priority_data.py, seed {seed}, scale {scale:g}"
            cli("layers", "add", kind, str(path), "--name", f"synthetic-{kind}", "--source", source)
    part.rename(db)
    print(f"  built in {time.perf_counter() - t:.1f} s", flush=True)
    return db


def _area_index(names: Any) -> np.ndarray:
    """Return each area's row in the benchmark file, from its name ("... area 123")."""
    return np.array([int(str(s).rsplit(" ", 1)[1]) for s in names], dtype=np.int64)


def _accidents_file(inputs: Inputs, work: Path) -> Path:
    acc = inputs.accidents
    path = work / "accidents.gpkg"
    frame = gpd.GeoDataFrame(
        {
            "occurred_on": pd.Series(acc.dates).dt.strftime("%Y-%m-%d").to_numpy(dtype=object),
            "notes": f"{SYNTHETIC} accident",
        },
        geometry=acc.geometry,
        crs="EPSG:4326",
    )
    pyogrio.write_dataframe(frame, path, layer="accidents", driver="GPKG")
    return path


def _items_file(inputs: Inputs, refs: np.ndarray, work: Path) -> Path:
    """Write one item record per area with finds (its quantity the area's finds), inside it."""
    found = np.flatnonzero(inputs.areas.items_found > 0)
    path = work / "items.gpkg"
    frame = gpd.GeoDataFrame(
        {
            "area_ref": refs[found],
            "category": "uxo",
            "state": "destroyed",
            "quantity": inputs.areas.items_found[found],
            "found_on": "2025-05-01",
            "notes": f"{SYNTHETIC} item",
        },
        geometry=shapely.point_on_surface(inputs.areas.geometry[found]),
        crs="EPSG:4326",
    )
    pyogrio.write_dataframe(frame, path, layer="items", driver="GPKG")
    return path


@dataclass(frozen=True)
class RegistryRun:
    """One ranking through the registry: wall and CPU seconds, the seconds of each step it
    reported (opening the registry counted in the first), and each component by the areas'
    row in the benchmark file."""

    wall: float
    cpu: float
    steps: dict[str, float]
    values: dict[str, np.ndarray]


def registry_run(db: Path) -> RegistryRun:
    """Return the measures of opening the registry and ranking its areas (`prioritize`)."""
    marks: list[tuple[str, float]] = [("opening", time.perf_counter())]

    def progress(step: str, _done: int, _total: int) -> None:
        name = step.split(":")[0]  # "components: people" is one step, "components"
        if marks[-1][0] != name:
            marks.append((name, time.perf_counter()))

    c0, t0 = _cpu(), time.perf_counter()
    with Registry.open(db) as reg:
        ranking = reg.prioritize(actor=SYNTHETIC, as_of=AS_OF, progress=progress)
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    marks.append(("end", t0 + wall))
    steps: dict[str, float] = {}
    for (name, t), (_, t_next) in zip(marks, marks[1:], strict=False):
        steps[name] = steps.get(name, 0.0) + t_next - t
    with Registry.open(db) as reg:
        cols = reg.hazard_columns(columns=["ref", "name"], geometry=False)
    row_of = dict(zip(cols["ref"], _area_index(cols["name"]).tolist(), strict=True))
    rows = np.array([row_of[r["ref"]] for r in ranking.rows], dtype=np.int64)
    values = {}
    for c in COMPONENTS:
        values[c] = np.full(len(row_of), np.nan)
        values[c][rows] = [r["components"][c] for r in ranking.rows]
    return RegistryRun(wall, cpu, steps, values)


# -- the same data in metres, for the peers -----------------------------------------------------


class Metric:
    """The benchmark's inputs projected to the country's equal-area projection, as the engine
    projects them (`priority.measure`): areas and other shapes as metric geometries, points as
    x and y, with their attributes."""

    def __init__(self, inputs: Inputs) -> None:
        tr = equal_area(inputs.country)
        a = inputs.areas
        self.n = len(a)
        self.areas = project(a.geometry, tr)[0]
        self.status = np.asarray(a.status, dtype=object)
        self.items = np.asarray(a.items_found, dtype=float)
        self.residual = np.asarray(a.residual_expected, dtype=float)
        layers = inputs.layers
        self.points: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for kind in ("settlements", "buildings", "facilities"):
            self.points[kind] = project_points(_layer(layers, kind).geometry, tr)
        self.points["accidents"] = project_points(inputs.accidents.geometry, tr)
        self.population = np.asarray(_layer(layers, "settlements").values["population"], float)
        self.kind = np.asarray(_layer(layers, "facilities").values["kind"], dtype=object)
        self.roads = project(_layer(layers, "roads").geometry, tr)[0]
        self.road_class = np.asarray(_layer(layers, "roads").values["class"], dtype=object)
        self.landuse = project(_layer(layers, "landuse").geometry, tr)[0]
        self.landuse_class = np.asarray(_layer(layers, "landuse").values["class"], dtype=object)
        self.dates = np.asarray(inputs.accidents.dates, dtype="datetime64[D]")
        self.as_of = inputs.as_of


def _layer(layers: dict[str, ReferenceLayer | None], kind: str) -> ReferenceLayer:
    layer = layers.get(kind)
    if layer is None:
        raise SystemExit(f"the benchmark needs a {kind} layer")
    return layer


class Settings:
    """The configuration's distances, tables and weights, as the peers read them."""

    def __init__(self, config: PriorityConfig) -> None:
        v = config.values
        self.bands = [float(b) for b in v["people"]["bands_m"]]
        self.decay = [float(d) for d in v["people"]["decay"]]
        self.buildings_m = float(v["buildings"]["buffer_m"])
        self.facilities_m = float(v["facilities"]["buffer_m"])
        self.kinds = {k: float(w) for k, w in v["facilities"]["kinds"].items()}
        self.roads_m = float(v["roads"]["buffer_m"])
        self.classes = {k: float(w) for k, w in v["roads"]["classes"].items()}
        self.farmland = [str(c) for c in v["farmland"]["classes"]]
        self.accidents_m = float(v["accidents"]["radius_m"])
        self.window = int(v["accidents"]["window_days"])
        self.status = {k: float(p) for k, p in v["status"].items()}


# -- DuckDB spatial ---------------------------------------------------------------------------


def spatial_extension() -> Path:
    """Return the spatial extension file that pip's duckdb-extension-spatial ships for the
    installed duckdb (`INSTALL spatial` needs the internet; `LOAD '<file>'` does not)."""
    try:
        import duckdb
        import duckdb_extension_spatial
    except ImportError:
        raise SystemExit(
            "the DuckDB peer needs: .venv/bin/pip install duckdb==1.5.5 "
            "duckdb-extension-spatial==1.5.5 (or make bench-priority)"
        ) from None

    root = Path(duckdb_extension_spatial.__file__).parent / "extensions"
    found = sorted(root.glob("*/spatial.duckdb_extension"))
    for path in found:
        if path.parent.name == f"v{duckdb.__version__}":
            return path
    shipped = ", ".join(p.parent.name for p in found) or "none"
    raise SystemExit(
        f"duckdb-extension-spatial ships the extension for {shipped}, not for the installed "
        f"duckdb {duckdb.__version__}: pip install 'duckdb=={shipped.split(',')[0][1:]}'"
    )


class DuckPeer:
    """DuckDB with its spatial extension: the metric data in tables, one query per component."""

    def __init__(self, metric: Metric, config: PriorityConfig) -> None:
        self.ext = spatial_extension()  # first: it says what to install if duckdb is missing
        import duckdb

        self.m, self.s = metric, Settings(config)
        self.con = duckdb.connect()
        self.con.execute(f"LOAD '{self.ext}'")

    def describe(self) -> str:
        import duckdb

        threads = self.con.execute("SELECT current_setting('threads')").fetchone()
        return f"DuckDB {duckdb.__version__} + spatial ({self.ext.name}), {threads[0]} threads"

    def load(self) -> float:
        """Return the seconds taken to (re)make the tables: WKB and x, y into geometries."""
        m, s = self.m, self.s
        t = time.perf_counter()
        frames = {
            "areas": pd.DataFrame(
                {
                    "i": np.arange(m.n),
                    "wkb": shapely.to_wkb(m.areas),
                    "status": m.status,
                    "items": m.items,
                    "residual": m.residual,
                }
            ),
            "settlements": _xy(m.points["settlements"], population=m.population),
            "buildings": _xy(m.points["buildings"]),
            "facilities": _xy(m.points["facilities"], kind=m.kind),
            "accidents": _xy(m.points["accidents"], occurred=m.dates.astype("datetime64[s]")),
            "roads": pd.DataFrame({"wkb": shapely.to_wkb(m.roads), "class": m.road_class}),
            "landuse": pd.DataFrame({"wkb": shapely.to_wkb(m.landuse), "class": m.landuse_class}),
            "kinds": pd.DataFrame({"kind": list(s.kinds), "w": list(s.kinds.values())}),
            "classes": pd.DataFrame({"class": list(s.classes), "w": list(s.classes.values())}),
            "farm": pd.DataFrame({"class": s.farmland}),
            "points": pd.DataFrame({"status": list(s.status), "p": list(s.status.values())}),
        }
        for name, frame in frames.items():
            self.con.register(f"{name}_frame", frame)
            cols = "*"
            if "wkb" in frame:
                cols = "* EXCLUDE (wkb), ST_GeomFromWKB(wkb) AS geom"
            elif "x" in frame:
                cols = "* EXCLUDE (x, y), ST_Point(x, y) AS geom"
            self.con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT {cols} FROM {name}_frame")
            self.con.unregister(f"{name}_frame")
        return time.perf_counter() - t

    def sql(self, component: str) -> str:
        """Return the query of a component: one row (i, v) per area it gives a value."""
        s = self.s
        if component == "people":
            case = " ".join(
                f"WHEN d <= {b!r} THEN {w!r}" for b, w in zip(s.bands, s.decay, strict=True)
            )
            return (
                f"SELECT i, sum(population * CASE {case} ELSE 0.0 END) AS v FROM ("
                "SELECT a.i, p.population, ST_Distance(a.geom, p.geom) AS d "
                f"FROM areas a JOIN settlements p ON ST_DWithin(a.geom, p.geom, {s.bands[-1]!r})"
                ") GROUP BY i"
            )
        if component == "buildings":
            return (
                "SELECT a.i, count(*)::DOUBLE AS v FROM areas a JOIN buildings b "
                f"ON ST_DWithin(a.geom, b.geom, {s.buildings_m!r}) GROUP BY a.i"
            )
        if component == "facilities":
            return (
                "SELECT a.i, sum(coalesce(k.w, 0.0)) AS v FROM areas a JOIN facilities f "
                f"ON ST_DWithin(a.geom, f.geom, {s.facilities_m!r}) "
                "LEFT JOIN kinds k ON f.kind = k.kind GROUP BY a.i"
            )
        if component == "roads":
            # Flat: with the weights joined in an outer query, DuckDB 1.5 plans a cross
            # product of areas and roads instead of its spatial join (seen with EXPLAIN).
            area = "a.geom" if s.roads_m <= 0 else f"ST_Buffer(a.geom, {s.roads_m!r})"
            return (
                f"SELECT a.i, sum(ST_Length(ST_Intersection({area}, r.geom)) / 1000.0 "
                "* coalesce(c.w, 0.0)) AS v FROM areas a "
                f"JOIN roads r ON ST_Intersects({area}, r.geom) "
                "LEFT JOIN classes c ON r.class = c.class GROUP BY a.i"
            )
        if component == "farmland":
            return (
                "SELECT a.i, sum(ST_Area(ST_Intersection(a.geom, l.geom))) / 10000.0 AS v "
                "FROM areas a JOIN (SELECT geom FROM landuse WHERE class IN "
                "(SELECT class FROM farm)) l ON ST_Intersects(a.geom, l.geom) GROUP BY a.i"
            )
        if component == "accidents":
            as_of = self.m.as_of.isoformat()
            return (
                "SELECT a.i, count(*)::DOUBLE AS v FROM areas a JOIN (SELECT geom FROM accidents "
                f"WHERE date_diff('day', occurred::DATE, DATE '{as_of}') BETWEEN 0 AND "
                f"{s.window}) e ON ST_DWithin(a.geom, e.geom, {s.accidents_m!r}) GROUP BY a.i"
            )
        if component == "residual":
            return "SELECT i, CASE WHEN isnan(residual) THEN 0.0 ELSE residual END AS v FROM areas"
        if component == "status":
            return "SELECT i, coalesce(p.p, 0.0) AS v FROM areas LEFT JOIN points p USING (status)"
        if component == "evidence":
            return "SELECT i, items AS v FROM areas"
        raise KeyError(component)

    def unjoined(self) -> list[str]:
        """Return the spatial components whose query DuckDB does not plan as a spatial join."""
        plans = {c: self.con.execute(f"EXPLAIN {self.sql(c)}").fetchall()[0][1] for c in SPATIAL}
        return [c for c, plan in plans.items() if "SPATIAL_JOIN" not in plan]

    def component(self, component: str) -> tuple[float, np.ndarray]:
        """Return the seconds of a component's query (results fetched) and its value per area."""
        t = time.perf_counter()
        got = self.con.execute(self.sql(component)).fetchnumpy()
        out = np.zeros(self.m.n)
        out[np.asarray(got["i"], dtype=np.int64)] = np.asarray(got["v"], dtype=float)
        return time.perf_counter() - t, out


def _xy(xy: tuple[np.ndarray, np.ndarray], **columns: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"x": xy[0], "y": xy[1], **columns})


# -- a straightforward geopandas loop over the areas -------------------------------------------


class LoopPeer:
    """What one would write with geopandas first: per area, a spatial-index query of each layer,
    then the exact measure of the candidates with GeoSeries methods."""

    def __init__(self, metric: Metric, config: PriorityConfig) -> None:
        self.m, self.s = metric, Settings(config)

    def run(self, sample: np.ndarray) -> tuple[dict[str, float], dict[str, np.ndarray]]:
        """Return the seconds per component (the loop over `sample`, scaled to every area;
        "index": building the frames and their spatial indexes) and the values on `sample`."""
        m, s = self.m, self.s
        t = time.perf_counter()
        areas = gpd.GeoDataFrame(
            {"status": m.status, "items": m.items, "residual": m.residual}, geometry=m.areas
        )

        def points(layer: str, **columns: Any) -> gpd.GeoDataFrame:
            x, y = m.points[layer]
            return gpd.GeoDataFrame(columns, geometry=gpd.points_from_xy(x, y))

        layers = {
            "people": points("settlements", population=m.population),
            "buildings": points("buildings"),
            "facilities": points("facilities", kind=m.kind),
            "roads": gpd.GeoDataFrame({"class": m.road_class}, geometry=m.roads),
            "farmland": gpd.GeoDataFrame({"class": m.landuse_class}, geometry=m.landuse),
            "accidents": points("accidents", occurred=pd.to_datetime(m.dates)),
        }
        farm = layers["farmland"]
        layers["farmland"] = farm[farm["class"].isin(s.farmland)].reset_index(drop=True)
        for frame in layers.values():
            frame.sindex  # noqa: B018 -- built now, timed with the frames, not in the loop
        times = {"index": time.perf_counter() - t}
        values = {}
        as_of = pd.Timestamp(m.as_of)
        measures: dict[str, Callable[[Any, int], float]] = {
            "people": lambda g, _i: self._people(layers["people"], g),
            "buildings": lambda g, _i: float(
                len(layers["buildings"].sindex.query(g, "dwithin", distance=s.buildings_m))
            ),
            "facilities": lambda g, _i: self._facilities(layers["facilities"], g),
            "roads": lambda g, _i: self._roads(layers["roads"], g),
            "farmland": lambda g, _i: self._farmland(layers["farmland"], g),
            "accidents": lambda g, _i: self._accidents(layers["accidents"], g, as_of),
            "residual": lambda _g, i: float(np.nan_to_num(areas["residual"].iat[i])),
            "status": lambda _g, i: s.status.get(areas["status"].iat[i], 0.0),
            "evidence": lambda _g, i: float(areas["items"].iat[i]),
        }
        for c in COMPONENTS:
            t = time.perf_counter()
            values[c] = np.array([measures[c](areas.geometry.iat[i], i) for i in sample])
            times[c] = (time.perf_counter() - t) * m.n / len(sample)
        return times, values

    def _people(self, settlements: gpd.GeoDataFrame, area: Any) -> float:
        s = self.s
        near = settlements.iloc[settlements.sindex.query(area, "dwithin", distance=s.bands[-1])]
        d = near.distance(area).to_numpy()
        share = np.select([d <= b for b in s.bands], s.decay, 0.0)
        return float((near["population"].to_numpy() * share).sum())

    def _facilities(self, facilities: gpd.GeoDataFrame, area: Any) -> float:
        near = facilities.iloc[
            facilities.sindex.query(area, "dwithin", distance=self.s.facilities_m)
        ]
        return float(near["kind"].map(self.s.kinds).astype(float).fillna(0.0).sum())

    def _roads(self, roads: gpd.GeoDataFrame, area: Any) -> float:
        if self.s.roads_m > 0:
            area = area.buffer(self.s.roads_m)
        near = roads.iloc[roads.sindex.query(area, "intersects")]
        km = near.intersection(area).length / 1000.0
        return float((km * near["class"].map(self.s.classes).astype(float).fillna(0.0)).sum())

    def _farmland(self, farmland: gpd.GeoDataFrame, area: Any) -> float:
        near = farmland.iloc[farmland.sindex.query(area, "intersects")]
        return float(near.intersection(area).area.sum() / 10_000.0)

    def _accidents(self, accidents: gpd.GeoDataFrame, area: Any, as_of: pd.Timestamp) -> float:
        near = accidents.iloc[accidents.sindex.query(area, "dwithin", distance=self.s.accidents_m)]
        age = (as_of - near["occurred"]).dt.days
        return float(((age >= 0) & (age <= self.s.window)).sum())


# -- agreement ---------------------------------------------------------------------------------


def disagreement(ours: np.ndarray, peer: np.ndarray) -> tuple[float, int]:
    """Return the largest relative difference and how many areas differ by more than RTOL
    (relative to the larger of the two; two zeros agree; a missing value disagrees)."""
    a, b = np.asarray(ours, dtype=float), np.asarray(peer, dtype=float)
    scale = np.maximum(np.abs(a), np.abs(b))
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(scale > 0, np.abs(a - b) / scale, 0.0)
    rel = np.where(np.isnan(a) | np.isnan(b), np.inf, rel)
    return (float(rel.max()) if len(rel) else 0.0), int((rel > RTOL).sum())


def _agree(found: tuple[float, int] | None) -> str:
    if found is None:
        return "-"
    worst, bad = found
    return f"yes ({worst:.0e})" if bad == 0 else f"NO: {bad:,} ({worst:.1e})"


# -- the run -----------------------------------------------------------------------------------


def _cpu() -> float:
    return time.process_time()  # every thread of the process, DuckDB's too


@dataclass
class Results:
    """Everything one run measured: seconds per run, and each engine's values per area."""

    sizes: dict[str, int]
    runs: int
    project: float = 0.0  # the peers' projection in Python (shared, once)
    stages: dict[str, list[float]] = field(default_factory=dict)  # ours, per stage
    engine: list[tuple[float, float]] = field(default_factory=list)  # compute_components
    registry: list[RegistryRun] = field(default_factory=list)  # open + prioritize
    duck_load: list[float] = field(default_factory=list)
    duck: dict[str, list[float]] = field(default_factory=dict)
    duck_cpu: dict[str, list[float]] = field(default_factory=dict)  # CPU seconds, all threads
    loop: dict[str, float] = field(default_factory=dict)  # scaled; "index" once
    unjoined: list[str] = field(default_factory=list)
    sample: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    ours: dict[str, np.ndarray] = field(default_factory=dict)
    duck_values: dict[str, np.ndarray] = field(default_factory=dict)
    loop_values: dict[str, np.ndarray] = field(default_factory=dict)

    def median(self, what: str, key: str | None = None) -> float:
        """Return the median seconds of one stage of ours ("stages"), of DuckDB ("duck") or
        of a list of (wall, cpu) ("engine", "registry": the wall time)."""
        if what == "stages":
            return statistics.median(self.stages[str(key)])
        if what == "duck":
            return statistics.median(self.duck[str(key)])
        if what == "registry":
            return statistics.median(r.wall for r in self.registry)
        return statistics.median(w for w, _ in self.engine)


def run(args: argparse.Namespace) -> Results:
    """Return the measures of every engine on the benchmark data (see the module's docstring)."""
    t = time.perf_counter()
    inputs = benchmark_inputs(args.scale, args.seed)
    config = load_config()
    sizes = {"areas": len(inputs.areas), **{k: len(v) for k, v in inputs.layers.items() if v}}
    sizes["accidents"] = len(inputs.accidents)
    res = Results(sizes, args.runs)
    print(
        f"data: synthetic, seed {args.seed}, scale {args.scale:g}; generated in "
        f"{time.perf_counter() - t:.1f} s; {os.cpu_count()} cores",
        flush=True,
    )
    db = None if args.no_registry else registry_file(inputs, args.scale, args.seed)

    t = time.perf_counter()
    metric = Metric(inputs)
    res.project = time.perf_counter() - t
    duck = DuckPeer(metric, config)
    print(f"peers: {duck.describe()}; geopandas {gpd.__version__}, shapely {shapely.__version__}")
    for r in range(args.runs):  # interleaved, so that the machine's load falls on all alike
        if db is not None:
            res.registry.append(registry_run(db))
        for name, seconds in time_stages(inputs, config).items():
            res.stages.setdefault(name, []).append(seconds)
        c0, t0 = _cpu(), time.perf_counter()
        res.ours = compute_components(inputs, config)
        res.engine.append((time.perf_counter() - t0, _cpu() - c0))
        res.duck_load.append(duck.load())
        for c in COMPONENTS:
            c0 = _cpu()
            seconds, res.duck_values[c] = duck.component(c)
            res.duck_cpu.setdefault(c, []).append(_cpu() - c0)
            res.duck.setdefault(c, []).append(seconds)
        print(f"  run {r + 1} of {args.runs} done (load average {_load()})", flush=True)
    res.unjoined = duck.unjoined()

    n = len(inputs.areas)
    rng = np.random.default_rng(args.seed)
    res.sample = np.sort(rng.choice(n, min(args.sample, n), replace=False))
    res.loop, res.loop_values = LoopPeer(metric, config).run(res.sample)
    return res


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b > 0 else "-"


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


_COLUMNS = (
    ("stage", 18),
    ("ours", 7),
    ("DuckDB", 7),
    ("Duck CPU", 8),
    ("loop", 8),
    ("ours/Duck", 9),
    ("ours/loop", 9),
    ("DuckDB agrees", 17),
    ("loop agrees", 17),
    ("Registry agrees", 17),
)


def _line(*cells: str) -> str:
    """Return one row of the table: the first cell left-aligned, numbers right-aligned; a
    cell past the numbers runs on (a note)."""
    out = []
    for k, cell in enumerate(cells):
        width = _COLUMNS[k][1] if k < len(_COLUMNS) else 0
        out.append(cell.ljust(width) if k == 0 or k >= 7 else cell.rjust(width))
    return " ".join(out).rstrip()


def report(res: Results) -> None:
    """Print per component and end to end: each engine's seconds, the ratios, the checks."""
    n = res.sizes["areas"]
    print()
    print(", ".join(f"{v:,} {k}" for k, v in res.sizes.items()))
    print(
        f"seconds: ours and DuckDB the median of {res.runs} run(s) (Duck CPU: its CPU seconds, "
        f"all threads); the loop on {len(res.sample):,} areas, scaled to {n:,}; ratios "
        f"ours/peer (under 1: ours faster); agreement with ours to {RTOL:g} relative (the "
        "largest relative difference)"
    )
    print(_line(*(name for name, _ in _COLUMNS)))
    project = res.median("stages", "project areas") + res.median("stages", "project layers")
    shared = f"{res.project:.3f}"
    r = _ratio(project, res.project)
    print(_line("project", f"{project:.3f}", shared, "", shared, r, r, "(peers: once, shared)"))
    load = statistics.median(res.duck_load)
    index = f"{res.loop['index']:.3f}"
    print(_line("load / index", "", f"{load:.3f}", "", index, "", "", "(tables; frames, sindex)"))
    worst = ("", 0.0)
    for c in COMPONENTS:
        o, d, lp = res.median("stages", c), res.median("duck", c), res.loop[c]
        if c in SPATIAL and d > 0 and o / d > worst[1]:
            worst = (c, o / d)
        reg = None
        if res.registry and c != "residual":
            reg = disagreement(res.ours[c], res.registry[-1].values[c])
        cpu = statistics.median(res.duck_cpu[c])
        print(
            _line(
                c,
                f"{o:.3f}",
                f"{d:.3f}",
                f"{cpu:.3f}",
                f"{lp:.2f}",
                _ratio(o, d),
                _ratio(o, lp),
                _agree(disagreement(res.ours[c], res.duck_values[c])),
                _agree(disagreement(res.ours[c][res.sample], res.loop_values[c])),
                _agree(reg),
            )
        )
    ours_all = project + sum(res.median("stages", c) for c in COMPONENTS)
    duck_all = res.project + load + sum(res.median("duck", c) for c in COMPONENTS)
    loop_all = res.project + sum(res.loop.values())
    print(
        _line(
            "all components",
            f"{ours_all:.3f}",
            f"{duck_all:.3f}",
            "",
            f"{loop_all:.1f}",
            _ratio(ours_all, duck_all),
            _ratio(ours_all, loop_all),
            "(project + load or index + every component)",
        )
    )
    engine_cpu = statistics.median(c for _, c in res.engine)
    print(
        f"compute_components (the engine whole, in memory): {res.median('engine'):.3f} s wall, "
        f"{engine_cpu:.3f} s CPU (runs {', '.join(f'{w:.2f}' for w, _ in res.engine)})"
    )
    plans = "every spatial component is a SPATIAL_JOIN"
    if res.unjoined:
        plans = f"no spatial join for {', '.join(res.unjoined)}"
    print(f"DuckDB plans: {plans}")
    if res.registry:
        cpu = statistics.median(r.cpu for r in res.registry)
        last = res.registry[-1]
        with_residual = int((last.values["residual"] > 0).sum())
        print(
            f"ours end to end (Registry.open + prioritize, {n:,} areas ranked): "
            f"{res.median('registry'):.2f} s wall, {cpu:.2f} s CPU "
            f"(runs {', '.join(f'{r.wall:.2f}' for r in res.registry)}); the last run's steps: "
            + ", ".join(f"{k} {v:.2f} s" for k, v in last.steps.items())
        )
        print(
            "  Registry agrees: its ranking against the engine on the same data, every "
            "component but residual (the registry's comes from its residual model: "
            f"{with_residual:,} areas above 0)"
        )
    print(f"load average after: {_load()}")
    target = ""
    if res.registry:
        target = f"ours end to end {res.median('registry'):.2f} s (target <= {TARGET_S:g} s); "
    print(
        f"{target}ours/DuckDB: all components {ours_all / duck_all:.2f}, slowest spatial "
        f"component {worst[0]} {worst[1]:.2f} (target <= 1 each)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="every count times this")
    ap.add_argument("--runs", type=int, default=3, help="timed runs of ours and DuckDB")
    ap.add_argument("--sample", type=int, default=2000, help="areas the loop peer visits")
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--no-registry", action="store_true", help="skip the run through the registry")
    args = ap.parse_args()
    print(f"load average before: {_load()}", flush=True)
    report(run(args))


if __name__ == "__main__":
    main()
