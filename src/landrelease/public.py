"""The public view of the registry: what a person without an account may see of hazard areas.

The use cases behind the Registry's "public view" methods; the rules (the grid, the coded
values, the warnings) are `domain.public`'s. Every door to the public (the OGC API Features
of an anonymous request, vector tiles, the public map) reads through here, so that what is
published is decided once:

- per hazard area: ref, status, hazard_type, contamination, warning, and its outline
  generalised to grid cells ("geometry");
- never items, accidents, activities, events, notes, names, evidence, source organisations,
  administrative areas, dates, areas in m2, or anyone's name (the change stamp).

A box search matches an area by its generalised outline only, never by its exact one: a box
drawn inside a cell finds every area that cell belongs to, whether or not the exact outline
reaches into the box, so probing with small boxes learns nothing finer than a cell.

Generalised outlines are kept per process under (ref, version, grid), least recently used
dropped first: a change of the record makes a new version (landrelease's writes, and the
database's triggers for QGIS, GDAL or any SQL client), so a kept outline is never stale.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from landrelease.caches import PerStore
from landrelease.domain import public as rules
from landrelease.domain.errors import NotFound, ValidationError
from landrelease.domain.records import HAZARDS
from landrelease.store import Columns, Store

if TYPE_CHECKING:
    from landrelease.registry import Registry

# What the public view gives of each area, in this order.
PUBLIC_COLUMNS = ("ref", "status", "hazard_type", "contamination", "warning", "geometry")
# What it reads of each area (the version keys the kept outlines).
_READ = ["ref", "version", "status", "hazard_type", "contamination"]

CACHE_SIZE = 100_000  # outlines kept per registry: about one large registry at one grid


class GeneralisedCache:
    """Generalised outlines by (ref, version, grid_m); least recently used dropped past
    `size`. Safe to share between the threads of one process."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._kept: OrderedDict[tuple[str, int, float], Any] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._kept)

    def outlines(
        self,
        refs: Sequence[str],
        versions: Sequence[int],
        geoms: np.ndarray,
        generalise: Any,
        grid_m: float,
    ) -> np.ndarray:
        """Return the generalised outline of each area, generalising (in one batch, with
        `generalise(geoms)`) only those not kept."""
        # A row without a version (emptied outside landrelease) is never kept: nothing
        # would tell its next change apart.
        keys = [
            None if v is None else (r, int(v), grid_m) for r, v in zip(refs, versions, strict=True)
        ]
        out = np.empty(len(keys), dtype=object)
        missing = []
        with self._lock:
            for i, key in enumerate(keys):
                if key is not None and key in self._kept:
                    self._kept.move_to_end(key)
                    out[i] = self._kept[key]
                else:
                    missing.append(i)
        if missing:
            made = generalise(np.asarray(geoms, dtype=object)[missing])
            out[missing] = made
            with self._lock:
                for i, geom in zip(missing, made.tolist(), strict=True):
                    key = keys[i]
                    if key is not None:
                        self._kept[key] = geom
                while len(self._kept) > self.size:
                    self._kept.popitem(last=False)
        return out


_caches = PerStore(GeneralisedCache)


def cache_of(store: Store) -> GeneralisedCache:
    """Return the cache of generalised outlines of a registry's store (made on first use)."""
    return _caches.of(store)


