"""What a ranking reads of the registry, in one snapshot, and the id that names it all.

`read_areas` reads, in one unit of work, the hazard areas to rank (their status and
outline), the items found per area, which areas have contamination events, the dated
accidents and the `State`: a digest of the refs and versions of every hazard, event, item
and accident, and each reference layer's content hash. `ranking_id` hashes the State with
the configuration's canonical form, the date ranked as of, the engine version, the residual
model's profiles and the country: the same inputs give the same id.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from landrelease.domain.errors import ValidationError
from landrelease.domain.records import ACCIDENTS, EVENTS, HAZARDS, ITEMS
from landrelease.priority.config import PriorityConfig
from landrelease.store import UnitOfWork

if TYPE_CHECKING:
    from landrelease.priority.inputs import Inputs, PointEvents, ReferenceLayer
    from landrelease.registry import Registry

# (step, done, total): what the run is doing, for a progress bar
Progress = Callable[[str, int, int], None]

ID_LENGTH = 16  # hex digits of the SHA-256 kept as a ranking's id

# The component each kind of reference layer feeds (a missing layer makes it 0).
LAYER_COMPONENT = {
    "settlements": "people",
    "buildings": "buildings",
    "facilities": "facilities",
    "roads": "roads",
    "landuse": "farmland",
}
RECORD_KINDS = (HAZARDS, EVENTS, ITEMS, ACCIDENTS)


@dataclass(frozen=True)
class State:
    """What a ranking's id names of the registry: a digest of the refs and versions of the
    records a score reads, their counts, and the reference layers (sorted by name)."""

    registry: str
    records: dict[str, int]
    layers: tuple[tuple[str, str, int, str, str | None], ...]  # name, kind, n, sha256, source

    def layer_hashes(self) -> list[list[str]]:
        return [[name, sha] for name, _kind, _n, sha, _src in self.layers]


def read_state(uow: UnitOfWork) -> State:
    """Return the state of the registry as the unit of work sees it."""
    h = hashlib.sha256(b"landrelease registry state 1\n")
    counts = {}
    for kind in RECORD_KINDS:
        cols = uow.records(kind).select(columns=["ref", "version"], geometry=False)
        refs = np.asarray(cols["ref"], dtype=object).astype(str)
        order = np.argsort(refs, kind="stable")
        h.update(f"\n{kind.name} {len(refs)}\n".encode())
        h.update("\x1f".join(refs[order].tolist()).encode())
        h.update(np.asarray(cols["version"], dtype="<i8")[order].tobytes())
        counts[kind.name] = len(refs)
    layers = tuple(
        sorted(
            (r["name"], r["kind"], int(r["features"]), r["content_sha256"], r.get("source"))
            for r in uow.layers.all()
        )
    )
    return State(h.hexdigest(), counts, layers)


@functools.cache
def residual_profiles_sha256() -> str:
    """Return the SHA-256 of the residual model's packaged device profiles (its figures
    make the residual component, so they are part of a ranking's id)."""
    data = resources.files("landrelease.residual").joinpath("profiles.toml").read_bytes()
    return hashlib.sha256(data).hexdigest()


