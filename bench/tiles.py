"""Vector tiles of 100,000 hazard areas: ours, tipg's, and PostGIS's own ST_AsMVT.

The synthetic tessellated areas (bench/hazard_data.py) are imported into a registry with
`landrelease import` and copied with ogr2ogr into a throw-away PostGIS cluster
(bench/service_peers.py). For each zoom 6-12 a fixed seeded sample of the tiles over Ukraine
(lon 22-40.3, lat 44.3-52.4) that hold areas (the tile of each area's inner point) is fetched,
one request at a time, from:

- landrelease: `landrelease serve` (1 worker), GET /tiles/hazards/{z}/{x}/{y}.mvt with a
  viewer's token (the signed-in layer: exact outlines, six attributes);
- tipg (1 worker): GET /collections/public.hazards/tiles/WebMercatorQuad/{z}/{x}/{y};
- PostGIS: ST_AsMVT of the same six attributes and ST_AsMVTGeom, timed inside the server
  (a PL/pgSQL loop with clock_timestamp: no client, no HTTP), the ceiling.

Every tile is fetched once per server: no server answers from a tile it made before. Per zoom:
tiles/s and p50 ms of each, and the ratio ours/tipg of tiles/s; the last line gives the z10
ratio and our z10 p50 (target: ratio >= 1, p50 <= 30 ms).

    .venv/bin/python bench/tiles.py --scale 10000
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pyogrio
import shapely
from hazard_data import data_file, describe, layout_stats
from service_peers import (
    Server,
    ensure_programs,
    load_hazards,
    peer_python,
    postgis_cluster,
    start_landrelease,
    start_tipg,
)

from service import EXE, build_registry

UKRAINE = (22.0, 44.3, 40.3, 52.4)
ZOOMS = range(6, 13)
ATTRS = ("ref", "status", "hazard_type", "contamination", "reported_on", "area_m2")
Tile = tuple[int, int, int]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=int, default=100_000, help="number of hazard areas")
    ap.add_argument("--sample", type=int, default=200, help="tiles per zoom")
    ap.add_argument("--seed", type=int, default=20240501)
    args = ap.parse_args()
    bindir = ensure_programs()
    peer_python("tipg")
    src = data_file("tessellated", args.scale)
    print(f"data: {src.name}: {describe(layout_stats(src))}")
    samples = sample_tiles(src, args.sample, args.seed)
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lr-tiles-")))
        registry, tokens = build_registry(src, folder)
        if tokens is None:
            raise SystemExit("no viewer token: landrelease users failed")
        cluster = stack.enter_context(postgis_cluster(bindir))
        print(f"postgis: {load_hazards(cluster, registry):,} rows")
        ours = start_landrelease(EXE, registry, 1, tokens["viewer"], folder)
        stack.callback(ours.stop)
        tipg = start_tipg(cluster, 1, folder)
        stack.callback(tipg.stop)
        ours.wait_ready("/tiles/hazards.json")
        tipg.wait_ready("/collections/public.hazards/tiles/WebMercatorQuad/0/0/0")
        warm = [(8, *_tile_of(31.0, 48.5, 8))]
        for server, path in ((ours, OURS), (tipg, TIPG)):
            fetch(server, path, warm)
        rows = []
        for z in ZOOMS:
            tiles = samples[z]
            o = fetch(ours, OURS, tiles)
            t = fetch(tipg, TIPG, tiles)
            p = postgis_times(cluster, tiles)
            rows.append((z, len(tiles), o, t, p))
            print(_row(*rows[-1]), flush=True)
    print()
    print(f"{'z':>2} {'tiles':>5} | {'ours t/s':>9} {'p50 ms':>7} | {'tipg t/s':>9} "
          f"{'p50 ms':>7} | {'postgis t/s':>11} {'p50 ms':>7} | {'ours/tipg':>9}")  # fmt: skip
    for row in rows:
        print(_row(*row))
    z10 = next(r for r in rows if r[0] == 10)
    print(f"z10: ours/tipg {_rate(z10[2]) / _rate(z10[3]):.2f}x; our p50 {_p50(z10[2]):.1f} ms")


OURS = "/tiles/hazards/{z}/{x}/{y}.mvt"
TIPG = "/collections/public.hazards/tiles/WebMercatorQuad/{z}/{x}/{y}"


def sample_tiles(src: Path, n: int, seed: int) -> dict[int, list[Tile]]:
    """Return per zoom a seeded sample of `n` tiles over Ukraine holding an area's inner point."""
    geoms = pyogrio.read_dataframe(src, columns=[]).geometry.to_numpy()
    pts = shapely.point_on_surface(geoms)
    lon, lat = shapely.get_x(pts), shapely.get_y(pts)
    w, s, e, nth = UKRAINE
    inside = (lon >= w) & (lon <= e) & (lat >= s) & (lat <= nth)
    lon, lat = lon[inside], lat[inside]
    rng = np.random.default_rng(seed)
    out = {}
    for z in ZOOMS:
        k = 1 << z
        x = ((lon + 180.0) / 360.0 * k).astype(np.int64)
        phi = np.radians(lat)
        y = ((1.0 - np.log(np.tan(phi) + 1.0 / np.cos(phi)) / math.pi) / 2.0 * k).astype(np.int64)
        uniq = np.unique(np.column_stack([x, y]), axis=0)
        pick = rng.choice(len(uniq), size=min(n, len(uniq)), replace=False)
        out[z] = [(z, int(a), int(b)) for a, b in uniq[np.sort(pick)]]
    return out


