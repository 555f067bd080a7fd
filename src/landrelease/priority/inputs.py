"""What the prioritisation engine reads: the hazard areas, the reference layers, the accidents.

Plain arrays in EPSG:4326 (lon, lat), one entry per feature; the engine projects them once to
the country's equal-area projection. The registry builds these from its records and layers;
tests and benchmarks build them directly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from landrelease.domain.geometry import Country

LAYER_KINDS = ("settlements", "buildings", "roads", "landuse", "facilities")

# The attribute each kind of layer carries (normalised by the registry when a layer is added).
LAYER_FIELDS: dict[str, str | None] = {
    "settlements": "population",
    "buildings": None,
    "roads": "class",
    "landuse": "class",
    "facilities": "kind",
}

# The normalised values of the class and kind fields.
ROAD_CLASSES = (
    "motorway",
    "trunk",
    "primary",
    "secondary",
    "tertiary",
    "residential",
    "service",
    "track",
    "path",
)
LANDUSE_CLASSES = (
    "farmland",
    "orchard",
    "vineyard",
    "meadow",
    "forest",
    "residential",
    "industrial",
    "other",
)
FACILITY_KINDS = ("school", "kindergarten", "hospital", "clinic", "water_point", "other")


@dataclass(frozen=True)
class AreaInputs:
    """The hazard areas to rank, one entry per area.

    `residual_expected` is the residual model's expected number of live devices, NaN where the
    area has no contamination events (the model does not apply: counted as 0).
    """

    ref: np.ndarray  # object (str)
    geometry: np.ndarray  # shapely polygons, EPSG:4326
    status: np.ndarray  # object (str), a domain Status value
    items_found: np.ndarray  # int64
    residual_expected: np.ndarray  # float64, NaN: no contamination events

    def __len__(self) -> int:
        return len(self.ref)

    def take(self, rows: np.ndarray) -> AreaInputs:
        """Return the areas at `rows` (indices or a boolean mask), in that order."""
        return AreaInputs(
            ref=self.ref[rows],
            geometry=self.geometry[rows],
            status=self.status[rows],
            items_found=self.items_found[rows],
            residual_expected=self.residual_expected[rows],
        )


@dataclass(frozen=True)
class ReferenceLayer:
    """One kind of reference layer: its geometries (EPSG:4326) and its normalised attribute.

    `values` holds the kind's field (see `LAYER_FIELDS`): settlements "population" (float),
    roads and landuse "class" (str), facilities "kind" (str); buildings need none.
    """

    kind: str
    geometry: np.ndarray
    values: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.geometry)


@dataclass(frozen=True)
class PointEvents:
    """Dated points (the recorded accidents): geometry (EPSG:4326 points) and dates."""

    geometry: np.ndarray
    dates: np.ndarray  # datetime64[D]; NaT: date unknown (never inside a time window)

    def __len__(self) -> int:
        return len(self.geometry)

    @classmethod
    def empty(cls) -> PointEvents:
        """Return no events."""
        return cls(np.empty(0, dtype=object), np.empty(0, dtype="datetime64[D]"))


@dataclass(frozen=True)
class Inputs:
    """Everything one ranking reads; a layer kind that is absent is None (its component is 0)."""

    areas: AreaInputs
    layers: dict[str, ReferenceLayer | None]
    accidents: PointEvents
    as_of: dt.date
    country: Country
