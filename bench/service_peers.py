"""The servers of the service benchmark: a throw-away PostGIS cluster, tipg and pygeoapi over
it, and `landrelease serve`.

Everything here runs on loopback. The cluster lives in a temporary folder, is started as an
unprivileged user (`postgres` when we are root) and is stopped and removed by `postgis_cluster`
however the benchmark ends. tipg and pygeoapi are installed into their own virtualenvs under
~/.cache/landrelease-bench/ (outside the repository), once. Each server runs in a process group
of its own, stopped as a whole; the CPU time of a group (and of the cluster) is read from /proc.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "landrelease-bench"
APT = "apt-get install -y postgresql postgresql-15-postgis-3 wrk"
# The columns our items carry (the hazard fields and the change stamp), given to the peers too.
COLUMNS = (
    "ref", "name", "status", "hazard_type", "contamination", "land_use", "evidence",
    "reported_on", "source_org", "admin_area", "notes", "area_m2", "version", "changed_at",
    "changed_by", "needs_check",
)  # fmt: skip
PEER_PACKAGES = {
    "tipg": ["tipg", "uvicorn"],
    "pygeoapi": ["pygeoapi", "psycopg2-binary", "sqlalchemy", "geoalchemy2", "gunicorn"],
}


def free_port() -> int:
    """Return a loopback TCP port that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- what must be installed -------------------------------------------------------------------


def pg_bindir() -> Path | None:
    """Return the newest PostgreSQL server's bin folder that has PostGIS beside it, if any."""
    found = []
    for ctl in Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"):
        version = ctl.parent.parent.name
        if Path(f"/usr/share/postgresql/{version}/extension/postgis.control").exists():
            found.append((float(version) if version.replace(".", "").isdigit() else 0, ctl.parent))
    return max(found)[1] if found else None