def fetch(server: Server, template: str, tiles: Sequence[Tile]) -> list[float]:
    """Return the milliseconds of each tile's GET, one at a time; stop on an answer not 200."""
    times = []
    for z, x, y in tiles:
        t = time.perf_counter()
        status, body = server.get(template.format(z=z, x=x, y=y))
        times.append((time.perf_counter() - t) * 1000)
        if status != 200:
            raise SystemExit(f"{server.name} {z}/{x}/{y}: {status} {body[:300]!r}")
    return times


def postgis_times(cluster: object, tiles: Sequence[Tile]) -> list[float]:
    """Return the milliseconds of ST_AsMVT of each tile, timed inside PostgreSQL."""
    values = ",".join(f"({i},{z},{x},{y})" for i, (z, x, y) in enumerate(tiles))
    attrs = ", ".join(ATTRS)
    sql = f"""
CREATE TEMP TABLE t(i int, z int, x int, y int, ms float8, bytes int);
INSERT INTO t(i, z, x, y) VALUES {values};
DO $$
DECLARE r record; t0 timestamptz; tile bytea;
BEGIN
  FOR r IN SELECT * FROM t ORDER BY i LOOP
    t0 := clock_timestamp();
    SELECT ST_AsMVT(q, 'hazards', 4096, 'geom') INTO tile FROM (
      SELECT {attrs}, ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope(r.z, r.x, r.y),
                                   4096, 64, true) AS geom
      FROM hazards
      WHERE geom && ST_Transform(ST_TileEnvelope(r.z, r.x, r.y, margin => 64.0 / 4096), 4326)
    ) q;
    UPDATE t SET ms = extract(epoch FROM clock_timestamp() - t0) * 1000,
                 bytes = length(tile) WHERE i = r.i;
  END LOOP;
END $$;
SELECT ms FROM t ORDER BY i;
"""
    out = cluster.psql(sql)  # type: ignore[attr-defined]
    return [float(v) for v in out.split()]


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    k = 1 << z
    phi = math.radians(lat)
    y = (1.0 - math.log(math.tan(phi) + 1.0 / math.cos(phi)) / math.pi) / 2.0 * k
    return int((lon + 180.0) / 360.0 * k), int(y)


def _rate(ms: Sequence[float]) -> float:
    return len(ms) / (sum(ms) / 1000) if ms else 0.0


def _p50(ms: Sequence[float]) -> float:
    return statistics.median(ms) if ms else 0.0


def _row(z: int, n: int, o: list[float], t: list[float], p: list[float]) -> str:
    ratio = _rate(o) / _rate(t) if _rate(t) else float("nan")
    return (
        f"{z:>2} {n:>5} | {_rate(o):>9.1f} {_p50(o):>7.1f} | {_rate(t):>9.1f} {_p50(t):>7.1f} | "
        f"{_rate(p):>11.1f} {_p50(p):>7.1f} | {ratio:>8.2f}x"
    )


if __name__ == "__main__":
    main()
