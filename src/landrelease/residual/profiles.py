"""Device profiles: public timing and reliability figures, each with its source and uncertainty.

The figures live in `profiles.toml` beside this module; this module reads them into frozen
dataclasses and checks them. Uncertain fractions (`Fraction`, residual/fractions.py) keep each
source's low/best/high at the quantiles the file names for it.
"""

from __future__ import annotations

import dataclasses
import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from landrelease.domain.errors import ValidationError
from landrelease.residual.fractions import Fraction

CATEGORIES: dict[str, str] = {
    "ap_mine": "anti-personnel mine",
    "av_mine": "anti-vehicle mine",
    "submunition": "submunition",
    "uxo": "other unexploded ordnance",
}

FIGURE_KINDS = ("design-limit", "test", "claim", "field", "definition", "assumption")


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
        """S(infinity) at the point figures (medians): the fraction that stays live indefinitely."""
        value = 1.0
        for frac in self.fractions().values():
            value *= frac.point
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
        """Return the profile as plain data (for JSON); each fraction with the model's figures
        (point, mean, sd, p05, p95) beside the stated ones and its prior strength."""
        data = dataclasses.asdict(self)
        for name, frac in self.fractions().items():
            if name == "dud":
                data[name] = frac.as_dict()
            else:
                data[name]["fail"] = frac.as_dict()
        data["category_label"] = self.category_label
        data["floor"] = self.floor
        data["persistent"] = self.persistent
        return data


FRACTION_KEYS = frozenset(
    {
        "best",
        "low",
        "high",
        "range_quantiles",
        "best_quantile",
        "alpha",
        "beta",
        "prior_strength",
        "prior_strength_reason",
        "kind",
        "source",
        "evidence",
        "range_note",
    }
)


def _fraction(raw: Mapping[str, Any], where: str) -> Fraction:
    """Return the fraction described by a TOML table; a ValueError names `where` it is."""
    unknown = sorted(set(raw) - FRACTION_KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)}")
    for key in ("prior_strength", "prior_strength_reason"):
        if key not in raw:
            raise ValueError(
                f"{where}: {key} is required (how many devices' worth of evidence the figure "
                "counts as, and why)"
            )
    common: dict[str, Any] = {
        "kind": _kind(raw, where),
        "source": _source(raw, where),
        "evidence": str(raw.get("evidence", "")),
        "range_note": str(raw.get("range_note", "")),
        "prior_strength": _number(raw, "prior_strength", where),
        "prior_strength_reason": " ".join(str(raw["prior_strength_reason"]).split()),
    }
    try:
        if "alpha" in raw or "beta" in raw:
            if not {"alpha", "beta"} <= raw.keys() or raw.keys() & {"best", "low", "high"}:
                raise ValueError("give alpha and beta, or best, low and high, not both")
            quantiles = _quantiles(raw, where) if "range_quantiles" in raw else (0.05, 0.95)
            return Fraction.from_beta(
                _number(raw, "alpha", where),
                _number(raw, "beta", where),
                range_quantiles=quantiles,
                **common,
            )
        if not {"best", "low", "high"} <= raw.keys():
            raise ValueError("give best, low and high, or alpha and beta")
        if "range_quantiles" not in raw:
            raise ValueError(
                "range_quantiles is required with low and high: say which quantiles they are "
                "(a 90% range is [0.05, 0.95])"
            )
        return Fraction(
            best=_number(raw, "best", where),
            low=_number(raw, "low", where),
            high=_number(raw, "high", where),
            range_quantiles=_quantiles(raw, where),
            best_quantile=_number(raw, "best_quantile", where) if "best_quantile" in raw else 0.5,
            **common,
        )
    except ValueError as exc:
        message = str(exc)
        raise ValueError(message if message.startswith(where) else f"{where}: {message}") from None


def _number(raw: Mapping[str, Any], key: str, where: str) -> float:
    value = raw[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where}: {key} must be a number, got {value!r}")
    return float(value)


def _quantiles(raw: Mapping[str, Any], where: str) -> tuple[float, float]:
    value = raw["range_quantiles"]
    if not isinstance(value, list) or len(value) != 2:
        raise ValueError(f"{where}: range_quantiles must be a list of two numbers, got {value!r}")
    lo, hi = (_number({"range_quantiles": v}, "range_quantiles", where) for v in value)
    if not 0.0 < lo < hi < 1.0:
        raise ValueError(
            f"{where}: range_quantiles must be two numbers in (0, 1), ascending; got {value!r}"
        )
    return lo, hi


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
