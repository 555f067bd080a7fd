"""The query of a listing (GET /api/{kind}): paging, order and the kind's own filters.

Parsed once, in a dependency made for each kind, so that /openapi.json shows only the filters
a kind has (a status filter lists its codes) and the routes stay a few lines long.
"""

# No `from __future__ import annotations`: the signature of each kind's dependency is made
# at run time, from evaluated annotations.

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Query, Request

from landrelease.domain.records import RecordKind
from landrelease.service.api_common import JSON
from landrelease.service.problems import Problem
from landrelease.service.schemas import INT64

BBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class RecordQuery:
    """What a listing asks for: one page of the records matching its filters."""

    limit: int
    offset: int
    order_by: str | None
    where: dict[str, Any]
    bbox: BBox | None
    geometry: bool


def parse_bbox(text: str | None) -> BBox | None:
    """Return the box of "minx,miny,maxx,maxy" (EPSG:4326); a malformed one is a 422."""
    if text is None:
        return None
    try:
        box = tuple(float(p) for p in text.split(","))
    except ValueError:
        box = ()
    if (
        len(box) != 4
        or not all(abs(v) < float("inf") for v in box)
        or box[0] > box[2]
        or box[1] > box[3]
    ):
        raise Problem(
            422,
            "invalid request",
            f"bbox {text!r}: give minx,miny,maxx,maxy in EPSG:4326 longitude and latitude, "
            "min before max, e.g. 36.1,49.9,36.3,50.1",
            field="bbox",
        )
    return box  # type: ignore[return-value]


def record_query(kind: RecordKind) -> Callable[..., RecordQuery]:
    """Return the dependency parsing a listing's query: paging, order, the kind's filters."""

    def query(
        limit: Annotated[int, Query(ge=1, le=10_000, description="records per page")] = 100,
        offset: Annotated[int, Query(ge=0, le=INT64, description="records to skip")] = 0,
        order_by: Annotated[
            str | None,
            Query(
                max_length=100,
                description="a field or change-stamp column (changed_at, changed_by, "
                "needs_check); -name sorts descending",
            ),
        ] = None,
        status: Annotated[str | None, Query(description="only records of this status")] = None,
        area_ref: Annotated[
            str | None, Query(max_length=200, description="only records of this hazard area")
        ] = None,
        bbox: Annotated[
            str | None,
            Query(
                max_length=200,
                description="minx,miny,maxx,maxy (EPSG:4326): records whose geometry meets it",
            ),
        ] = None,
        geometry: Annotated[bool, Query(description="give each record's geometry")] = True,
    ) -> RecordQuery:
        where = {k: v for k, v in (("status", status), ("area_ref", area_ref)) if v is not None}
        return RecordQuery(limit, offset, order_by, where, parse_bbox(bbox), geometry)

    # Document only the filters this kind has: the others are left out of the signature
    # FastAPI reads, so they keep their defaults. A status filter lists the kind's codes.
    fields = set(kind.field_names)
    keep = {"limit", "offset", "order_by"} | ({"status", "area_ref"} & fields)
    if kind.geometry is not None:
        keep |= {"bbox", "geometry"}
    params = []
    for p in inspect.signature(query).parameters.values():
        if p.name not in keep:
            continue
        if p.name == "status":
            codes = kind.field("status").codes
            assert codes is not None
            values = Literal[tuple(c.value for c in codes)]  # type: ignore[valid-type]
            p = p.replace(
                annotation=Annotated[
                    values | None, Query(description="only records of this status")
                ]
            )
        params.append(p)
    query.__signature__ = inspect.signature(query).replace(parameters=params)  # type: ignore[attr-defined]
    return query


def page_links(request: Request, q: RecordQuery, matched: int) -> list[dict[str, str]]:
    """Return the links of a page: itself, and the next and previous pages if any."""

    def at(offset: int) -> str:
        return str(request.url.include_query_params(offset=offset, limit=q.limit))

    links = [{"href": str(request.url), "rel": "self", "type": JSON}]
    if q.offset + q.limit < matched:
        links.append({"href": at(q.offset + q.limit), "rel": "next", "type": JSON})
    if q.offset > 0:
        links.append({"href": at(max(0, q.offset - q.limit)), "rel": "prev", "type": JSON})
    return links
