"""Vector tiles of the registry: Mapbox Vector Tiles (2.1) in the Web Mercator tile grid.

The use case behind the service's `/tiles` routes. A tile is read through the Registry (the
records of a kind meeting the tile's box, or the public view of hazard areas for the
public), projected to tile pixels, clipped to the tile with a small buffer, simplified to
about one pixel and encoded, all over shapely arrays; only the encoder (mapbox-vector-tile)
walks the features.

Small areas stay on the map: a polygon that the zoom makes smaller than one pixel is drawn
as a one-pixel square at its centre, never dropped, so that a hazard area is visible at
every zoom.

Tiles are kept per process under (tile, view, data key): the data key is a digest of the
refs and versions of every record that can be drawn in the tile, read from the store's
in-memory box index on every request. Every change of a record makes a new version (our
writes, and the database's triggers for any other client), and a record moving in or out
changes the refs, so a kept tile is never stale.

The signed-in tiles also keep each record's decoded outline and attributes under its
(ref, version) (`FeatureCache`): zooming in reads from the file only the records no tile
has read before at their current version, and an edited record is read again.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import mapbox_vector_tile
import numpy as np
import shapely

from landrelease.caches import PerStore
from landrelease.domain import public as rules
from landrelease.domain.errors import NotFound, ValidationError
from landrelease.store import Columns, Store

if TYPE_CHECKING:
    from landrelease.registry import Registry

EXTENT = 4096  # tile pixels per side
BUFFER = 64  # pixels drawn beyond each edge, so strokes meet across tiles
MAX_ZOOM = 24  # the deepest tile served (TileJSON advertises fewer)
MIN_ZOOM_TILEJSON, MAX_ZOOM_TILEJSON = 0, 16
MAX_LAT = 85.0511287798066  # Web Mercator's edge
CACHE_BYTES = 64 * 1024 * 1024  # encoded tiles kept per registry
CACHE_FEATURES = 400_000  # decoded records kept per registry (all kinds)
READ_BY_BOX = 2_000  # more records than this to read: by the tile's box, not by ref

COLLECTIONS = ("hazards", "activities", "items", "accidents", "eore")


@dataclass(frozen=True)
class Layer:
    """What a collection's tiles hold: its record kind and the attributes, by MVT type."""

    kind: str
    fields: dict[str, str]


# Attributes a map styles by; area_m2 only for a signed-in user.
LAYERS: dict[str, Layer] = {
    "hazards": Layer(
        "hazards",
        {
            "ref": "String",
            "status": "String",
            "hazard_type": "String",
            "contamination": "String",
            "reported_on": "String",
            "area_m2": "Number",
            "rank": "Number",  # in the latest saved ranking (prioritisation); none if unranked
        },
    ),
    "activities": Layer(
        "activities",
        {
            "ref": "String",
            "area_ref": "String",
            "activity_type": "String",
            "status": "String",
            "start_date": "String",
            "end_date": "String",
        },
    ),
    "items": Layer(
        "items",
        {
            "ref": "String",
            "area_ref": "String",
            "category": "String",
            "state": "String",
            "quantity": "Number",
            "found_on": "String",
        },
    ),
    "accidents": Layer(
        "accidents",
        {
            "ref": "String",
            "area_ref": "String",
            "occurred_on": "String",
            "device_category": "String",
            "killed_civilian": "Number",
            "injured_civilian": "Number",
            "killed_deminer": "Number",
            "injured_deminer": "Number",
        },
    ),
    "eore": Layer(
        "eore",
        {
            "ref": "String",
            "method": "String",
            "held_on": "String",
            "girls": "Number",
            "boys": "Number",
            "women": "Number",
            "men": "Number",
        },
    ),
}
RANKED = ("rank",)  # attributes from the latest saved ranking, not from the records
PUBLIC_FIELDS = {
    "ref": "String",
    "status": "String",
    "hazard_type": "String",
    "contamination": "String",
    "warning": "String",
}


def layer_of(collection: str) -> Layer:
    """Return the layer of a collection; NotFound if there is no such collection."""
    layer = LAYERS.get(collection)
    if layer is None:
        raise NotFound(f"{collection}: no tiled collection; one of {', '.join(COLLECTIONS)}")
    return layer


def check_tile(z: object, x: object, y: object) -> tuple[int, int, int]:
    """Return z, x, y as ints; ValidationError for a zoom that is no integer in 0..MAX_ZOOM
    or a column or row that is no integer, NotFound for one beyond the zoom's grid."""
    out = []
    for name, v in (("z", z), ("x", x), ("y", y)):
        try:
            out.append(int(str(v)))
        except ValueError:
            raise ValidationError(None, name, f"must be a whole number, got {v!r}") from None
    tz, tx, ty = out
    if not 0 <= tz <= MAX_ZOOM:
        raise ValidationError(None, "z", f"must be 0 to {MAX_ZOOM}, got {tz}")
    n = 1 << tz
    if not (0 <= tx < n and 0 <= ty < n):
        raise NotFound(f"tile {tz}/{tx}/{ty}: at zoom {tz} x and y run from 0 to {n - 1}")
    return tz, tx, ty


