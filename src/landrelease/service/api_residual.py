"""The residual-hazard model over HTTP: the same numbers as `landrelease residual`.

- GET /api/hazards/{ref}/residual: an area's estimate (`residual area REF --json`; both call
  `Registry.residual_estimate`);
- GET /api/hazards/{ref}/residual/timeline: its curve over time (the chart of `--plot`; both
  call `Registry.residual_timeline`);
- GET /api/residual: every area's estimate from one run (`residual all --json`;
  `Registry.residual_estimates`);
- GET /api/residual/profiles: the device profiles (`residual profiles --json`;
  `Registry.residual_profiles`).

Each estimate names its two ranges apart: the range of the *expected* count over the
profiles' uncertainty, and the 90% range of the *actual* number of live devices.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict
from starlette.responses import Response

from landrelease.service import schemas as s
from landrelease.service.api_common import Reader, Reg, json_response

router = APIRouter()

Seed = Annotated[
    int | None,
    Query(ge=0, le=s.INT64, description="the same seed repeats a run; default a new one"),
]
Threshold = Annotated[
    float,
    Query(
        gt=0,
        lt=1,
        description="safe date: the first day the chance that at least one device is "
        "live is below this",
    ),
]


@router.get(
    "/api/hazards/{ref}/residual",
    response_model=s.Residual,
    tags=["hazards"],
    operation_id="residual_hazards",
    summary="Estimate the live devices left in a hazard area at a date",
    responses=s.problems(401, 404, 422, 503),
)
def residual(
    ref: str,
    user: Reader,
    reg: Reg,
    at: Annotated[
        dt.date | None, Query(description="the date to estimate for, YYYY-MM-DD; default today")
    ] = None,
    draws: Annotated[int, Query(ge=100, le=100_000, description="Monte Carlo draws")] = 10_000,
    seed: Seed = None,
    threshold: Threshold = 0.01,
    cleared_share: Annotated[
        float, Query(ge=0, le=1, description="share of the area already cleared or sampled")
    ] = 0.0,
) -> Response:
    res = reg.residual_estimate(
        ref, at, cleared_share=cleared_share, threshold=threshold, draws=draws, seed=seed
    )
    return json_response(res.as_dict())


class ResidualTimeline(BaseModel):
    """The residual curve of an area (as `landrelease residual area REF --plot` draws it):
    one value per date of `dates`, and the estimate's date and safe date to mark.

    Per date: the expected live devices and the range of that expected count
    (`expected_live_p05`..`expected_live_p95`), the 90% range of the actual number live
    (`actual_live_low`..`actual_live_high`, whole devices) and the chance that at least one
    is live."""

    model_config = ConfigDict(extra="allow")

    area_ref: str
    at: str
    safe_date: str | None
    threshold: float
    emplaced_on: str
    draws: int
    seed: int | None
    expected_live_at: float
    dates: list[str]
    expected_live: list[float]
    expected_live_p05: list[float]
    expected_live_p95: list[float]
    actual_live_low: list[int]
    actual_live_high: list[int]
    p_any_live: list[float]


@router.get(
    "/api/hazards/{ref}/residual/timeline",
    response_model=ResidualTimeline,
    tags=["hazards"],
    operation_id="residual_timeline_hazards",
    summary="The residual curve of a hazard area: expected live devices with their range, "
    "and the range of the actual number live, over time",
    responses=s.problems(401, 404, 422, 503),
)
def residual_timeline(
    ref: str,
    user: Reader,
    reg: Reg,
    at: Annotated[
        dt.date | None, Query(description="the date of the estimate marked; default today")
    ] = None,
    draws: Annotated[int, Query(ge=100, le=20_000, description="Monte Carlo draws")] = 2000,
    seed: Seed = None,
) -> Response:
    chart = reg.residual_timeline(ref, at, seed=seed, draws=draws)
    return json_response({"area_ref": ref, **chart.as_dict()})


@router.get(
    "/api/residual",
    response_model=s.ResidualAll,
    tags=["residual"],
    operation_id="residual_all",
    summary="Estimate the live devices left in every hazard area with contamination events",
    responses=s.problems(401, 422, 503),
)
def residual_all(
    user: Reader,
    reg: Reg,
    at: Annotated[
        dt.date | None, Query(description="the date to estimate for, YYYY-MM-DD; default today")
    ] = None,
    threshold: Threshold = 0.01,
    draws: Annotated[
        int, Query(ge=100, le=10_000, description="Monte Carlo draws (shared by every area)")
    ] = 2000,
    seed: Seed = None,
) -> Response:
    """Every area's expected live devices with their range, the 90% range of the actual
    number live, the chance at least one is live and the safe date: one run, one seed."""
    table = reg.residual_estimates(at, threshold=threshold, draws=draws, seed=seed)
    return json_response(
        {
            "at": table.at.isoformat(),
            "threshold": table.threshold,
            "draws": table.draws,
            "seed": table.seed,
            "areas": table.rows(),
        }
    )


@router.get(
    "/api/residual/profiles",
    response_model=s.ResidualProfiles,
    tags=["residual"],
    operation_id="residual_profiles",
    summary="The device profiles of the residual model, with their figures and sources",
    responses=s.problems(401, 503),
)
def residual_profiles(user: Reader, reg: Reg) -> Response:
    """Each profile's stages: the stated figures with the quantiles they stand for, the
    model's median and 5-95% range, the prior strength and its reason, and the sources."""
    return json_response({"profiles": [p.as_dict() for p in reg.residual_profiles()]})