def ranking_id(config: PriorityConfig, state: State, as_of: dt.date, country: str) -> str:
    """Return the id of a ranking: the first 16 hex digits of the SHA-256 of everything it
    is computed from (see the module docstring)."""
    from landrelease.priority import ENGINE_VERSION

    named = {
        "config": config.canonical(),
        "layers": state.layer_hashes(),
        "registry": state.registry,
        "as_of": as_of.isoformat(),
        "engine": ENGINE_VERSION,
        "residual_profiles": residual_profiles_sha256(),
        "country": country,
    }
    text = orjson.dumps(named, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(text).hexdigest()[:ID_LENGTH]


@dataclass
class AreasRead:
    """The records of one snapshot that a ranking reads."""

    state: State
    refs: np.ndarray  # object, sorted
    status: np.ndarray
    geometry: np.ndarray
    items_found: np.ndarray
    with_events: np.ndarray  # bool per area: the residual model applies
    accidents: PointEvents


def read_areas(uow: UnitOfWork, statuses: list[str], only: str | None = None) -> AreasRead:
    """Return the areas of `statuses` (or the one area `only`, whatever its status), their
    items and events, the accidents and the state, from one unit of work."""
    import pandas as pd

    from landrelease.priority.inputs import PointEvents

    state = read_state(uow)
    where: dict[str, Any] = {"ref": only} if only is not None else {"status": list(statuses)}
    hz = uow.records(HAZARDS).select(columns=["ref", "status"], where=where, geometry=True)
    refs = np.asarray(hz["ref"], dtype=object)
    order = np.argsort(refs.astype(str), kind="stable")
    refs = refs[order]
    items = uow.records(ITEMS).select(columns=["area_ref", "quantity"], geometry=False)
    events = uow.records(EVENTS).select(columns=["area_ref"], geometry=False)
    acc = uow.records(ACCIDENTS).select(columns=["occurred_on"], geometry=True)
    # an item whose quantity is not given (a row typed in QGIS) is still one item
    quantity = pd.to_numeric(pd.Series(items["quantity"], dtype=object), errors="coerce")
    per_area = quantity.fillna(1).groupby(pd.Series(items["area_ref"], dtype=object)).sum()
    found = per_area.reindex(refs).fillna(0).to_numpy(dtype=np.int64)
    with_events = np.isin(
        refs.astype(str), np.asarray(events["area_ref"], dtype=object).astype(str)
    )
    return AreasRead(
        state=state,
        refs=refs,
        status=np.asarray(hz["status"], dtype=object)[order],
        geometry=np.asarray(hz["geometry"], dtype=object)[order],
        items_found=found,
        with_events=with_events,
        accidents=_accidents(acc, PointEvents),
    )


def _accidents(cols: dict[str, Any], point_events: type[PointEvents]) -> PointEvents:
    """Return the accidents with a point as dated events (a date that is no date: NaT)."""
    import pandas as pd
    import shapely

    geoms = np.asarray(cols["geometry"], dtype=object)
    keep = shapely.get_type_id(geoms) == 0  # points; a missing or empty one has no place
    keep &= ~shapely.is_empty(geoms)
    dates = pd.to_datetime(
        pd.Series(cols["occurred_on"], dtype=object)[keep], format="%Y-%m-%d", errors="coerce"
    )
    return point_events(geoms[keep], dates.to_numpy(dtype="datetime64[D]"))


def residual_expected(
    reg: Registry, read: AreasRead, config: PriorityConfig, as_of: dt.date, step: Progress
) -> np.ndarray:
    """Return the residual model's expected live devices per area (NaN: no events)."""
    out = np.full(len(read.refs), np.nan)
    if not read.with_events.any():
        return out
    v = config.values["residual"]
    try:
        table = reg.residual_estimates(
            as_of,
            draws=int(v["draws"]),
            seed=int(v["seed"]),
            progress=lambda done, total: step("residual estimates", done, total),
            expected_only=True,  # the component is the expected count
        )
    except ValidationError as exc:
        if exc.field in ("draws", "seed"):  # within the config's range, not the model's
            raise ValidationError("config", f"residual.{exc.field}", exc.message) from None
        raise
    expected = dict(zip(table.ref, np.asarray(table.expected, dtype=float).tolist(), strict=True))
    for i in np.flatnonzero(read.with_events):
        out[i] = expected.get(str(read.refs[i]), np.nan)
    return out


def engine_inputs(
    reg: Registry,
    read: AreasRead,
    residual: np.ndarray,
    layers: dict[str, ReferenceLayer | None],
    as_of: dt.date,
) -> Inputs:
    from landrelease.priority.inputs import AreaInputs, Inputs

    areas = AreaInputs(
        ref=read.refs,
        geometry=read.geometry,
        status=read.status,
        items_found=read.items_found,
        residual_expected=residual,
    )
    return Inputs(
        areas=areas, layers=layers, accidents=read.accidents, as_of=as_of, country=reg.country
    )


def missing_layers(layers: dict[str, Any]) -> list[str]:
    """Return one warning per kind of reference layer the registry lacks."""
    return [
        f"no {kind} layer: the {component} component is 0 for every area "
        f"(add one with 'landrelease layers add {kind} FILE')"
        for kind, component in LAYER_COMPONENT.items()
        if layers.get(kind) is None
    ]


__all__ = [
    "ID_LENGTH",
    "LAYER_COMPONENT",
    "RECORD_KINDS",
    "AreasRead",
    "Progress",
    "State",
    "engine_inputs",
    "missing_layers",
    "ranking_id",
    "read_areas",
    "read_state",
    "residual_expected",
    "residual_profiles_sha256",
]
