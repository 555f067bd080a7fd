"""Synthetic hazard-area registries for the benchmarks, generated deterministically and cached.

Two layouts:

- ``tessellated`` (the default, like a real registry): areas come in clusters (the fields and
  woods around a village, a stretch of front line), each cluster a Voronoi tessellation of a
  rotated, jittered grid of seeds: near-rectangular fields where the jitter is small, irregular
  ones where it is large. Neighbouring areas share their edges exactly (they touch, no gap, no
  overlap); the edges are bent by extra vertices that both neighbours get bit for bit. The
  cluster's outline is left ragged by a ring of seeds whose cells are not kept, and some cells
  inside are left out (gaps, up to 30% of a cluster); half of the clusters are a single area.
  Then 1% of the areas are redrawn larger or shifted (a re-survey drawn over the old
  polygons, a digitising offset), so that a few percent of all areas overlap another, as in a
  registry that has been cleaned but not perfectly.
- ``random`` (the benchmark data until 2026-11-29): star-shaped polygons placed at random over
  the country; over a third of them overlap another, and none touch.

Files land in bench/data/ (git-ignored), keyed by layout and size, with a JSON file beside each
giving how many areas overlap or touch another (`layout_stats`).

    .venv/bin/python bench/hazard_data.py [--layout tessellated] [--n 100000]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely

from landrelease.domain.geometry import COUNTRIES, _splitmix, area_m2, vertex_jumps

DATA = Path(__file__).with_name("data")
LAYOUTS = ("tessellated", "random")
_VERSION = {"tessellated": "v1", "random": "v0"}  # bump when a generator changes its output
_M_PER_DEG_LAT = 110_574.0
_M_PER_DEG_LON = 111_320.0  # at the equator; times cos(latitude)
_MIN_VERTICES, _MAX_VERTICES = 6, 40


def data_file(layout: str, n: int) -> Path:
    """Return the cached file of `n` areas in `layout`, generating it on first use."""
    name = f"hazards-{layout}-{_VERSION[layout]}-{n}.gpkg"
    path = DATA / name
    if not path.exists():
        t = time.perf_counter()
        print(f"generating {n:,} synthetic hazard areas ({layout}) -> {path}", flush=True)
        if layout == "tessellated":
            write_registry(tessellated(n), path, np.random.default_rng(7), shuffle=True)
        else:  # the attributes drawn after the shapes from one generator, as before
            rng = np.random.default_rng(7)
            write_registry(random_stars(n, rng), path, rng, shuffle=False)
        print(f"  generated in {time.perf_counter() - t:.1f} s", flush=True)
    return path


def layout_stats(path: Path) -> dict[str, float]:
    """Return (cached beside the file) the shares of areas that overlap or touch another.

    Overlap as the import warns of it: interiors meet by at least 1 m2. Touch: boundaries
    meet, interiors do not (a shared edge or corner).
    """
    sidecar = path.with_suffix(".json")
    if sidecar.exists():
        return json.loads(sidecar.read_text())  # type: ignore[no-any-return]
    geoms = pyogrio.read_dataframe(path, use_arrow=True).geometry.to_numpy()
    n = len(geoms)
    a, b = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    a, b = a[a < b], b[a < b]
    inner = shapely.relate_pattern(geoms[a], geoms[b], "T********")
    m2 = np.zeros(len(a))
    m2[inner] = area_m2(shapely.intersection(geoms[a[inner]], geoms[b[inner]]), COUNTRIES["UA"])
    over = m2 >= 1.0
    touch = ~inner  # boundaries meet only (slivers under 1 m2 count as neither)
    vertices = shapely.get_num_coordinates(geoms) - 1
    stats = {
        "n": n,
        "overlapping_pairs": int(over.sum()),
        "overlap_share": len(np.union1d(a[over], b[over])) / n,
        "touching_pairs": int(touch.sum()),
        "touch_share": len(np.union1d(a[touch], b[touch])) / n,
        "vertices_min": int(vertices.min()),
        "vertices_median": float(np.median(vertices)),
        "vertices_max": int(vertices.max()),
        "area_ha_median": float(np.median(area_m2(geoms, COUNTRIES["UA"])) / 1e4),
    }
    sidecar.write_text(json.dumps(stats, indent=2) + "\n")
    return stats


def describe(stats: dict[str, float]) -> str:
    """Return one line saying how the areas of a benchmark file lie."""
    return (
        f"{stats['n']:,} areas: {stats['overlap_share']:.1%} overlap another "
        f"({stats['overlapping_pairs']:,} pairs), {stats['touch_share']:.1%} touch another "
        f"({stats['touching_pairs']:,} pairs); vertices {stats['vertices_min']}-"
        f"{stats['vertices_max']} (median {stats['vertices_median']:.0f}); "
        f"median area {stats['area_ha_median']:.1f} ha"
    )


def write_registry(
    geoms: np.ndarray, path: Path, rng: np.random.Generator, *, shuffle: bool
) -> None:
    """Write the areas with realistic attributes to a GeoPackage (layer "hazards")."""
    n = len(geoms)
    if shuffle:
        geoms = geoms[rng.permutation(n)]  # a registry lists areas by report, not by place
    statuses = np.where(rng.random(n) < 0.3, "confirmed", "suspected")
    gdf = gpd.GeoDataFrame(
        {
            "name": [f"synthetic benchmark area {i}" for i in range(n)],
            "status": statuses,
            "hazard_type": np.where(statuses == "confirmed", "CHA", "SHA"),
            "evidence": np.where(statuses == "confirmed", "item seen (synthetic)", "informant"),
            "contamination": rng.choice(["ap_mine", "av_mine;ap_mine", "cmr", "uxo"], n),
            "land_use": rng.choice(["agricultural", "forest", "residential", "pasture"], n),
            "reported_on": [
                f"{y}-0{m}-1{d}"
                for y, m, d in zip(
                    rng.integers(2022, 2026, n),
                    rng.integers(1, 9, n),
                    rng.integers(0, 9, n),
                    strict=True,
                )
            ],
            "source_org": "synthetic benchmark",
        },
        geometry=geoms,
        crs="EPSG:4326",
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part.gpkg")
    tmp.unlink(missing_ok=True)
    pyogrio.write_dataframe(gdf, tmp, layer="hazards", driver="GPKG")
    tmp.rename(path)


def random_stars(n: int, rng: np.random.Generator) -> np.ndarray:
    """Return `n` valid star-shaped polygons at random places over Ukraine (the old layout)."""
    minx, miny, maxx, maxy = COUNTRIES["UA"].bbox
    cx = rng.uniform(minx + 0.05, maxx - 0.05, n)
    cy = rng.uniform(miny + 0.05, maxy - 0.05, n)
    k = rng.integers(6, 16, n)
    geoms = np.empty(n, dtype=object)
    for i in range(n):
        # One vertex per equal sector: star-shaped around the centre, hence valid.
        a = (np.arange(k[i]) + rng.uniform(0.1, 0.9, k[i])) * (2 * np.pi / k[i])
        r = rng.uniform(100, 1500) * rng.uniform(0.6, 1.0, k[i])
        dx = r * np.cos(a) / (_M_PER_DEG_LON * np.cos(np.radians(cy[i])))
        dy = r * np.sin(a) / _M_PER_DEG_LAT
        geoms[i] = shapely.Polygon(np.column_stack([cx[i] + dx, cy[i] + dy]))
    return geoms


def tessellated(n: int, seed: int = 13, overlapping: float = 0.01) -> np.ndarray:
    """Return `n` valid polygons in clusters of adjacent areas, `overlapping` of them redrawn
    over their neighbours (see the module's docstring)."""
    rng = np.random.default_rng(seed)
    seeds, real, lat = _cluster_seeds(int(n * 1.08) + 50, rng)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds), ordered=True))
    cells = np.asarray(cells)[real]
    cells = _bent_edges(cells, lat[real], seed)
    vertices = shapely.get_num_coordinates(cells) - 1
    minx, miny, maxx, maxy = COUNTRIES["UA"].bbox
    bounds = shapely.bounds(cells)
    keep = (
        shapely.is_valid(cells)
        & (vertices >= _MIN_VERTICES)
        & (vertices <= _MAX_VERTICES)
        & (bounds[:, 0] > minx)
        & (bounds[:, 1] > miny)
        & (bounds[:, 2] < maxx)
        & (bounds[:, 3] < maxy)
    )
    # No vertex jump over 5 km (the import's warning of a mistyped coordinate): a few outer
    # cells reach far towards their ring's seeds.
    long = [i for i, _km in vertex_jumps(cells, limit_km=3.0)]
    keep[long] = False
    cells = cells[keep][:n]  # whole clusters in the order made; the last one cut short
    if len(cells) < n:
        raise RuntimeError(f"made only {len(cells)} of {n} areas; raise the seed surplus")
    return _redraw_some(cells, overlapping, rng)