def tile_bounds(z: int, x: int, y: int, buffer: float = 0.0) -> tuple[float, float, float, float]:
    """Return (west, south, east, north) in lon/lat of tile z/x/y, widened by `buffer`
    pixels (of `EXTENT`) and clamped to the Web Mercator world."""
    n = 1 << z
    pad = buffer / EXTENT

    def lon(tx: float) -> float:
        return max(-180.0, min(180.0, tx / n * 360.0 - 180.0))

    def lat(ty: float) -> float:
        t = min(max(ty / n, 0.0), 1.0)
        return math.degrees(math.atan(math.sinh(math.pi * (1.0 - 2.0 * t))))

    return lon(x - pad), lat(y + 1 + pad), lon(x + 1 + pad), lat(y - pad)


def _project(lon: np.ndarray, lat: np.ndarray, z: int, x: int, y: int) -> np.ndarray:
    """Return the pixels (column, row; y down) of tile z/x/y of lon/lat arrays."""
    n = float(1 << z)
    px = ((lon + 180.0) / 360.0 * n - x) * EXTENT
    phi = np.radians(np.clip(lat, -MAX_LAT, MAX_LAT))
    my = (1.0 - np.log(np.tan(phi) + 1.0 / np.cos(phi)) / math.pi) / 2.0
    return np.column_stack([px, (my * n - y) * EXTENT])


def to_pixels(geoms: np.ndarray, z: int, x: int, y: int) -> np.ndarray:
    """Return the geometries (lon/lat) in the pixels of tile z/x/y (y down), all vertices
    at once."""
    return shapely.transform(geoms, lambda lonlat: _project(lonlat[:, 0], lonlat[:, 1], z, x, y))


def tile_geometries(geoms: np.ndarray, z: int, x: int, y: int) -> np.ndarray:
    """Return the geometries (lon/lat) as integer tile pixels, clipped to the tile and its
    buffer, simplified to one pixel; None where nothing is left in the tile.

    A polygon smaller than a pixel becomes a one-pixel square at its centre. One whose box
    is under a pixel each way is known to be one from its box alone (most areas at low
    zooms): its outline is not projected, clipped nor simplified.
    """
    out = np.full(len(geoms), None, dtype=object)
    geoms = np.asarray(geoms, dtype=object)
    rows = np.flatnonzero(~shapely.is_missing(geoms) & ~shapely.is_empty(geoms))
    if not len(rows):
        return out
    b = shapely.bounds(geoms[rows])
    lo, hi = _project(b[:, 0], b[:, 3], z, x, y), _project(b[:, 2], b[:, 1], z, x, y)
    polygonal = shapely.get_type_id(geoms[rows]) >= 3  # 3 Polygon, 6 MultiPolygon
    tiny = polygonal & np.all(hi - lo < 1.0, axis=1)
    if tiny.any():  # the square at the box's centre, kept within the buffer
        c = np.clip(np.floor((lo[tiny] + hi[tiny]) / 2), -BUFFER, EXTENT + BUFFER - 1)
        out[rows[tiny]] = shapely.box(
            c[:, 0], c[:, 1], c[:, 0] + 1, c[:, 1] + 1
        )  # ccw: positive area
    rows = rows[~tiny]
    if not len(rows):
        return out
    px = to_pixels(geoms[rows], z, x, y)
    px = shapely.clip_by_rect(px, -BUFFER, -BUFFER, EXTENT + BUFFER, EXTENT + BUFFER)
    polygonal = shapely.get_type_id(px) >= 3  # 3 Polygon, 6 MultiPolygon (lines: none here)
    # Douglas-Peucker, then rounding to whole pixels vertex by vertex: both cheap; GEOS's
    # snap rounding (set_precision's default, several times slower) only for the few
    # outlines left invalid
    rough = shapely.simplify(px, 1.0, preserve_topology=False)
    simple = shapely.set_precision(rough, 1.0, mode="pointwise")
    bad = ~shapely.is_valid(simple)
    if bad.any():
        simple[bad] = shapely.set_precision(rough[bad], 1.0)
    tiny = polygonal & ~shapely.is_empty(px) & (shapely.area(simple) < 1.0)
    if tiny.any():  # the one-pixel square: integer corners survive the encoder's rounding
        c = shapely.centroid(px[tiny])
        cx, cy = np.floor(shapely.get_x(c)), np.floor(shapely.get_y(c))
        simple[tiny] = shapely.box(cx, cy, cx + 1, cy + 1)
    # MVT: an exterior ring has positive area in tile coordinates (y down)
    simple = np.where(polygonal, shapely.orient_polygons(simple, exterior_cw=False), simple)
    kept = ~shapely.is_empty(simple)
    out[rows[kept]] = simple[kept]
    return out


