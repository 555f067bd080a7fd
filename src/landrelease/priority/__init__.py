"""Prioritisation: rank hazard areas by the people, roads and land they threaten.

Pure: imports `landrelease.domain` and the array libraries only; reads no file but its
packaged default configuration. The registry gathers the `Inputs`; this package measures the
components (`compute_components`, or `compute_components_partitioned` over a dask cluster),
weighs them into a score and a rank (`score`) and explains an area's score (`explain`).

`ENGINE_VERSION` is part of a ranking's id: change it whenever a change here can change any
component's value, so that a saved ranking is never confused with a new computation.
"""

from landrelease.priority.config import COMPONENTS, PriorityConfig, default_text, load_config
from landrelease.priority.engine import (
    UNITS,
    ExplainLine,
    Scored,
    compute_components,
    explain,
    score,
)
from landrelease.priority.inputs import (
    FACILITY_KINDS,
    LANDUSE_CLASSES,
    LAYER_FIELDS,
    LAYER_KINDS,
    ROAD_CLASSES,
    AreaInputs,
    Inputs,
    PointEvents,
    ReferenceLayer,
)
from landrelease.priority.parallel import compute_components_partitioned

ENGINE_VERSION = "1"

__all__ = [
    "COMPONENTS",
    "ENGINE_VERSION",
    "FACILITY_KINDS",
    "LANDUSE_CLASSES",
    "LAYER_FIELDS",
    "LAYER_KINDS",
    "ROAD_CLASSES",
    "UNITS",
    "AreaInputs",
    "ExplainLine",
    "Inputs",
    "PointEvents",
    "PriorityConfig",
    "ReferenceLayer",
    "Scored",
    "compute_components",
    "compute_components_partitioned",
    "default_text",
    "explain",
    "load_config",
    "score",
]
