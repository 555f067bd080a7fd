"""Errors as RFC 9457 problem details (`application/problem+json`), one table for all routes.

Each `LandreleaseError` maps to a status here, and its record, field and fix travel as
members of the problem, so a client shows the same words the CLI prints.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from landrelease.access import NotPermitted
from landrelease.domain.errors import (
    ConflictError,
    DuplicateGeometry,
    IllegalTransition,
    InputFileError,
    LandreleaseError,
    NotFound,
    RegistryBusy,
    RegistryReadOnly,
    ValidationError,
)

PROBLEM = "application/problem+json"
log = logging.getLogger("landrelease.service")

# The most specific class first: DuplicateGeometry is a ValidationError.
STATUS_OF: tuple[tuple[type[LandreleaseError], int, str], ...] = (
    (NotFound, 404, "not found"),
    (NotPermitted, 403, "forbidden"),
    (DuplicateGeometry, 409, "duplicate geometry"),
    (IllegalTransition, 409, "illegal status change"),
    (ConflictError, 412, "the record changed since you read it"),
    (ValidationError, 422, "invalid input"),
    (InputFileError, 422, "unreadable file"),
    (RegistryBusy, 503, "the registry is busy"),
    (RegistryReadOnly, 503, "the registry is read-only"),
    (LandreleaseError, 400, "bad request"),
)


class Problem(Exception):
    """An HTTP error raised by a route: its status, title, detail and extra members."""

    def __init__(self, status: int, title: str, detail: str | None = None, **extra: Any) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.extra = extra
        self.headers: dict[str, str] = extra.pop("headers", None) or {}
        super().__init__(detail or title)


def problem_response(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    """Return a problem+json response."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v is not None})
    return Response(orjson.dumps(body), status_code=status, media_type=PROBLEM, headers=headers)


def problem_of(exc: LandreleaseError) -> tuple[int, str, dict[str, Any]]:
    """Return the status, title and extra members of a LandreleaseError's problem."""
    status, title = next((s, t) for cls, s, t in STATUS_OF if isinstance(exc, cls))
    extra: dict[str, Any] = {}
    if isinstance(exc, ValidationError):
        extra.update(record=exc.record, field=exc.field)
    if isinstance(exc, DuplicateGeometry):
        extra.update(stored_ref=exc.stored_ref)
    if isinstance(exc, IllegalTransition):
        extra.update(
            record=exc.ref,
            field="status",
            from_status=exc.from_status,
            to_status=exc.to_status,
            needs=exc.needs,
        )
    if isinstance(exc, RegistryBusy):
        extra["headers"] = {"Retry-After": "2"}
    return status, title, extra


def install(app: FastAPI) -> None:
    """Answer every error of `app` with a problem+json body."""

    @app.exception_handler(LandreleaseError)
    async def _landrelease(request: Request, exc: LandreleaseError) -> Response:
        status, title, extra = problem_of(exc)
        headers = extra.pop("headers", None)
        detail = " ".join(str(exc).split())
        return problem_response(
            status, title, detail, instance=request.url.path, headers=headers, **extra
        )

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> Response:
        return problem_response(
            exc.status,
            exc.title,
            exc.detail,
            instance=request.url.path,
            headers=exc.headers,
            **exc.extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {
                "field": ".".join(str(p) for p in e.get("loc", ()) if p != "body") or None,
                "message": e.get("msg"),
            }
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"field": None, "message": "invalid request"}
        return problem_response(
            422,
            "invalid request",
            f"{first['field']}: {first['message']}" if first["field"] else first["message"],
            instance=request.url.path,
            field=first["field"],
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        title = {404: "not found", 405: "method not allowed"}.get(exc.status_code, "error")
        return problem_response(
            exc.status_code,
            title,
            str(exc.detail) if exc.detail else None,
            instance=request.url.path,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> Response:  # the last guard
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem_response(
            500,
            "internal error",
            f"{type(exc).__name__}: a bug in landrelease",
            instance=request.url.path,
        )
