"""GET /api/hazards/{ref}/residual: the residual-hazard estimate of an area, and
GET /api/hazards/{ref}/residual/timeline: its curve over time.

The same numbers as `landrelease residual area REF --json` (both call
`Registry.residual_estimate`) and as the chart of `--plot` (both call
`Registry.residual_timeline`).
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
    seed: Annotated[
        int | None,
        Query(ge=0, le=s.INT64, description="the same seed repeats a run; default a new one"),
    ] = None,
    threshold: Annotated[
        float,
        Query(
            gt=0,
            lt=1,
            description="safe date: the first day the chance that at least one device is "
            "live is below this",
        ),
    ] = 0.01,
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
    one value per date of `dates`, and the estimate's date and safe date to mark."""

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
    live_p05: list[float]
    live_p95: list[float]
    p_any_live: list[float]


@router.get(
    "/api/hazards/{ref}/residual/timeline",
    response_model=ResidualTimeline,
    tags=["hazards"],
    operation_id="residual_timeline_hazards",
    summary="The residual curve of a hazard area: live devices over time, with a 90% range",
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
    seed: Annotated[
        int | None,
        Query(ge=0, le=s.INT64, description="the same seed repeats a run; default a new one"),
    ] = None,
) -> Response:
    chart = reg.residual_timeline(ref, at, seed=seed, draws=draws)
    return json_response({"area_ref": ref, **chart.as_dict()})
