"""The load of the service benchmark: boxes of ~900 hazard areas, wrk runs, the pgbench ceiling.

The boxes are drawn once from a fixed seed around randomly picked areas, each grown or shrunk
until it intersects 850-950 areas (counted with a shapely STRtree on the generated data). wrk
cycles through them with a Lua script written at run time; each thread starts at its own place
in the list, so the connections do not all ask for the same box at once.
"""

from __future__ import annotations

import json
import math
import re
import resource
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from service_peers import COLUMNS, Cluster, Server

BoxT = tuple[float, float, float, float]


def draw_boxes(
    geoms: np.ndarray, count: int, *, seed: int = 2026, low: int = 850, high: int = 950
) -> tuple[list[BoxT], list[int]]:
    """Return `count` boxes (minx, miny, maxx, maxy, 6 decimals) each intersecting `low`-`high`
    of `geoms`, and how many each intersects.

    A box is square on the ground (its width in degrees divided by cos(latitude)), centred on
    an area picked at random; its side is found by bisection. A centre where no side fits (a
    cluster's edge makes the count jump over the band) is dropped for another.
    """
    tree = shapely.STRtree(geoms)
    centres = shapely.get_coordinates(shapely.centroid(geoms))
    rng = np.random.default_rng(seed)

    def around(cx: float, cy: float, half: float) -> tuple[BoxT, int]:
        k = math.cos(math.radians(cy))
        b = tuple(round(v, 6) for v in (cx - half / k, cy - half, cx + half / k, cy + half))
        return b, len(tree.query(shapely.box(*b), predicate="intersects"))  # type: ignore[return-value]

    boxes: list[BoxT] = []
    counts: list[int] = []
    tries = 0
    while len(boxes) < count:
        tries += 1
        if tries > count * 20:
            raise RuntimeError(f"found only {len(boxes)} boxes of {low}-{high} areas")
        cx, cy = centres[rng.integers(len(geoms))]
        lo, hi = 0.0, 0.05
        while around(cx, cy, hi)[1] < low and hi < 45:
            lo, hi = hi, hi * 2
        for _ in range(60):
            box, n = around(cx, cy, (lo + hi) / 2)
            if low <= n <= high:
                boxes.append(box)
                counts.append(n)
                break
            lo, hi = ((lo + hi) / 2, hi) if n < low else (lo, (lo + hi) / 2)
    return boxes, counts


# -- wrk --------------------------------------------------------------------------------------

_LUA = """\
-- Written by bench/service.py for one wrk run: cycle through fixed bounding-box queries.
local paths = {
%(paths)s
}
%(headers)s
local started = 0
function setup(thread)
  thread:set("first", started)
  started = started + 1
end
local i = 0
function init(args)
  i = (first or 0) * %(stride)d
end
function request()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %%d, "duration_us": %%d, "bytes": %%d, "connect": %%d, "read": %%d, ' ..
    '"write": %%d, "status": %%d, "timeout": %%d, "p50_us": %%d, "p99_us": %%d}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(99)))
end
"""