def _cluster_seeds(
    count: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return Voronoi seeds (lon, lat), which of them are areas (not outline or gaps), and each
    seed's cluster latitude; at least `count` of them are areas."""
    minx, miny, maxx, maxy = COUNTRIES["UA"].bbox
    chunks, kinds, lats = [], [], []
    made = 0
    while made < count:
        singles = rng.random() < 0.5  # a lone area (a single field, a roadside)
        m = 1 if singles else int(min(1 + rng.geometric(1 / 16), 150))
        spacing = float(np.clip(rng.lognormal(np.log(300), 0.55), 80, 1500))  # metres
        jitter = rng.uniform(0.05, 0.42) * spacing
        side = int(np.ceil(np.sqrt(m))) + 5
        g = (np.arange(side) - (side - 1) / 2) * spacing
        gx, gy = (v.ravel() for v in np.meshgrid(g, g))
        gx = gx + rng.uniform(-jitter, jitter, gx.size)
        gy = gy + rng.uniform(-jitter, jitter, gy.size)
        ranked = np.argsort(np.hypot(gx, gy) * rng.uniform(0.85, 1.15, gx.size), kind="stable")
        kept = ranked[: m + int(1.4 * np.sqrt(m) * 4 + 8)]  # the areas and a ring around them
        is_area = np.zeros(len(kept), dtype=bool)
        is_area[:m] = rng.random(m) > rng.uniform(0, 0.3)  # gaps inside the cluster
        if not is_area.any():
            is_area[0] = True
        turn = rng.uniform(0, np.pi / 2)
        x = gx[kept] * np.cos(turn) - gy[kept] * np.sin(turn)
        y = gx[kept] * np.sin(turn) + gy[kept] * np.cos(turn)
        lon0 = rng.uniform(minx + 0.2, maxx - 0.2)
        lat0 = rng.uniform(miny + 0.2, maxy - 0.2)
        lon = lon0 + x / (_M_PER_DEG_LON * np.cos(np.radians(lat0)))
        chunks.append(np.column_stack([lon, lat0 + y / _M_PER_DEG_LAT]))
        kinds.append(is_area)
        lats.append(np.full(len(kept), lat0))
        made += int(is_area.sum())
    return np.concatenate(chunks), np.concatenate(kinds), np.concatenate(lats)


def _bent_edges(cells: np.ndarray, lat: np.ndarray, seed: int) -> np.ndarray:
    """Return the polygons with 0-3 vertices added along each edge, a little off the line.

    The added vertices are computed from the edge's two ends taken in a fixed order, so the
    two areas that share an edge get the same vertices bit for bit and still touch exactly.
    """
    coords, ring = shapely.get_coordinates(cells, return_index=True)
    seg = np.flatnonzero(ring[1:] == ring[:-1])  # segment s runs from coords[s] to coords[s+1]
    p, q = coords[seg], coords[seg + 1]
    flip = (p[:, 0] > q[:, 0]) | ((p[:, 0] == q[:, 0]) & (p[:, 1] > q[:, 1]))
    a = np.where(flip[:, None], q, p)
    b = np.where(flip[:, None], p, q)
    bits = np.ascontiguousarray(np.column_stack([a, b])).view(np.uint64)
    with np.errstate(over="ignore"):
        h = np.full(len(seg), np.uint64(seed))
        for k in range(4):
            h = _splitmix(h ^ bits[:, k])
    cos_lat = np.cos(np.radians(lat[ring[seg]]))
    metres = np.hypot(
        (b[:, 0] - a[:, 0]) * _M_PER_DEG_LON * cos_lat, (b[:, 1] - a[:, 1]) * _M_PER_DEG_LAT
    )
    extra = np.where(metres < 15, 0, np.where(metres < 120, 1, 1 + (h % np.uint64(3)).astype(int)))

    # Each segment becomes its start vertex and its extra vertices; each ring gets its closing one.
    size = 1 + extra
    out_start = np.cumsum(size) - size + ring[seg]  # + one closing vertex per earlier ring
    total = int(size.sum()) + len(cells)
    out = np.empty((total, 2))
    out_ring = np.empty(total, dtype=np.int64)
    out[out_start] = p
    out_ring[out_start] = ring[seg]
    s = np.repeat(np.arange(len(seg)), extra)
    j = np.arange(len(s)) - np.repeat(np.cumsum(extra) - extra, extra)  # 0..extra-1
    i = np.where(flip[s], extra[s] - j, j + 1)  # the i-th vertex from a, 1-based
    with np.errstate(over="ignore"):
        hi = _splitmix(h[s] + i.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15))
    u1 = (hi >> np.uint64(11)).astype(np.float64) / 2.0**53
    u2 = (_splitmix(hi) >> np.uint64(11)).astype(np.float64) / 2.0**53
    t = (i + (u1 - 0.5) * 0.5) / (extra[s] + 1)
    off = (u2 - 0.5) * 0.12  # up to 6% of the edge's length to either side
    d = b[s] - a[s]
    normal = np.column_stack([-d[:, 1], d[:, 0]])
    out[out_start[s] + 1 + j] = a[s] + t[:, None] * d + off[:, None] * normal
    out_ring[out_start[s] + 1 + j] = ring[seg][s]
    first = np.searchsorted(ring[seg], np.arange(len(cells)))
    closing = np.concatenate([out_start[first[1:]] - 1, [total - 1]])
    out[closing] = out[out_start[first]]
    out_ring[closing] = np.arange(len(cells))
    return np.asarray(shapely.polygons(shapely.linearrings(out, indices=out_ring)))