def encode(name: str, geoms: np.ndarray, properties: Columns) -> bytes:
    """Return one MVT layer `name` of the features (tile-pixel geometries, None skipped)
    with their `properties` (None values left out)."""
    names = list(properties)
    values = [properties[k] for k in names]
    rows = np.flatnonzero(~shapely.is_missing(geoms))
    features = [
        {
            "geometry": geoms[i],
            "properties": {k: v[i] for k, v in zip(names, values, strict=True)},
        }
        for i in rows.tolist()
    ]
    return mapbox_vector_tile.encode(  # type: ignore[no-any-return]
        {"name": name, "features": features},
        default_options={"extents": EXTENT, "y_coord_down": True, "check_winding_order": False},
    )


class TileCache:
    """Encoded tiles by key, least recently used dropped past `size` bytes; thread-safe."""

    def __init__(self, size: int = CACHE_BYTES) -> None:
        self.size = size
        self.used = 0
        self._kept: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> bytes | None:
        with self._lock:
            tile = self._kept.get(key)
            if tile is not None:
                self._kept.move_to_end(key)
            return tile

    def put(self, key: tuple[Any, ...], tile: bytes) -> None:
        with self._lock:
            if key in self._kept or len(tile) > self.size:
                return
            self._kept[key] = tile
            self.used += len(tile)
            while self.used > self.size:
                _, dropped = self._kept.popitem(last=False)
                self.used -= len(dropped)


class FeatureCache:
    """Decoded records (outline and tile attributes) by (kind, ref) with the version they
    were read at; the least recently used dropped past `size` records; thread-safe."""

    def __init__(self, size: int = CACHE_FEATURES) -> None:
        self.size = size
        self._kept: OrderedDict[tuple[str, str], tuple[int, Any, tuple[Any, ...]]] = OrderedDict()
        self._lock = threading.Lock()

    def columns(
        self, reg: Registry, layer: Layer, box: rules.BBox, refs: list[str], versions: list[int]
    ) -> Columns:
        """Return the tile attributes and "geometry" (an array) of the records `refs` at
        `versions`: from memory where kept at that version, else read from the store."""
        kind, names = layer.kind, list(layer.fields)
        names = [n for n in names if n not in RANKED]  # not a record's column: added in `tile`
        with self._lock:
            found = [self._kept.get((kind, r)) for r in refs]
        missing = [
            r for r, v, f in zip(refs, versions, found, strict=True) if f is None or f[0] != v
        ]
        if missing:
            read = reg.record_columns(
                kind,
                columns=["ref", "version", *names],
                **({"bbox": box} if len(missing) > READ_BY_BOX else {"where": {"ref": missing}}),
            )
            fresh: dict[str, tuple[int, Any, tuple[Any, ...]]] = {
                r: (v, g, tuple(row))
                for r, v, g, *row in zip(
                    read["ref"],
                    read["version"],
                    read["geometry"],
                    *(read[n] for n in names),
                    strict=True,
                )
            }
            with self._lock:
                for r, entry in fresh.items():
                    self._kept[(kind, r)] = entry
                while len(self._kept) > self.size:
                    self._kept.popitem(last=False)
            # a record changed since the box index was read: drawn as read now
            found = [fresh.get(r, f) for r, f in zip(refs, found, strict=True)]
        with self._lock:
            for r in refs:
                if (kind, r) in self._kept:
                    self._kept.move_to_end((kind, r))
        rows = [f for f in found if f is not None]  # a record deleted meanwhile: left out
        geoms = np.empty(len(rows), dtype=object)
        geoms[:] = [f[1] for f in rows]
        out: Columns = {n: [f[2][i] for f in rows] for i, n in enumerate(names)}
        out["geometry"] = geoms
        return out


_caches = PerStore(TileCache)
_features = PerStore(FeatureCache)


def cache_of(store: Store) -> TileCache:
    """Return the tile cache of a registry's store (made on first use)."""
    return _caches.of(store)


