"""The records API under /api/: list, read, create, change, history, revert, summary.

Each record kind has its own routes (/api/hazards, /api/events, ...), made from one set of
functions, so that /openapi.json documents each kind's fields and an unknown kind is a plain
404. A route parses, calls one `Registry` method and renders with `records_json`, the
serializer the CLI uses. Writes are optimistic: a record's ETag is its version, and a change
must send it back as If-Match (`api_common.version_matching`). Imports: api_imports.py; the residual
estimate: api_residual.py.
"""

# No `from __future__ import annotations`: FastAPI reads the models of each kind, made at
# run time, from the route functions' annotations.

import re
from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from landrelease.domain.errors import NotFound
from landrelease.domain.records import KINDS, RecordKind
from landrelease.records_json import STAMP, record_input, record_json, records_json
from landrelease.service import api_imports, api_residual
from landrelease.service import schemas as s
from landrelease.service.api_common import (
    Reader,
    Reg,
    Writer,
    etag,
    json_response,
    version_matching,
)
from landrelease.service.api_query import RecordQuery, page_links, record_query
from landrelease.service.problems import Problem

router = APIRouter()


def add_kind_routes(router: APIRouter, kind: RecordKind) -> None:
    """Add the routes of one record kind under /api/{kind.name}."""
    m = s.models_of(kind)
    base = f"/api/{kind.name}"
    columns = [*kind.field_names, *STAMP]
    tags: list[str | Enum] = [kind.name]
    label = re.sub(r"(?<!^)(?=[A-Z])", " ", kind.cls.__name__).lower()  # "hazard area"
    Version = Annotated[int, Depends(version_matching(kind))]  # noqa: N806
    Query_ = Annotated[RecordQuery, Depends(record_query(kind))]  # noqa: N806
    Create = m.create  # noqa: N806
    Update = m.update  # noqa: N806

    def rendered(stored: dict[str, Any], status_code: int = 200, **headers: str) -> Response:
        """Return a stored record's JSON, with its ETag."""
        return json_response(
            record_json(kind, stored, geometry=kind.geometry is not None),
            status_code,
            headers={"ETag": etag(stored["version"]), **headers},
        )

    @router.get(
        base,
        response_model=m.page,
        tags=tags,
        operation_id=f"list_{kind.name}",
        summary=f"List {label} records, one page at a time",
        responses=s.problems(401, 422, 503),
    )
    def list_records(request: Request, user: Reader, reg: Reg, q: Query_) -> Response:
        """Return one page of the records matching the query, with links to the next."""
        where = q.where or None
        cols = reg.record_columns(
            kind.name,
            columns=columns,
            where=where,
            bbox=q.bbox,
            geometry=q.geometry and kind.geometry is not None,
            order_by=q.order_by,
            limit=q.limit,
            offset=q.offset,
        )
        items = records_json(kind, cols, geometry=q.geometry)
        matched = reg.count(kind.name, where=where, bbox=q.bbox)
        return json_response(
            {
                "items": items,
                "numberMatched": matched,
                "numberReturned": len(items),
                "limit": q.limit,
                "offset": q.offset,
                "links": page_links(request, q, matched),
            }
        )

    @router.get(
        f"{base}/{{ref}}",
        response_model=m.record,
        tags=tags,
        operation_id=f"get_{kind.name}",
        summary=f"Read one {label} (its ETag is its version)",
        responses={200: {"headers": s.ETAG_HEADER}, **s.problems(401, 404, 503)},
    )
    def get_record(ref: str, user: Reader, reg: Reg) -> Response:
        """Return the record, as the listing gives it; its ETag is its version."""
        return rendered(reg.stored_record(kind.name, ref))

    @router.post(
        base,
        status_code=201,
        response_model=m.record,
        tags=tags,
        operation_id=f"create_{kind.name}",
        summary=f"Create one {label}, checked as an import is",
        responses={
            201: {
                "headers": {
                    **s.ETAG_HEADER,
                    "Location": {"description": "the new record", "schema": {"type": "string"}},
                }
            },
            **s.problems(400, 401, 403, 409, 422, 503),
        },
    )
    def create_record(body: Create, user: Writer, reg: Reg) -> Response:  # type: ignore[valid-type]
        """Return the new record as GET gives it (201), once every check of an import passed."""
        data = body.record.model_dump(mode="json", exclude_unset=True)  # type: ignore[attr-defined]
        stored = reg.add_record(
            kind.name,
            record_input(kind, data, data.get("ref")),
            actor=user.name,
            reason=body.reason,  # type: ignore[attr-defined]
        )
        return rendered(stored, 201, Location=f"{base}/{stored['ref']}")

    @router.patch(
        f"{base}/{{ref}}",
        response_model=m.record,
        tags=tags,
        operation_id=f"update_{kind.name}",
        summary=f"Change fields of one {label} (If-Match required)",
        responses={
            200: {"headers": s.ETAG_HEADER},
            **s.problems(400, 401, 403, 404, 409, 412, 422, 428, 503),
        },
    )
    def update_record(
        ref: str,
        body: Update,  # type: ignore[valid-type]
        user: Writer,
        version: Version,
        reg: Reg,
    ) -> Response:
        """Return the changed record, if it was still at the version If-Match names."""
        changes = body.changes.model_dump(mode="json", exclude_unset=True)  # type: ignore[attr-defined]
        if not changes:
            raise Problem(
                422,
                "invalid request",
                f"{ref}: name at least one field to change",
                record=ref,
                field="changes",
            )
        written = reg.update_record(
            kind.name,
            ref,
            record_input(kind, changes, ref),
            actor=user.name,
            reason=body.reason,  # type: ignore[attr-defined]
            expected_version=version,
        )
        # the version this request wrote, even if another writer has written one since
        return rendered(reg.stored_record(kind.name, ref, written.version))

    @router.get(
        f"{base}/{{ref}}/history",
        response_model=s.History,
        tags=tags,
        operation_id=f"history_{kind.name}",
        summary=f"Every version of one {label}, oldest first",
        responses=s.problems(401, 404, 503),
    )
    def history(ref: str, user: Reader, reg: Reg) -> Response:
        """Return every version of the record, oldest first, with what each changed."""
        rows = reg.history(ref)
        if rows[0]["kind"] != kind.name:
            raise NotFound(f"{ref}: no {kind.name} record has this reference")
        return json_response({"ref": ref, "versions": rows})

    @router.post(
        f"{base}/{{ref}}/revert",
        response_model=m.record,
        tags=tags,
        operation_id=f"revert_{kind.name}",
        summary=f"Restore an earlier version of one {label} (If-Match required)",
        responses={
            200: {"headers": s.ETAG_HEADER},
            **s.problems(400, 401, 403, 404, 409, 412, 422, 428, 503),
        },
    )
    def revert(ref: str, body: s.Revert, user: Writer, version: Version, reg: Reg) -> Response:
        """Return the record restored to an earlier version, as a new version."""
        written = reg.revert(
            ref,
            body.version,
            actor=user.name,
            reason=body.reason,
            expected_version=version,
        )
        return rendered(reg.stored_record(kind.name, ref, written.version))


@router.get(
    "/api/summary",
    response_model=s.Summary,
    tags=["records"],
    operation_id="summary",
    summary="Counts per kind, hazard areas per status and their total area",
    responses=s.problems(401, 503),
)
def summary(user: Reader, reg: Reg) -> Response:
    """Return the registry's summary, as `Registry.summary` gives it."""
    return json_response(reg.summary())


router.include_router(api_imports.router)
router.include_router(api_residual.router)
for _kind in KINDS.values():
    add_kind_routes(router, _kind)