def ensure_programs() -> Path:
    """Return PostgreSQL's bin folder once PostGIS, wrk, pgbench and ogr2ogr are present.

    As root, missing Debian packages are installed; otherwise the script stops and says how.
    """

    def missing() -> list[str]:
        programs = [p for p in ("wrk", "ogr2ogr") if shutil.which(p) is None]
        return programs + ([] if pg_bindir() else ["postgis"])

    if missing() and os.geteuid() == 0:
        print(f"installing {', '.join(missing())}: apt-get (as root)", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in (["apt-get", "update", "-qq"], [*APT.split(), "-qq"]):
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
    if lacking := missing():
        sys.exit(f"missing: {', '.join(lacking)}. Install them as root: {APT} (ogr2ogr: gdal-bin)")
    bindir = pg_bindir()
    assert bindir is not None
    return bindir


def peer_python(name: str) -> Path:
    """Return the Python of the peer's own virtualenv under CACHE, made on first use."""
    venv = CACHE / name
    python = venv / "bin" / "python"
    if (venv / ".installed").exists():
        return python
    print(f"installing {name} into {venv} (once)", flush=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    log = CACHE / f"{name}-install.log"
    with log.open("w") as out:
        res = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *PEER_PACKAGES[name]],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    if res.returncode:
        sys.exit(f"installing {name} failed; see {log}")
    (venv / ".installed").touch()
    return python


# -- the PostGIS cluster ----------------------------------------------------------------------


@dataclass
class Cluster:
    """A running throw-away PostgreSQL cluster on loopback; `dsn` names its `bench` database."""

    bindir: Path
    folder: Path
    port: int
    user: str = "postgres"
    dbname: str = "bench"

    @property
    def dsn(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{self.dbname}"

    @property
    def ogr(self) -> str:
        return f"PG:host=127.0.0.1 port={self.port} user={self.user} dbname={self.dbname}"

    def psql(self, sql: str, *, db: str | None = None) -> str:
        """Return what psql prints for `sql` (unaligned, tuples only); raise if it fails."""
        cmd = [
            str(self.bindir / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
            "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, "-d", db or self.dbname,
            "-c", sql,
        ]  # fmt: skip
        return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip()


def _as_owner(cmd: Sequence[str], owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--", *cmd] if owner else list(cmd)


@contextmanager
def postgis_cluster(bindir: Path) -> Iterator[Cluster]:
    """Yield a new cluster with a `bench` database and PostGIS; stop and remove it on exit.

    Made in a temporary folder with `initdb` as an unprivileged user (PostgreSQL refuses root),
    listening on a free loopback port only. Durability is off (fsync, synchronous commit):
    it speeds the load and changes nothing for reads. JIT is off: these queries are short,
    where compiling would only add time, should a cost estimate ever cross its threshold.
    """
    owner = "postgres" if os.geteuid() == 0 else None
    if owner:
        try:
            pwd.getpwnam(owner)
        except KeyError:
            sys.exit("running as root needs the 'postgres' user (Debian's postgresql package)")
    folder = Path(tempfile.mkdtemp(prefix="landrelease-bench-pg-"))
    data = folder / "data"
    if owner:
        shutil.chown(folder, owner, owner)
    port = free_port()
    started = False
    try:
        subprocess.run(
            _as_owner([str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
                       "--auth=trust", "-E", "UTF8", "--locale=C"], owner),
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        options = (
            f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={folder} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c jit=off "
            "-c shared_buffers=512MB -c max_connections=200"
        )
        subprocess.run(
            _as_owner([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"),
                       "-w", "-t", "60", "-o", options, "start"], owner),
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        started = True
        cluster = Cluster(bindir, folder, port)
        cluster.psql("CREATE DATABASE bench", db="postgres")
        cluster.psql("CREATE EXTENSION postgis")
        yield cluster
    finally:
        if started:
            subprocess.run(
                _as_owner([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                          owner),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)


def load_hazards(cluster: Cluster, registry: Path) -> int:
    """Copy our registry's hazard areas into PostGIS table `hazards` with a GiST index; return
    the number of rows.

    ogr2ogr with COPY; the same columns as our items (`COLUMNS`), `fid` as the primary key.
    """
    subprocess.run(
        ["ogr2ogr", "-f", "PostgreSQL", cluster.ogr, str(registry), "hazard_areas",
         "-nln", "hazards", "-nlt", "MULTIPOLYGON", "-unsetDefault", "-select", ",".join(COLUMNS),
         "-lco", "GEOMETRY_NAME=geom", "-lco", "FID=fid", "-lco", "SPATIAL_INDEX=GIST",
         "--config", "PG_USE_COPY", "YES"],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    cluster.psql("VACUUM ANALYZE hazards")
    return int(cluster.psql("SELECT count(*) FROM hazards"))


def postmaster_pid(cluster: Cluster) -> int:
    """Return the pid of the cluster's postmaster (its backends are its children)."""
    return int((cluster.folder / "data" / "postmaster.pid").read_text().split()[0])


def cpu_ticks(groups: set[int], parents: set[int]) -> int:
    """Return the CPU time (clock ticks) used so far by the processes of the process `groups`
    and by the `parents` and their children, the children that have ended included (a
    PostgreSQL backend ends with its connection)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        pid, ppid, pgrp = int(stat.parent.name), int(fields[1]), int(fields[2])
        if pgrp in groups or ppid in parents or pid in parents:
            total += int(fields[11]) + int(fields[12])  # utime + stime
        if pid in parents:
            total += int(fields[13]) + int(fields[14])  # of its children that have ended
    return total


def wait_quiet(groups: set[int], parents: set[int], timeout: float = 300) -> float:
    """Return the seconds waited until those processes use under 5% of a core for 0.5 s.

    A server keeps working on the requests still queued when wrk stops (16 of them: many
    seconds for a slow page): the next run must not pay for them.
    """
    start = time.monotonic()
    tick = os.sysconf("SC_CLK_TCK")
    before = cpu_ticks(groups, parents)
    while time.monotonic() - start < timeout:
        time.sleep(0.5)
        now = cpu_ticks(groups, parents)
        if now - before <= 0.05 * 0.5 * tick:
            break
        before = now
    return time.monotonic() - start


# -- servers ----------------------------------------------------------------------------------


@dataclass
class Server:
    """One server process (group) on loopback, and how to ask it for a box of hazard areas."""

    name: str
    workers: int
    port: int
    items_path: str  # the collection's items path, e.g. /collections/hazards/items
    extra_query: str = ""  # e.g. "&f=json"
    headers: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    @property
    def label(self) -> str:
        return f"{self.name} {self.workers}w"

    def path(self, box: Sequence[float], limit: int) -> str:
        bbox = ",".join(f"{v:.6f}" for v in box)
        return f"{self.items_path}?bbox={bbox}&limit={limit}{self.extra_query}"

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path: str, timeout: float = 60) -> tuple[int, bytes]:
        """Return the status and body of a GET of `path`."""
        req = urllib.request.Request(self.url(path), headers=self.headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def start(self, cmd: Sequence[str], env: dict[str, str], folder: Path) -> None:
        """Start the server in its own process group, its output into a log file in `folder`."""
        self.log = folder / f"{self.name}-{self.workers}w.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                list(cmd), env=env, stdout=out, stderr=subprocess.STDOUT, cwd=folder,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip

    def wait_ready(self, probe: str, timeout: float = 120) -> None:
        """Return once `probe` answers 200; raise with the log's tail if the server died."""
        assert self.proc is not None
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.label} exited {self.proc.returncode}:\n{self.tail()}")
            try:
                if self.get(probe, timeout=5)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(
            f"{self.label} gave no 200 for {probe} in {timeout:.0f} s:\n{self.tail()}"
        )

    def tail(self, lines: int = 15) -> str:
        if self.log is None or not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the server's process group: SIGTERM, then SIGKILL after 10 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        except ProcessLookupError:
            pass


def start_tipg(cluster: Cluster, workers: int, folder: Path) -> Server:
    """Start tipg (uvicorn, `workers` processes) over the cluster; no access log."""
    python = peer_python("tipg")
    server = Server("tipg", workers, free_port(), "/collections/public.hazards/items", "&f=geojson")
    env = {
        **_base_env(),
        "DATABASE_URL": cluster.dsn,
        "TIPG_DB_SCHEMAS": '["public"]',
        "TIPG_MAX_FEATURES_PER_QUERY": "10000",
    }
    server.start(
        [str(python), "-m", "uvicorn", "tipg.main:app", "--host", "127.0.0.1",
         "--port", str(server.port), "--workers", str(workers), "--no-access-log",
         "--log-level", "warning"],
        env, folder,
    )  # fmt: skip
    return server


PYGEOAPI_CONFIG = """\
server:
  bind: {{host: 127.0.0.1, port: {port}}}
  url: http://127.0.0.1:{port}
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  languages: [en-US]
  limits: {{default_items: 10, max_items: 10000}}
  map:
    url: http://127.0.0.1:{port}/no-tiles/{{z}}/{{x}}/{{y}}.png
    attribution: synthetic benchmark
logging:
  level: ERROR
metadata:
  identification:
    title: synthetic hazard areas
    description: synthetic benchmark data
    keywords: [benchmark]
    url: http://127.0.0.1:{port}
    terms_of_service: http://127.0.0.1:{port}/
  license: {{name: CC-BY 4.0, url: http://127.0.0.1:{port}/}}
  provider: {{name: benchmark, url: http://127.0.0.1:{port}/}}
  contact: {{name: benchmark, url: http://127.0.0.1:{port}/, email: bench@localhost}}
resources:
  hazards:
    type: collection
    title: hazards
    description: synthetic hazard areas
    keywords: [hazards]
    extents:
      spatial: {{bbox: [22, 44, 41, 53], crs: http://www.opengis.net/def/crs/OGC/1.3/CRS84}}
    providers:
      - type: feature
        name: PostgreSQL
        data: {{host: 127.0.0.1, port: {db_port}, dbname: {dbname}, user: {user}}}
        id_field: ref
        table: hazards
        geom_field: geom
"""


def start_pygeoapi(cluster: Cluster, workers: int, folder: Path) -> Server:
    """Start pygeoapi (its Flask app under gunicorn, `workers` sync workers) over the cluster.

    gunicorn is the deployment pygeoapi documents for production; access log off (its default).
    """
    python = peer_python("pygeoapi")
    server = Server("pygeoapi", workers, free_port(), "/collections/hazards/items", "&f=json")
    config = folder / f"pygeoapi-{server.port}.yml"
    config.write_text(
        PYGEOAPI_CONFIG.format(
            port=server.port, db_port=cluster.port, dbname=cluster.dbname, user=cluster.user
        )
    )
    openapi = config.with_suffix(".openapi.yml")
    env = {**_base_env(), "PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
    bindir = python.parent
    subprocess.run(
        [str(bindir / "pygeoapi"), "openapi", "generate", str(config), "--output-file",
         str(openapi)],
        check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    server.start(
        [str(bindir / "gunicorn"), "--workers", str(workers), "--bind",
         f"127.0.0.1:{server.port}", "--timeout", "120", "pygeoapi.flask_app:APP"],
        env, folder,
    )  # fmt: skip
    return server


def start_landrelease(exe: Path, registry: Path, workers: int, token: str, folder: Path) -> Server:
    """Start `landrelease serve --db REGISTRY --workers N` as a user runs it (its request log on,
    as by default, into the log file)."""
    server = Server(
        "landrelease", workers, free_port(), "/collections/hazards/items", "&f=json",
        headers={"Authorization": f"Bearer {token}"},
    )  # fmt: skip
    server.start(
        [str(exe), "serve", "--db", str(registry), "--host", "127.0.0.1",
         "--port", str(server.port), "--workers", str(workers)],
        _base_env(), folder,
    )  # fmt: skip
    return server


def add_user(exe: Path, registry: Path, name: str, role: str) -> str:
    """Return the token of a new user made by `landrelease users add NAME --role ROLE`."""
    res = subprocess.run(
        [str(exe), "users", "add", name, "--role", role, "--db", str(registry)],
        capture_output=True, text=True, env=_base_env(),
    )  # fmt: skip
    if res.returncode:
        raise RuntimeError(f"landrelease users add {name} failed: {res.stderr or res.stdout}")
    # The command prints the token once, alone on a line.
    for line in res.stdout.splitlines():
        if re.fullmatch(r"[A-Za-z0-9_\-.~+/=]{16,}", line.strip()):
            return line.strip()
    raise RuntimeError(f"no token in the output of landrelease users add: {res.stdout!r}")


def _base_env() -> dict[str, str]:
    """Return our environment less what would point a server elsewhere (proxies, registry)."""
    drop = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "LANDRELEASE_DB")
    return {k: v for k, v in os.environ.items() if k not in drop}
