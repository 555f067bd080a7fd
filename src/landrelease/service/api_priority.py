"""Prioritisation over HTTP: the saved rankings, as `landrelease priority` shows them.

- GET /api/priority: the latest saved ranking (or `?ranking=ID`), its rows by rank one page
  at a time (`Registry.ranking`); 404 while no ranking is saved;
- GET /api/priority/{ref}: how an area got its score in it, one line per component
  (`landrelease priority explain REF --json`; both call `Registry.explain_priority`).

Rankings are computed and saved with `landrelease prioritize --save`: a ranking is a
decision made on the record, not a side effect of reading a page. Any signed-in reader may
read them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict
from starlette.responses import Response

from landrelease.service import schemas as s
from landrelease.service.api_common import Reader, Reg, json_response

router = APIRouter()

RankingId = Annotated[
    str | None,
    Query(
        max_length=64,
        description="the id of a saved ranking (`landrelease priority history`); "
        "default the latest",
    ),
]


class RankedArea(BaseModel):
    """One area of a ranking: its rank (1 is cleared first), score, the raw value of each
    component in its unit and the points each gives (weight x raw)."""

    model_config = ConfigDict(extra="allow")

    rank: int
    ref: str
    score: float
    components: dict[str, float]
    contributions: dict[str, float]


class RankingPage(BaseModel):
    """A saved ranking: its id, who saved it and when, the date it ranks as of, the
    configuration (TOML text) and what it was computed from, and one page of its areas."""

    model_config = ConfigDict(extra="allow")

    id: str
    created_at: str
    created_by: str
    as_of: str
    areas: int
    config: str
    inputs: dict[str, Any]
    rows: list[RankedArea]
    numberMatched: int  # noqa: N815 - the OGC API's name, as the records API pages
    numberReturned: int  # noqa: N815
    limit: int
    offset: int


class ExplainLine(BaseModel):
    """One component of an area's score: raw value and unit, weight, points and how."""

    component: str
    raw: float
    unit: str
    weight: float
    contribution: float
    how: str


class Explanation(BaseModel):
    """How an area got its score in a saved ranking. `detail_current` is false when the
    registry changed since: the values are the ranking's, the detail of `how` today's."""

    model_config = ConfigDict(extra="allow")

    ranking_id: str
    ref: str
    rank: int
    score: float
    as_of: str
    areas: int
    detail_current: bool
    note: str | None
    lines: list[ExplainLine]


@router.get(
    "/api/priority",
    response_model=RankingPage,
    tags=["priority"],
    operation_id="priority_ranking",
    summary="The latest saved ranking of the hazard areas, one page of its areas by rank",
    responses=s.problems(401, 404, 422, 503),
)
def priority(
    user: Reader,
    reg: Reg,
    ranking: RankingId = None,
    limit: Annotated[int, Query(ge=1, le=10_000, description="areas per page")] = 100,
    offset: Annotated[int, Query(ge=0, le=s.INT64, description="areas to skip")] = 0,
) -> Response:
    """Return the ranking and one page of its areas: rank, ref, score, the raw value of each
    component and the points it gives."""
    got = reg.ranking(ranking, limit=limit, offset=offset)
    return json_response(
        {
            **got,
            "as_of": str(got["as_of"]),
            "numberMatched": got["areas"],
            "numberReturned": len(got["rows"]),
            "limit": limit,
            "offset": offset,
        }
    )


@router.get(
    "/api/priority/{ref}",
    response_model=Explanation,
    tags=["priority"],
    operation_id="priority_explain",
    summary="How a hazard area got its score in the latest (or a given) saved ranking",
    responses=s.problems(401, 404, 422, 503),
)
def priority_explain(ref: str, user: Reader, reg: Reg, ranking: RankingId = None) -> Response:
    """Return the area's rank and score and, per component, its raw value and unit, the
    weight, the points and one sentence saying how it was measured."""
    return json_response(reg.explain_priority(ref, ranking))