def tile(
    reg: Registry,
    collection: str,
    z: object,
    x: object,
    y: object,
    *,
    public: bool,
    grid_m: float = rules.DEFAULT_GRID_M,
) -> bytes:
    """Return tile z/x/y of a collection as MVT bytes (one layer named after it).

    `public`: the public view of hazard areas (generalised outlines; ref, status,
    hazard_type, contamination, warning); only hazards have one (NotFound otherwise).
    Else the kind's records with `LAYERS`' attributes.
    """
    layer = layer_of(collection)
    tz, tx, ty = check_tile(z, x, y)
    if public and collection != "hazards":
        raise NotFound(f"{collection}: not published")
    g = rules.check_grid(grid_m) if public else 0.0
    box = tile_bounds(tz, tx, ty, BUFFER)
    cache = cache_of(reg.store)
    key_box: rules.BBox | None = rules.search_box(box, reg.country, g) if public else box
    refs, versions = _keys(reg, layer.kind, key_box)
    ranked = RANKED[0] in layer.fields and not public
    ranking, ranks = reg.latest_ranks() if ranked else (None, {})
    # a newly saved ranking draws new ranks
    key = (collection, tz, tx, ty, public, g, _digest(refs, versions), ranking)
    kept = cache.get(key)
    if kept is not None:
        return kept
    if public:
        made = _public_tile(reg, box, tz, tx, ty, g, key_box is None)
    else:
        cols = _features.of(reg.store).columns(reg, layer, box, refs, versions)
        if ranked:
            cols["rank"] = [ranks.get(r) for r in cols["ref"]]
        geoms = tile_geometries(cols.pop("geometry"), tz, tx, ty)
        if "contamination" in cols:
            cols["contamination"] = [_text(v) for v in cols["contamination"]]
        made = encode(collection, geoms, cols)
    cache.put(key, made)
    return made


def _public_tile(
    reg: Registry, box: rules.BBox, z: int, x: int, y: int, g: float, outside: bool
) -> bytes:
    """Return the public hazards tile: generalised outlines only, the public attributes."""
    if outside:  # beyond the country's region: no area can be drawn here
        return encode("hazards", np.empty(0, dtype=object), {})
    cols, _ = reg.public_hazard_columns(bbox=box, grid_m=g)
    geoms = tile_geometries(np.asarray(cols.pop("geometry"), dtype=object), z, x, y)
    cols["contamination"] = [_text(v) for v in cols["contamination"]]
    return encode("hazards", geoms, {k: cols[k] for k in PUBLIC_FIELDS})


def _keys(reg: Registry, kind: str, box: rules.BBox | None) -> tuple[list[str], list[int]]:
    """Return the refs and versions of the records meeting `box` (the store's in-memory
    index); none for no box."""
    if box is None:
        return [], []
    cols = reg.record_columns(kind, columns=["ref", "version"], bbox=box, geometry=False)
    return cols["ref"], cols["version"]


def _digest(refs: list[str], versions: list[int]) -> str:
    """Return a digest of refs and versions: it changes with any change of what a tile may
    draw."""
    if not refs:
        return ""
    h = hashlib.blake2b(digest_size=16)
    h.update("\x1f".join(map(str, refs)).encode())
    h.update(np.asarray(versions, dtype=np.int64).tobytes())
    return h.hexdigest()


def _text(value: Any) -> Any:
    """Return a list of codes as one text ("ap_mine;cmr"); other values as they are."""
    if isinstance(value, (list, tuple)):
        return ";".join(map(str, value))
    return value


def tilejson(reg: Registry, collection: str, base: str, *, public: bool) -> dict[str, Any]:
    """Return the TileJSON 3.0.0 of a collection's tiles served at `base`.

    The public's bounds are widened outward to a tenth of a degree: the exact extent is
    the coordinate of an exact vertex.
    """
    layer = layer_of(collection)
    if public and collection != "hazards":
        raise NotFound(f"{collection}: not published")
    bbox, _dates = reg.extent(layer.kind)
    step = 10.0 if public else 1e4  # decimals kept: 0.1 degree for the public
    if bbox is None:
        bounds = [-180.0, -MAX_LAT, 180.0, MAX_LAT]
    else:
        w, s, e, n = bbox
        bounds = [
            math.floor(w * step) / step,
            math.floor(s * step) / step,
            math.ceil(e * step) / step,
            math.ceil(n * step) / step,
        ]
    fields = dict(PUBLIC_FIELDS) if public else dict(layer.fields)
    return {
        "tilejson": "3.0.0",
        "name": collection,
        "tiles": [f"{base}/tiles/{collection}/{{z}}/{{x}}/{{y}}.mvt"],
        "minzoom": MIN_ZOOM_TILEJSON,
        "maxzoom": MAX_ZOOM_TILEJSON,
        "bounds": bounds,
        "center": [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, 6],
        "vector_layers": [
            {
                "id": collection,
                "fields": fields,
                "minzoom": MIN_ZOOM_TILEJSON,
                "maxzoom": MAX_ZOOM_TILEJSON,
            }
        ],
    }


__all__ = [
    "BUFFER",
    "COLLECTIONS",
    "EXTENT",
    "FeatureCache",
    "LAYERS",
    "PUBLIC_FIELDS",
    "TileCache",
    "cache_of",
    "check_tile",
    "encode",
    "tile",
    "tile_bounds",
    "tile_geometries",
    "tilejson",
    "to_pixels",
]
