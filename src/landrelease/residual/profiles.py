"""Device profiles: public timing and reliability figures, each with its source and uncertainty.

The figures live in `profiles.toml` beside this module; this module reads them into frozen
dataclasses and checks them. Uncertain fractions are Beta distributions.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from landrelease.domain.errors import ValidationError

CATEGORIES: dict[str, str] = {
    "ap_mine": "anti-personnel mine",
    "av_mine": "anti-vehicle mine",
    "submunition": "submunition",
    "uxo": "other unexploded ordnance",
}

FIGURE_KINDS = ("design-limit", "test", "claim", "field", "definition", "assumption")

# A low/high range is read as a 90% interval: high - low = 2 x 1.645 standard deviations.
RANGE_SDS = 2 * 1.6449


@dataclass(frozen=True)
class Fraction:
    """An uncertain fraction (Beta(alpha, beta)) with the public figure behind it."""

    alpha: float
    beta: float
    kind: str
    source: str
    evidence: str = ""
    low: float | None = None
    high: float | None = None
    range_note: str = ""
    found_live: int = 0
    found_inert: int = 0

    @property
    def mean(self) -> float:
        """The point estimate: the Beta mean (the profile's best figure)."""
        return self.alpha / (self.alpha + self.beta)

    @property
    def sd(self) -> float:
        a, b = self.alpha, self.beta
        return math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))

    def updated(self, live: int, inert: int) -> Fraction:
        """Return the Beta posterior after `live` devices that failed and `inert` that did not."""
        return dataclasses.replace(
            self,
            alpha=self.alpha + live,
            beta=self.beta + inert,
            found_live=self.found_live + live,
            found_inert=self.found_inert + inert,
        )


@dataclass(frozen=True)
class SelfDestruct:
    """Self-destruction between `earliest_days` and `latest_days` (uniform; a step if equal)."""

    earliest_days: float
    latest_days: float
    fail: Fraction
    kind: str
    source: str
    evidence: str = ""
    note: str = ""


@dataclass(frozen=True)
class SelfDeactivate:
    """Self-deactivation of devices that did not self-destruct, as a step at `days`."""

    days: float
    fail: Fraction
    kind: str
    source: str
    evidence: str = ""
    note: str = ""


@dataclass(frozen=True)
class DeviceProfile:
    """A device type's public timing and reliability figures, as the residual model uses them."""

    id: str
    name: str
    category: str
    basis: str
    summary: str
    source: str = ""
    dud: Fraction | None = None
    self_destruct: SelfDestruct | None = None
    self_deactivate: SelfDeactivate | None = None

    @property
    def category_label(self) -> str:
        return CATEGORIES[self.category]

    @property
    def persistent(self) -> bool:
        """True when nothing in the profile ever lowers the live fraction."""
        return self.dud is None and self.self_destruct is None and self.self_deactivate is None

    @property
    def floor(self) -> float:
        """S(infinity) at the point estimates: the fraction that stays live indefinitely."""
        value = 1.0
        for frac in self.fractions().values():
            value *= frac.mean
        return value

    @property
    def last_change_days(self) -> float:
        """Days after emplacement after which S(t) no longer changes."""
        days = 0.0
        if self.self_destruct is not None:
            days = max(days, self.self_destruct.latest_days)
        if self.self_deactivate is not None:
            days = max(days, self.self_deactivate.days)
        return days

    def fractions(self) -> dict[str, Fraction]:
        """Return the uncertain fractions by stage name (dud, self_destruct, self_deactivate)."""
        out: dict[str, Fraction] = {}
        if self.dud is not None:
            out["dud"] = self.dud
        if self.self_destruct is not None:
            out["self_destruct"] = self.self_destruct.fail
        if self.self_deactivate is not None:
            out["self_deactivate"] = self.self_deactivate.fail
        return out

    def as_dict(self) -> dict[str, Any]:
        """Return the profile as plain data (for JSON), with each fraction's mean and range."""
        data = dataclasses.asdict(self)
        for name, frac in self.fractions().items():
            target = data[name] if name == "dud" else data[name]["fail"]
            target["mean"] = frac.mean
            target["sd"] = frac.sd
        data["category_label"] = self.category_label
        data["floor"] = self.floor
        data["persistent"] = self.persistent
        return data


def beta_from_range(best: float, low: float, high: float) -> tuple[float, float]:
    """Return (alpha, beta) of the Beta with mean `best` and sd (high - low) / 3.29.

    The range is read as a 90% interval around the best figure (method of moments).
    """
    if not 0.0 < best < 1.0:
        raise ValueError(f"best must lie in (0, 1), got {best}")
    if not 0.0 <= low <= best <= high <= 1.0 or low == high:
        raise ValueError(f"need 0 <= low <= best <= high <= 1 and low < high, got {low}, {high}")
    sd = (high - low) / RANGE_SDS
    concentration = best * (1.0 - best) / sd**2 - 1.0
    if concentration <= 0:
        raise ValueError(f"range {low}..{high} is too wide for a Beta with mean {best}")
    return best * concentration, (1.0 - best) * concentration


