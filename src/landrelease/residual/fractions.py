"""Uncertain failure fractions: a source's low/best/high kept as stated, and what finds add.

A fraction given as low, best and high is a split (two-piece) logit-normal that passes exactly
through them at the quantiles the profiles file names for that source:

    logit f = logit(best) + (z - z_b) x (s_lo if z < z_b else s_hi),   z ~ N(0, 1),

with z_b = ndtri(best_quantile) (0: best is the median) and s_lo, s_hi set so that the
`range_quantiles` of f are low and high. Sources' ranges are often lopsided (2.35-6-14%); one
spread on each side keeps both ends where the source put them. A fraction given as `alpha` and
`beta` is a Beta distribution.

Finds update a fraction in the conjugate way, with the profile's stated prior strength N (how
many devices' worth of evidence the figure counts as): after `live` devices found failed and
`inert` found working, the fraction is Beta(c N + live, (1 - c) N + inert), c the figure before
finds (best; a Beta prior's mean). Its mean, (c N + live) / (N + live + inert), is the point
figure after finds: each device found weighs as one observation against N of them, whatever
the width of the stated range. The stated range says how sure the source is; N says how much
one field observation counts against it. Once an area has finds, the stage is estimated from
both, so a figure worth few devices can widen when the first finds arrive (a design limit is
not a measurement).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from typing import Any, overload

import numpy as np
from numpy.typing import NDArray
from scipy import integrate, special, stats

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Fraction:
    """An uncertain fraction with the public figure behind it, and the finds that updated it.

    `best`, `low` and `high` are the stated figures (for a Beta given by `prior_alpha` and
    `prior_beta`: its median and its quantiles at `range_quantiles`); `prior_strength` is how
    many devices' worth of evidence they count as. `found_live` and `found_inert` are the finds
    folded in by `updated`; `.sample`, `.ppf`, `.mean`, `.point` and `.sd` describe the
    distribution after them.
    """

    best: float
    low: float
    high: float
    kind: str
    source: str
    prior_strength: float
    prior_strength_reason: str
    range_quantiles: tuple[float, float] = (0.05, 0.95)
    best_quantile: float = 0.5
    evidence: str = ""
    range_note: str = ""
    prior_alpha: float | None = None
    prior_beta: float | None = None
    found_live: int = 0
    found_inert: int = 0

    def __post_init__(self) -> None:
        q_lo, q_hi = self.range_quantiles
        if not 0.0 < q_lo < q_hi < 1.0:
            raise ValueError(
                f"range_quantiles must be two numbers in (0, 1), ascending; got {q_lo}, {q_hi}"
            )
        if not math.isfinite(self.prior_strength) or self.prior_strength <= 0:
            raise ValueError(f"prior_strength must be above 0, got {self.prior_strength}")
        if not self.prior_strength_reason.strip():
            raise ValueError("prior_strength_reason must say where the prior strength comes from")
        if self.found_live < 0 or self.found_inert < 0:
            raise ValueError("found_live and found_inert must be 0 or more")
        if self.is_beta:
            return
        if not q_lo < self.best_quantile < q_hi:
            raise ValueError(
                f"best_quantile {self.best_quantile} must lie between the range quantiles "
                f"{q_lo} and {q_hi}"
            )
        if not 0.0 < self.low < self.best < self.high < 1.0:
            raise ValueError(
                f"need 0 < low < best < high < 1, got low {self.low}, best {self.best}, "
                f"high {self.high}"
            )

    # --- construction ------------------------------------------------------------------------

    @classmethod
    def from_beta(
        cls,
        alpha: float,
        beta: float,
        *,
        range_quantiles: tuple[float, float] = (0.05, 0.95),
        **fields: Any,
    ) -> Fraction:
        """Return a Beta(alpha, beta) fraction; best, low and high are its median and quantiles."""
        if not (alpha > 0 and beta > 0):
            raise ValueError(f"alpha and beta must be positive, got {alpha}, {beta}")
        dist = stats.beta(alpha, beta)
        return cls(
            best=float(dist.median()),
            low=float(dist.ppf(range_quantiles[0])),
            high=float(dist.ppf(range_quantiles[1])),
            range_quantiles=range_quantiles,
            prior_alpha=float(alpha),
            prior_beta=float(beta),
            **fields,
        )

    def updated(self, live: int, inert: int) -> Fraction:
        """Return this fraction after `live` devices found that failed and `inert` that did not."""
        if live < 0 or inert < 0:
            raise ValueError(f"live and inert must be 0 or more, got {live}, {inert}")
        return dataclasses.replace(
            self, found_live=self.found_live + live, found_inert=self.found_inert + inert
        )

    # --- the distribution ----------------------------------------------------------------------

    @property
    def is_beta(self) -> bool:
        """True for a Beta prior (given by alpha and beta), False for a split logit-normal."""
        return self.prior_alpha is not None and self.prior_beta is not None

    @property
    def has_finds(self) -> bool:
        """True when finds have updated the fraction."""
        return self.found_live + self.found_inert > 0

    @property
    def point(self) -> float:
        """The figure for point estimates: `best` (a Beta prior's median) before any finds, and
        the updated mean (c N + live) / (N + live + inert) after them."""
        if self.has_finds:
            a, b = self._beta_params
            return a / (a + b)
        if not self.is_beta and self.best_quantile == 0.5:
            return self.best
        return float(self.ppf(0.5))

    @property
    def mean(self) -> float:
        """The mean of the distribution (after the finds, if any)."""
        return self._moments[0]

    @property
    def sd(self) -> float:
        """The standard deviation of the distribution (after the finds, if any)."""
        return math.sqrt(self._moments[1])

    @property
    def centre(self) -> float:
        """c, the figure that finds move: best (a Beta prior's mean)."""
        if self.is_beta:
            assert self.prior_alpha is not None and self.prior_beta is not None
            return self.prior_alpha / (self.prior_alpha + self.prior_beta)
        return self.best

    @overload
    def ppf(self, q: float) -> float: ...
    @overload
    def ppf(self, q: FloatArray) -> FloatArray: ...

    def ppf(self, q: float | FloatArray) -> float | FloatArray:
        """Return the quantiles `q` of the distribution (after the finds, if any)."""
        qa = np.asarray(q, dtype=np.float64)
        if self.is_beta or self.has_finds:
            a, b = self._beta_params
            out = np.asarray(special.betaincinv(a, b, qa), dtype=np.float64)
        else:
            out = self._of_z(special.ndtri(qa))
        return float(out) if np.ndim(q) == 0 else out

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        """Return `size` draws of the fraction (after the finds, if any) from `rng`."""
        if self.is_beta or self.has_finds:
            a, b = self._beta_params
            return rng.beta(a, b, size=size)
        return self._of_z(rng.standard_normal(size))

    def as_dict(self) -> dict[str, Any]:
        """Return the stated figures and the model's: point (median), mean, sd, p05, p95."""
        data = dataclasses.asdict(self)
        data["range_quantiles"] = list(self.range_quantiles)
        data.update(
            point=self.point,
            mean=self.mean,
            sd=self.sd,
            p05=float(self.ppf(0.05)),
            p95=float(self.ppf(0.95)),
        )
        return data

    # --- internals ---------------------------------------------------------------------------

    @property
    def _shape(self) -> tuple[float, float, float, float]:
        """(logit(best), z_b, s_lo, s_hi) of the split logit-normal."""
        return _split_shape(
            self.best, self.low, self.high, self.range_quantiles, self.best_quantile
        )

    def _logit_of_z(self, z: FloatArray) -> FloatArray:
        return _split_logit(self._shape, z)

    def _of_z(self, z: FloatArray) -> FloatArray:
        return np.asarray(special.expit(self._logit_of_z(z)), dtype=np.float64)

    @functools.cached_property
    def _beta_params(self) -> tuple[float, float]:
        """The Beta of a Beta prior without finds; after finds Beta(c N + live, (1 - c) N +
        inert), N the prior strength."""
        if not self.has_finds:
            assert self.prior_alpha is not None and self.prior_beta is not None
            return self.prior_alpha, self.prior_beta
        c, n = self.centre, self.prior_strength
        return c * n + self.found_live, (1.0 - c) * n + self.found_inert

    @functools.cached_property
    def _moments(self) -> tuple[float, float]:
        """(mean, variance), after the finds if any."""
        if self.is_beta or self.has_finds:
            a, b = self._beta_params
            return a / (a + b), a * b / ((a + b) ** 2 * (a + b + 1.0))
        return _split_moments(*self._shape)


@functools.lru_cache(maxsize=1024)
def _split_shape(
    best: float, low: float, high: float, quantiles: tuple[float, float], best_quantile: float
) -> tuple[float, float, float, float]:
    """Return (logit(best), z_b, s_lo, s_hi): the split logit-normal through the three points."""
    z_lo, z_b, z_hi = (float(special.ndtri(q)) for q in (quantiles[0], best_quantile, quantiles[1]))
    centre = float(special.logit(best))
    s_lo = (centre - float(special.logit(low))) / (z_b - z_lo)
    s_hi = (float(special.logit(high)) - centre) / (z_hi - z_b)
    return centre, z_b, s_lo, s_hi


def _split_logit(shape: tuple[float, float, float, float], z: FloatArray) -> FloatArray:
    """Return logit f at standard-normal `z` for a split logit-normal of `shape`."""
    centre, z_b, s_lo, s_hi = shape
    d = np.asarray(z, dtype=np.float64) - z_b
    return np.asarray(centre + d * np.where(d < 0, s_lo, s_hi), dtype=np.float64)


@functools.lru_cache(maxsize=1024)
def _split_moments(centre: float, z_b: float, s_lo: float, s_hi: float) -> tuple[float, float]:
    """Return (mean, variance) of the split logit-normal (cached: every update of a fraction
    needs its prior's moments, and integrating them costs milliseconds)."""
    shape = (centre, z_b, s_lo, s_hi)
    norm = 1.0 / math.sqrt(2.0 * math.pi)

    def integral(g: Any) -> float:
        # One integral per half of the split (its kink at z_b), each smooth: quad is exact to
        # about 1e-11 relative here, where a grid would lose the far tails.
        opts = {"epsabs": 0.0, "epsrel": 1e-11, "limit": 200}
        lower = integrate.quad(g, -np.inf, z_b, **opts)[0]
        upper = integrate.quad(g, z_b, np.inf, **opts)[0]
        return float(lower + upper)

    def f(z: float) -> float:
        return float(special.expit(_split_logit(shape, np.array(z))))

    mean = integral(lambda z: f(z) * math.exp(-0.5 * z * z) * norm)
    var = integral(lambda z: (f(z) - mean) ** 2 * math.exp(-0.5 * z * z) * norm)
    return mean, var
