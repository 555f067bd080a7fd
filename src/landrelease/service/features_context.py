"""What every OGC API Features route needs: who asks, in which format, at which base URL,
which collection, and the rule that a bad parameter is a 400 problem naming it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import Depends, Path, Request
from starlette.responses import Response

from landrelease.domain.errors import ValidationError
from landrelease.domain.roles import User
from landrelease.registry import Registry
from landrelease.service import access
from landrelease.service import features_meta as meta
from landrelease.service import features_params as fp
from landrelease.service.problems import Problem
from landrelease.service.settings import Settings

UserOrPublic = Annotated[User | None, Depends(access.current_user)]
Reg = Annotated[Registry, Depends(access.registry)]
CollectionId = Annotated[
    str, Path(alias="collectionId", description="hazards, activities, items or accidents")
]
FeatureId = Annotated[str, Path(alias="featureId", description="the record's reference")]

# What a resource about the data (landing page, collections, queryables) accepts: its format,
# and the parameters of the items, ignored, which GDAL repeats on every request of a dataset
# opened with them in its URL (e.g. OAPIF:https://host/?filter=...).
METADATA_PARAMETERS = ("f", *fp.ITEMS_PARAMETERS)


@dataclass(frozen=True)
class Context:
    """One request to OGC API Features: its registry, user (None: the public) and format."""

    request: Request
    reg: Registry
    user: User | None
    settings: Settings
    base: str  # the server's URL, no trailing slash
    html: bool

    @property
    def user_name(self) -> str | None:
        return self.user.name if self.user else None

    @property
    def public(self) -> bool:
        return self.user is None


def context(
    request: Request, reg: Registry, user: User | None, known: tuple[str, ...] | None
) -> Context:
    """Return the context of a request; with `known`, refuse parameters not among them."""
    params = request.query_params
    if known is not None:
        fp.check_known(params, known)
    html = fp.output_format(params, request.headers.get("accept")) == "html"
    base = str(request.base_url).rstrip("/")
    return Context(request, reg, user, request.app.state.settings, base, html)


@contextmanager
def bad_parameters() -> Iterator[None]:
    """Answer an invalid parameter (a ValidationError naming it) with a 400 problem."""
    try:
        yield
    except ValidationError as exc:
        raise Problem(400, "bad request", " ".join(str(exc).split()), parameter=exc.field) from None


def collection_of(ctx: Context, collection_id: str) -> meta.Collection:
    """Return the collection of the path: 404 if there is none, or none the public may see."""
    c = meta.COLLECTIONS.get(collection_id)
    if c is None or (ctx.public and c.id != "hazards"):
        raise Problem(404, "not found", f"no collection {collection_id!r}; see /collections")
    return c


def json_response(
    doc: Any, media_type: str = meta.JSON, headers: dict[str, str] | None = None
) -> Response:
    """Return `doc` as JSON (orjson: keys in the order they were made)."""
    return Response(orjson.dumps(doc), media_type=media_type, headers=headers)


def crumbs(c: meta.Collection) -> list[tuple[str, str]]:
    """Return the (title, path) trail of an HTML page of collection `c`."""
    return [
        ("Home", "/?f=html"),
        ("Collections", "/collections?f=html"),
        (c.title, f"/collections/{c.id}?f=html"),
    ]


# The `f` parameter, as the API definition declares it.
F_PARAMETER = {
    "name": "f",
    "in": "query",
    "required": False,
    "description": "The format of the response: json (the default) or html.",
    "schema": {"type": "string", "enum": ["json", "html"]},
}

__all__ = [
    "F_PARAMETER",
    "METADATA_PARAMETERS",
    "CollectionId",
    "FeatureId",
    "Reg",
    "UserOrPublic",
    "Context",
    "bad_parameters",
    "collection_of",
    "context",
    "crumbs",
    "json_response",
]