def hazard_columns(
    reg: Registry,
    *,
    bbox: Sequence[float] | None = None,
    limit: int | None = None,
    offset: int = 0,
    grid_m: float = rules.DEFAULT_GRID_M,
    filter: Any = None,
) -> tuple[Columns, int]:
    """Return one page of the public view of hazard areas, by ref, and how many match.

    Columns: `PUBLIC_COLUMNS`; "geometry" holds the generalised outlines (shapely
    MultiPolygons, EPSG:4326; None for an area without a usable outline), the others are
    JSON-ready (contamination a list of codes). With `bbox` (minx, miny, maxx, maxy, lon/lat)
    an area matches when its generalised outline meets the box. A `filter` (parsed CQL2)
    is run by the store.
    """
    g = rules.check_grid(grid_m)
    limit, offset = _check_page(limit, offset)
    cache = cache_of(reg.store)
    end = None if limit is None else offset + limit
    if bbox is None:
        with reg.store.unit_of_work() as uow:
            areas = uow.records(HAZARDS)
            matched = areas.count(filter=filter)
            cols = areas.select(
                columns=_READ, order_by="ref", limit=limit, offset=offset, filter=filter
            )
        return _published(reg, cache, cols, g), matched
    box = rules.check_bbox(bbox)
    wide = rules.search_box(box, reg.country, g)
    if wide is None:  # far beyond the country: no area to find
        cols = {name: [] for name in _READ}
        cols["geometry"] = np.empty(0, dtype=object)
    else:
        with reg.store.unit_of_work() as uow:
            cols = uow.records(HAZARDS).select(
                columns=_READ, bbox=wide, order_by="ref", filter=filter
            )
    hits = _meeting(reg, cache, cols, box, g)
    page = hits[offset:end]
    cols = {name: _take(values, page) for name, values in cols.items()}
    return _published(reg, cache, cols, g), len(hits)


def hazard(reg: Registry, ref: str, *, grid_m: float = rules.DEFAULT_GRID_M) -> dict[str, Any]:
    """Return the public view of one hazard area (the `PUBLIC_COLUMNS` as a dict); NotFound
    if there is none with this ref."""
    g = rules.check_grid(grid_m)
    with reg.store.unit_of_work() as uow:
        cols = uow.records(HAZARDS).select(columns=_READ, where={"ref": ref})
    if not cols["ref"]:
        raise NotFound(f"{ref}: no hazard area with this reference")
    published = _published(reg, cache_of(reg.store), cols, g)
    return {name: published[name][0] for name in PUBLIC_COLUMNS}


def _meeting(
    reg: Registry, cache: GeneralisedCache, cols: Columns, box: rules.BBox, g: float
) -> np.ndarray:
    """Return the rows of `cols` whose generalised outline meets `box`.

    An exact outline that meets the box settles it (the generalised one covers it); only
    the others, near the box, are generalised to decide.
    """
    exact = rules.cleaned_polygons(cols["geometry"])
    target = shapely.box(*box)
    meets = np.asarray(shapely.intersects(target, exact), dtype=bool)
    near = np.flatnonzero(~meets & ~shapely.is_missing(exact))
    if len(near):
        outlines = _outlines(reg, cache, cols, near, g)
        meets[near] = shapely.intersects(target, outlines)
    return np.flatnonzero(meets)


def _outlines(
    reg: Registry, cache: GeneralisedCache, cols: Columns, rows: np.ndarray, g: float
) -> np.ndarray:
    return cache.outlines(
        _take(cols["ref"], rows),
        _take(cols["version"], rows),
        np.asarray(cols["geometry"], dtype=object)[rows],
        lambda geoms: rules.generalise(geoms, reg.country, g),
        g,
    )


def _published(reg: Registry, cache: GeneralisedCache, cols: Columns, g: float) -> Columns:
    """Return the public columns of the areas read in `cols`."""
    n = len(cols["ref"])
    out: Columns = {"ref": list(cols["ref"])}
    out.update(rules.public_values(cols["status"], cols["hazard_type"], cols["contamination"]))
    out["geometry"] = _outlines(reg, cache, cols, np.arange(n), g)
    return {name: out[name] for name in PUBLIC_COLUMNS}


def _check_page(limit: int | None, offset: int) -> tuple[int | None, int]:
    if limit is not None and (isinstance(limit, bool) or int(limit) < 0):
        raise ValidationError(None, "limit", f"must be 0 or more, got {limit!r}")
    if isinstance(offset, bool) or int(offset) < 0:
        raise ValidationError(None, "offset", f"must be 0 or more, got {offset!r}")
    return (None if limit is None else int(limit)), int(offset)


def _take(values: Any, rows: np.ndarray) -> Any:
    if isinstance(values, np.ndarray):
        return values[rows]
    return [values[i] for i in rows.tolist()]


__all__ = [
    "CACHE_SIZE",
    "PUBLIC_COLUMNS",
    "GeneralisedCache",
    "cache_of",
    "hazard",
    "hazard_columns",
]
