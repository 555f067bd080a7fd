"""Plain sentences saying how each component of an area's score came about."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from landrelease.priority.config import COMPONENTS, PriorityConfig
from landrelease.priority.inputs import Inputs


@dataclass(frozen=True)
class ExplainLine:
    """One component of an area's score: its raw value and unit, the weight, the points it
    gives (weight x raw) and one sentence saying how."""

    component: str
    raw: float
    unit: str
    weight: float
    contribution: float
    how: str


@dataclass(frozen=True)
class Detail:
    """One component of one area by group (band, class, kind): the amount each group counts
    (persons, km, ha, buildings) and the value it adds to the raw value."""

    groups: tuple[str, ...]
    amount: np.ndarray
    value: np.ndarray


def explain_lines(
    i: int,
    components: dict[str, np.ndarray],
    config: PriorityConfig,
    units: dict[str, str],
    detail: dict[str, Detail] | None,
    inputs: Inputs | None,
) -> list[ExplainLine]:
    """Return the lines of area `i` (detail and inputs: None when not measured again)."""
    out = []
    for c in COMPONENTS:
        raw = float(components[c][i])
        weight = config.weight(c)
        contribution = weight * raw
        d = detail.get(c) if detail is not None else None
        how = _SENTENCES[c](raw, config, d, inputs, i)
        how += f"; times weight {weight:g} = {contribution:,.1f} points"
        out.append(ExplainLine(c, raw, units[c], weight, contribution, how))
    return out


def _dist(metres: float) -> str:
    return f"{metres:g} m" if metres < 1000 else f"{metres / 1000:g} km"


def _count(n: float, word: str, plural: str | None = None) -> str:
    return f"{n:,.0f} {word if round(n) == 1 else plural or word + 's'}"


def _people(raw: float, config: PriorityConfig, d: Detail | None, *_: object) -> str:
    bands = config.values["people"]["bands_m"]
    decay = config.values["people"]["decay"]
    if d is None:
        steps = ", ".join(f"x {k:g} up to {_dist(b)}" for b, k in zip(bands, decay, strict=True))
        return f"{raw:,.0f} people within {_dist(bands[-1])}, counted {steps} from the area"
    parts = ", ".join(
        f"{_dist(b)}: {n:,.0f} x {k:g}" for b, n, k in zip(bands, d.amount, decay, strict=True)
    )
    return f"{raw:,.0f} people within {_dist(bands[-1])} ({parts})"


def _buildings(raw: float, config: PriorityConfig, d: Detail | None, *_: object) -> str:
    buffer = config.values["buildings"]["buffer_m"]
    if d is None:
        where = f"inside the area or within {_dist(buffer)} of it" if buffer else "inside the area"
        return f"{_count(raw, 'building')} {where}"
    inside, near = d.amount
    return (
        f"{_count(raw, 'building')}: {inside:,.0f} inside the area, {near:,.0f} within "
        f"{_dist(buffer)} of it"
    )


def _facilities(raw: float, config: PriorityConfig, d: Detail | None, *_: object) -> str:
    buffer = _dist(config.values["facilities"]["buffer_m"])
    kinds = config.values["facilities"]["kinds"]
    if d is None:
        return (
            f"{raw:,.0f} facility points from the facilities within {buffer} "
            "(points per kind in [facilities.kinds])"
        )
    found = [(g, n) for g, n in zip(d.groups, d.amount, strict=True) if n > 0]
    if not found:
        return f"no facility within {buffer}"
    parts = ", ".join(f"{n:,.0f} {g} x {kinds.get(g, 0.0):g}" for g, n in found)
    total = sum(n for _, n in found)
    many = _count(total, "facility", "facilities")
    return f"{raw:,.0f} facility points from {many} within {buffer} ({parts})"


def _roads(raw: float, config: PriorityConfig, d: Detail | None, *_: object) -> str:
    buffer = config.values["roads"]["buffer_m"]
    classes = config.values["roads"]["classes"]
    where = f"inside the area or within {_dist(buffer)} of it" if buffer else "inside the area"
    if d is None:
        return f"{raw:,.2f} class-weighted km of road {where} (km x the weights of [roads.classes])"
    found = [(g, km) for g, km in zip(d.groups, d.amount, strict=True) if km > 0]
    if not found:
        return f"no road {where}"
    parts = ", ".join(f"{g} {km:,.2f} km x {classes.get(g, 0.0):g}" for g, km in found)
    total = sum(km for _, km in found)
    return f"{total:,.2f} km of road {where} ({parts}) = {raw:,.2f} class-weighted km"


def _farmland(raw: float, config: PriorityConfig, d: Detail | None, *_: object) -> str:
    classes = config.values["farmland"]["classes"]
    if d is None:
        return f"{raw:,.1f} ha of farmland ({', '.join(classes)}) inside the area"
    found = [(g, ha) for g, ha in zip(d.groups, d.amount, strict=True) if ha > 0]
    if not found:
        return "no farmland inside the area"
    parts = ", ".join(f"{g} {ha:,.1f} ha" for g, ha in found)
    return f"{raw:,.1f} ha of farmland inside the area ({parts})"


def _accidents(
    raw: float, config: PriorityConfig, d: Detail | None, inputs: Inputs | None, _i: int
) -> str:
    v = config.values["accidents"]
    to = f"to {inputs.as_of.isoformat()}" if inputs is not None else "before the ranking date"
    return (
        f"{_count(raw, 'recorded accident')} within {_dist(v['radius_m'])} in the "
        f"{v['window_days']} days {to}"
    )


def _residual(
    raw: float, config: PriorityConfig, d: Detail | None, inputs: Inputs | None, i: int
) -> str:
    if inputs is not None and not np.isfinite(inputs.areas.residual_expected[i]):
        return "no contamination events recorded: the residual model gives 0 live devices"
    v = config.values["residual"]
    return (
        f"an expected {raw:,.2f} live devices remain (residual model, seed {v['seed']}, "
        f"{v['draws']} draws)"
    )


def _status(
    raw: float, config: PriorityConfig, d: Detail | None, inputs: Inputs | None, i: int
) -> str:
    if inputs is None:
        return f"{raw:g} status points for the area's status"
    status = str(inputs.areas.status[i])
    return f"status {status}: {raw:g} status points ([status] {status})"


def _evidence(raw: float, config: PriorityConfig, d: Detail | None, *_: object) -> str:
    return f"{_count(raw, 'explosive ordnance item')} found in the area"


_SENTENCES: dict[str, Callable[..., str]] = {
    "people": _people,
    "buildings": _buildings,
    "facilities": _facilities,
    "roads": _roads,
    "farmland": _farmland,
    "accidents": _accidents,
    "residual": _residual,
    "status": _status,
    "evidence": _evidence,
}