def lua_script(paths: Sequence[str], headers: dict[str, str], threads: int) -> str:
    """Return the text of a wrk script that cycles through `paths` with `headers`."""
    lines = ",\n".join(f'  "{p}"' for p in paths)
    head = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items())
    stride = max(1, len(paths) // max(threads, 1))
    return _LUA % {"paths": lines, "headers": head, "stride": stride}


@dataclass
class Run:
    """One wrk run: how many requests, how fast, how slow at p50/p99, and what failed."""

    label: str
    limit: int
    connections: int
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non_2xx: int  # wrk counts responses of status >= 400
    socket_errors: int
    mb: float
    client_cores: float  # CPU the load generator itself used, in cores (of 2)
    server_cpu_s: float = math.nan  # CPU time of the server's processes during the run

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def failed(self) -> bool:
        return bool(self.non_2xx or self.socket_errors) or not self.requests


def run_wrk(
    server: Server,
    boxes: Sequence[BoxT],
    limit: int,
    *,
    seconds: float,
    connections: int,
    threads: int,
    folder: Path,
) -> Run:
    """Return one wrk run of `seconds` against `server` cycling through `boxes` at `limit`."""
    script = folder / f"wrk-{server.name}-{server.workers}w-{limit}-c{connections}.lua"
    paths = [server.path(b, limit) for b in boxes]
    script.write_text(lua_script(paths, server.headers, threads))
    cmd = [
        "wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds:g}s",
        "--timeout", "60s", "--latency", "-s", str(script), server.url("/"),
    ]  # fmt: skip
    before = _children_cpu()
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    cpu = _children_cpu() - before
    found = re.search(r"^RESULT (\{.*\})$", res.stdout, re.M)
    if res.returncode or not found:
        raise RuntimeError(f"wrk failed ({res.returncode}): {res.stderr or res.stdout}")
    r = json.loads(found.group(1))
    return Run(
        label=server.label,
        limit=limit,
        connections=connections,
        requests=r["requests"],
        seconds=r["duration_us"] / 1e6,
        p50_ms=r["p50_us"] / 1e3,
        p99_ms=r["p99_us"] / 1e3,
        non_2xx=r["status"],
        socket_errors=r["connect"] + r["read"] + r["write"] + r["timeout"],
        mb=r["bytes"] / 1e6,
        client_cores=cpu / (r["duration_us"] / 1e6) if r["duration_us"] else 0.0,
    )


# -- the PostGIS ceiling ----------------------------------------------------------------------

_CEILING_SQL = """\
\\set i random(1, {n})
SELECT '{{"type":"FeatureCollection","numberMatched":'
  || (SELECT count(*) FROM hazards h JOIN bench_boxes b ON b.id = :i
      WHERE ST_Intersects(h.geom, b.geom))
  || ',"features":[' || coalesce(string_agg(ST_AsGeoJSON(f.*, 'geom', 15), ','), '') || ']}}'
FROM (SELECT {columns}, h.geom FROM hazards h JOIN bench_boxes b ON b.id = :i
      WHERE ST_Intersects(h.geom, b.geom) ORDER BY h.fid LIMIT {limit}) f;
"""


def load_boxes(cluster: Cluster, boxes: Sequence[BoxT]) -> None:
    """Store the boxes in table `bench_boxes` (id from 1) for the ceiling's SQL."""
    values = ",".join(
        f"({i}, ST_MakeEnvelope({b[0]}, {b[1]}, {b[2]}, {b[3]}, 4326))"
        for i, b in enumerate(boxes, 1)
    )
    cluster.psql(
        "DROP TABLE IF EXISTS bench_boxes; "
        "CREATE TABLE bench_boxes (id int PRIMARY KEY, geom geometry(Polygon, 4326)); "
        f"INSERT INTO bench_boxes VALUES {values}; ANALYZE bench_boxes"
    )


def ceiling_sql(n_boxes: int, limit: int) -> str:
    """Return the pgbench script: one FeatureCollection of one random box, built in SQL.

    PostGIS writes each feature (ST_AsGeoJSON of the row: geometry, and every column as a
    property) and the page is joined as text: the fastest of the forms tried (json_agg of
    json_build_object took 20-30% longer). Coordinates at 15 decimals, as ours.
    """
    columns = ", ".join(f"h.{c}" for c in COLUMNS)
    return _CEILING_SQL.format(n=n_boxes, limit=limit, columns=columns)


def run_pgbench(
    cluster: Cluster, n_boxes: int, limit: int, *, seconds: float, clients: int, folder: Path
) -> Run:
    """Return a pgbench run of the ceiling SQL (`clients` connections, as many threads)."""
    script = folder / f"ceiling-{limit}.sql"
    script.write_text(ceiling_sql(n_boxes, limit))
    cmd = [
        str(cluster.bindir / "pgbench"), "-n", "-c", str(clients), "-j", str(clients),
        "-T", str(max(1, round(seconds))), "-f", str(script), "-h", "127.0.0.1",
        "-p", str(cluster.port), "-U", cluster.user, cluster.dbname,
    ]  # fmt: skip
    before = _children_cpu()
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    cpu = _children_cpu() - before
    done = re.search(r"number of transactions actually processed: (\d+)", res.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", res.stdout)
    latency = re.search(r"latency average = ([\d.]+) ms", res.stdout)
    tps = re.search(r"tps = ([\d.]+)", res.stdout)
    if res.returncode or not (done and latency and tps):
        raise RuntimeError(f"pgbench failed ({res.returncode}): {res.stderr or res.stdout}")
    n = int(done.group(1))
    return Run(
        label=f"PostGIS SQL c{clients}",
        limit=limit,
        connections=clients,
        requests=n,
        seconds=n / float(tps.group(1)) if float(tps.group(1)) else 0.0,
        p50_ms=float(latency.group(1)),  # pgbench gives the mean, not the median
        p99_ms=float("nan"),
        non_2xx=int(failed.group(1)) if failed else 0,
        socket_errors=0,
        mb=float("nan"),
        client_cores=cpu / max(1, round(seconds)),
    )


def _children_cpu() -> float:
    """Return the CPU seconds used so far by the finished child processes of this one."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime
