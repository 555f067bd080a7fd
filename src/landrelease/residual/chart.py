"""The residual curve of an area over time: the dates it spans and the series it shows.

One chart for every edge: `landrelease residual ... --plot` draws it as a PNG, the web map's
details panel as an SVG (from `GET /api/hazards/{ref}/residual/timeline`). Pure: the model
and the standard library only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from landrelease.domain.errors import ValidationError
from landrelease.domain.records import ContaminationEvent
from landrelease.residual.montecarlo import Estimate, Timeline, timeline
from landrelease.residual.profiles import DeviceProfile

POINTS = 240  # dates on the curve: smooth at a chart's width, cheap to draw


@dataclass(frozen=True)
class ResidualChart:
    """Over the chart's dates: the expected live devices with the range of that expected
    count, the 90% range of the actual number live, and P(at least one live); with the
    estimate they were drawn beside (its date and safe date are marked on the chart)."""

    estimate: Estimate
    line: Timeline
    emplaced: dt.date  # the earliest emplacement: where the chart starts

    def as_dict(self) -> dict[str, Any]:
        """Return the chart as JSON-ready lists (one value per date) and its marks."""
        est = self.estimate
        return {
            "at": est.at.isoformat(),
            "safe_date": est.safe_date.isoformat() if est.safe_date else None,
            "threshold": est.threshold,
            "emplaced_on": self.emplaced.isoformat(),
            "draws": est.draws,
            "seed": est.seed,
            "expected_live_at": est.expected_live,
            "dates": [d.isoformat() for d in self.line.dates],
            "expected_live": [float(v) for v in self.line.mean],
            "expected_live_p05": [float(v) for v in self.line.p05],
            "expected_live_p95": [float(v) for v in self.line.p95],
            "actual_live_low": [int(v) for v in self.line.actual_low],
            "actual_live_high": [int(v) for v in self.line.actual_high],
            "p_any_live": [float(v) for v in self.line.p_any],
        }


def chart_span(
    events: Sequence[ContaminationEvent], est: Estimate, profiles: Mapping[str, DeviceProfile]
) -> tuple[dt.date, dt.date]:
    """Return the first and last date of the chart of `events`.

    From the earliest emplacement to past the latest of: the estimate's date, the last day
    any device can still change state, and the safe date; plus a margin of a quarter of
    the span (at least 30 days) so that the flat tail shows.
    """
    dated = [e for e in events if e.emplaced_on]
    if not dated:
        raise ValidationError("residual", "emplaced_on", "no event has an emplacement date")
    start = min(e.emplaced_on for e in dated if e.emplaced_on)
    last = max((e.emplaced_until or e.emplaced_on) for e in dated if e.emplaced_on)
    horizon = max(
        (profiles[e.profile_id].last_change_days for e in events if e.profile_id), default=0.0
    )
    ends = [est.at, last + dt.timedelta(days=horizon)]
    if est.safe_date:
        ends.append(est.safe_date)
    end = max(ends)
    end += dt.timedelta(days=max(30, (end - start).days // 4))
    return start, end


def residual_chart(
    events: Sequence[ContaminationEvent],
    est: Estimate,
    *,
    profiles: Mapping[str, DeviceProfile],
    draws: int,
) -> ResidualChart:
    """Return the chart of `events` beside `est`: the model run on the chart's dates with the
    estimate's seed (so that the same seed repeats the same curve)."""
    start, end = chart_span(events, est, profiles)
    line = timeline(
        events, start, end, points=POINTS, draws=draws, seed=est.seed, profiles=profiles
    )
    return ResidualChart(estimate=est, line=line, emplaced=start)