def _redraw_some(cells: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    """Return the areas with `share` of them enlarged (1.1-1.3x) or shifted (by 10-30% of
    their size), as re-surveys and digitising offsets leave them over their neighbours."""
    cells = cells.copy()
    picked = rng.choice(len(cells), int(len(cells) * share), replace=False)
    centre = shapely.get_coordinates(shapely.centroid(cells[picked]))
    bounds = shapely.bounds(cells[picked])
    size = np.column_stack([bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1]])
    grow = np.where(rng.random(len(picked)) < 0.5, rng.uniform(1.1, 1.3, len(picked)), 1.0)
    turn = rng.uniform(0, 2 * np.pi, len(picked))
    push = np.where(grow == 1.0, rng.uniform(0.1, 0.3, len(picked)), 0.0)
    shift = np.column_stack([np.cos(turn), np.sin(turn)]) * push[:, None] * size
    coords, idx = shapely.get_coordinates(cells[picked], return_index=True)
    moved = centre[idx] + (coords - centre[idx]) * grow[idx, None] + shift[idx]
    cells[picked] = shapely.set_coordinates(cells[picked].copy(), moved)
    return cells


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layout", choices=LAYOUTS, default="tessellated")
    ap.add_argument("--n", type=int, default=100_000)
    args = ap.parse_args()
    path = data_file(args.layout, args.n)
    print(f"{path}: {describe(layout_stats(path))}")


if __name__ == "__main__":
    main()