def _fraction(raw: Mapping[str, Any], where: str) -> Fraction:
    kind = _kind(raw, where)
    source = _source(raw, where)
    if "alpha" in raw and "beta" in raw:
        alpha, beta = float(raw["alpha"]), float(raw["beta"])
        if alpha <= 0 or beta <= 0:
            raise ValueError(f"{where}: alpha and beta must be positive")
    elif {"best", "low", "high"} <= raw.keys():
        alpha, beta = beta_from_range(float(raw["best"]), float(raw["low"]), float(raw["high"]))
    else:
        raise ValueError(f"{where}: give best, low and high, or alpha and beta")
    return Fraction(
        alpha=alpha,
        beta=beta,
        kind=kind,
        source=source,
        evidence=str(raw.get("evidence", "")),
        low=raw.get("low"),
        high=raw.get("high"),
        range_note=str(raw.get("range_note", "")),
    )


def _kind(raw: Mapping[str, Any], where: str) -> str:
    kind = str(raw.get("kind", ""))
    if kind not in FIGURE_KINDS:
        raise ValueError(f"{where}: kind {kind!r} is not one of {', '.join(FIGURE_KINDS)}")
    return kind


def _source(raw: Mapping[str, Any], where: str) -> str:
    source = str(raw.get("source", "")).strip()
    if not source:
        raise ValueError(f"{where}: every figure must cite its public source")
    return source


def _profile(raw: Mapping[str, Any]) -> DeviceProfile:
    pid = str(raw["id"])
    category = str(raw["category"])
    if category not in CATEGORIES:
        raise ValueError(f"{pid}: category {category!r} is not one of {', '.join(CATEGORIES)}")
    dud = _fraction(raw["dud"], f"{pid}.dud") if "dud" in raw else None
    sd = sda = None
    if "self_destruct" in raw:
        r = raw["self_destruct"]
        sd = SelfDestruct(
            earliest_days=float(r["earliest_days"]),
            latest_days=float(r["latest_days"]),
            fail=_fraction(r["fail"], f"{pid}.self_destruct.fail"),
            kind=_kind(r, f"{pid}.self_destruct"),
            source=_source(r, f"{pid}.self_destruct"),
            evidence=str(r.get("evidence", "")),
            note=str(r.get("note", "")),
        )
        if not 0 <= sd.earliest_days <= sd.latest_days:
            raise ValueError(f"{pid}: need 0 <= earliest_days <= latest_days")
    if "self_deactivate" in raw:
        r = raw["self_deactivate"]
        sda = SelfDeactivate(
            days=float(r["days"]),
            fail=_fraction(r["fail"], f"{pid}.self_deactivate.fail"),
            kind=_kind(r, f"{pid}.self_deactivate"),
            source=_source(r, f"{pid}.self_deactivate"),
            evidence=str(r.get("evidence", "")),
            note=str(r.get("note", "")),
        )
        if sd is not None and sda.days < sd.latest_days:
            # The model's product form assumes self-destruction is over before deactivation.
            raise ValueError(f"{pid}: self-deactivation must come after the last self-destruction")
    profile = DeviceProfile(
        id=pid,
        name=str(raw["name"]),
        category=category,
        basis=_kind({"kind": raw.get("basis")}, f"{pid}.basis"),
        summary=" ".join(str(raw.get("summary", "")).split()),
        source=str(raw.get("source", "")).strip(),
        dud=dud,
        self_destruct=sd,
        self_deactivate=sda,
    )
    if profile.persistent and not profile.source:
        raise ValueError(f"{pid}: a persistent profile must cite the source of its definition")
    return profile


def parse_profiles(text: str) -> dict[str, DeviceProfile]:
    """Return the profiles defined in a TOML document, by id (raises ValueError if malformed)."""
    data = tomllib.loads(text)
    profiles: dict[str, DeviceProfile] = {}
    for raw in data.get("profile", []):
        profile = _profile(raw)
        if profile.id in profiles:
            raise ValueError(f"profile id {profile.id!r} appears twice")
        profiles[profile.id] = profile
    return profiles


@functools.cache
def _packaged_profiles() -> dict[str, DeviceProfile]:
    text = resources.files("landrelease.residual").joinpath("profiles.toml").read_text("utf-8")
    return parse_profiles(text)


def load_profiles(path: str | Path | None = None) -> dict[str, DeviceProfile]:
    """Return the device profiles by id: the packaged file, or the TOML file at `path`."""
    if path is None:
        return dict(_packaged_profiles())
    return parse_profiles(Path(path).read_text("utf-8"))


def get_profile(
    profile_id: str, profiles: Mapping[str, DeviceProfile] | None = None
) -> DeviceProfile:
    """Return the profile called `profile_id`; a ValidationError names the known ids."""
    known = profiles if profiles is not None else _packaged_profiles()
    try:
        return known[profile_id]
    except KeyError:
        raise ValidationError(
            "profile",
            None,
            f"unknown device profile {profile_id!r}; use one of {', '.join(sorted(known))} "
            "(see `landrelease residual profiles`)",
        ) from None
