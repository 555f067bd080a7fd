"""The tables beside the records, as every backend keeps them: their columns and their rules.

Import batches, users, browser sessions, status proposals, reference layers and saved
rankings have the same table and column names in a registry file and in a PostGIS database,
so that a registry copies between backends by name, and each backend's repositories give back
rows with the keys listed here. A reference layer's table and column names are checked here
before they reach SQL, and what is given for a new layer is checked here once for both.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson
import shapely

from landrelease.store.base import GEOM

BATCH_COLUMNS = ("kind", "at", "actor", "reason", "source", "sha256", "records", "rejected")
USER_COLUMNS = ("name", "role", "created_at", "created_by", "revoked_at", "revoked_by")
SESSION_COLUMNS = ("user_name", "csrf_token", "created_at", "expires_at", "ended_at")
PROPOSAL_COLUMNS = (
    "id",
    "ref",
    "from_status",
    "to_status",
    "reason",
    "expected_version",
    "proposed_by",
    "proposed_at",
    "state",
    "decided_by",
    "decided_at",
    "decision_reason",
)
SUBMISSION_COLUMNS = (
    "id",
    "instance_id",
    "form_id",
    "submitted_by",
    "submitted_at",
    "imported_at",
    "imported_by",
    "source",
    "payload",
    "flags",
    "state",
    "override_reason",
    "decided_by",
    "decided_at",
    "decision_reason",
    "refs",
)
# What a pending submission's review may change (a decided one is never changed).
SUBMISSION_CHANGEABLE = frozenset(
    {"payload", "flags", "state", "override_reason", "decided_by", "decided_at"}
    | {"decision_reason", "refs"}
)
SUBMISSION_EVENT_COLUMNS = ("id", "submission_id", "at", "actor", "action", "reason", "detail")
LAYER_COLUMNS = (
    "name",
    "kind",
    "table_name",
    "features",
    "geometry_type",
    "source",
    "content_sha256",
    "added_at",
    "added_by",
)
RANKING_COLUMNS = ("id", "created_at", "created_by", "as_of", "config", "inputs", "areas")
AREA_COLUMNS = ("rank", "ref", "score", "components")

# -- reference layers --------------------------------------------------------------------------

TABLE_PREFIX = "ref_"

# The shapely type ids each declared geometry type of a reference layer holds (a Polygon is
# written as the one-part MultiPolygon it is).
GEOMETRY_TYPE_IDS: dict[str, tuple[int, ...]] = {
    "POINT": (0,),
    "MULTIPOINT": (4,),
    "LINESTRING": (1,),
    "MULTILINESTRING": (5,),
    "MULTIPOLYGON": (3, 6),
}

LAYER_COLUMN = re.compile(r"[a-z][a-z0-9_]{0,62}\Z")  # a column of a layer's table
_TABLE = re.compile(r"ref_[a-z][a-z0-9_]{0,62}\Z")


def layer_table(name: str) -> str:
    """Return the table of the reference layer `name` (ref_<name>, '-' written '_')."""
    table = TABLE_PREFIX + name.replace("-", "_")
    if not _TABLE.match(table):
        raise ValueError(f"not a reference layer table name: {table!r}")
    return table


def checked_layer(
    table: str, geometry_type: str, geoms: np.ndarray, columns: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Return a new layer's geometries as an object array and their shapely type ids.

    ValueError unless there is at least one geometry, all of `geometry_type` (a key of
    GEOMETRY_TYPE_IDS), and each column has a name a layer's table may have and one value
    per geometry.
    """
    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    if not n:
        raise ValueError("a reference layer has at least one feature")
    if geometry_type not in GEOMETRY_TYPE_IDS:
        raise ValueError(f"not a reference layer geometry type: {geometry_type!r}")
    types = shapely.get_type_id(geoms)
    if not np.isin(types, GEOMETRY_TYPE_IDS[geometry_type]).all():
        raise ValueError(f"geometries other than {geometry_type} given for {table}")
    for col, values in columns.items():
        if not LAYER_COLUMN.match(col) or col in ("fid", GEOM):
            raise ValueError(f"not a reference layer column name: {col!r}")
        if len(values) != n:
            raise ValueError(f"column {col} has {len(values)} values for {n} features")
    return geoms, types


# -- saved rankings ----------------------------------------------------------------------------


def json_text(value: Any) -> str:
    """Return `value` as JSON text (keys sorted: the same value is the same text); a str is
    taken to be JSON already."""
    if isinstance(value, str):
        return value
    return orjson.dumps(
        value, option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
    ).decode()


def saved_ranking(row: Sequence[Any]) -> dict[str, Any]:
    """Return a row of RANKING_COLUMNS as a saved ranking, its inputs parsed from JSON."""
    out = dict(zip(RANKING_COLUMNS, row, strict=True))
    out["inputs"] = orjson.loads(out["inputs"])
    return out


def ranked_area(row: Sequence[Any]) -> dict[str, Any]:
    """Return a row of AREA_COLUMNS as a ranked area, its components parsed from JSON."""
    out = dict(zip(AREA_COLUMNS, row, strict=True))
    out["components"] = orjson.loads(out["components"])
    return out


__all__ = [
    "AREA_COLUMNS",
    "BATCH_COLUMNS",
    "GEOMETRY_TYPE_IDS",
    "LAYER_COLUMN",
    "LAYER_COLUMNS",
    "PROPOSAL_COLUMNS",
    "RANKING_COLUMNS",
    "SESSION_COLUMNS",
    "TABLE_PREFIX",
    "USER_COLUMNS",
    "checked_layer",
    "json_text",
    "layer_table",
    "ranked_area",
    "saved_ranking",
]
