"""The query parameters of OGC API Features, parsed once: bbox, datetime, limit, filter...

Each bad parameter is a 400 problem naming it (OGC API Features asks for 400, not 422), and a
parameter the API does not define is refused the same way. The filters of a request
(`datetime`, `filter`, and `property=value` pairs of the collection's queryables) become one
CQL2 syntax tree, which the store compiles to parameterised SQL.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from landrelease.domain.errors import ValidationError
from landrelease.domain.records import RecordKind
from landrelease.store.base import BBox
from landrelease.store.cql import CRS84, LANGS, parse_filter
from landrelease.store.query import readable_columns

# The parameters /collections/{id}/items defines, besides the queryables as `name=value`.
ITEMS_PARAMETERS = (
    "f",
    "bbox",
    "bbox-crs",
    "datetime",
    "limit",
    "offset",
    "filter",
    "filter-lang",
    "filter-crs",
    "crs",
)
FORMATS = {"json": "json", "geojson": "json", "html": "html"}
CRS84H = "http://www.opengis.net/def/crs/OGC/1.3/CRS84h"


def bad(parameter: str, detail: str) -> ValidationError:
    """Return the error of a bad query parameter (a 400 problem naming it, see `problem`)."""
    return ValidationError(None, parameter, detail)


@dataclass(frozen=True)
class ItemsQuery:
    """A parsed items request: what to read, and the canonical text of each parameter."""

    limit: int
    offset: int
    bbox: BBox | None
    filter: Any  # pygeofilter syntax tree of every filter of the request, or None
    names: frozenset[str]  # the properties the filters name
    canonical: tuple[tuple[str, str], ...]  # the parameters as links repeat them, in order

    def query_string(self, **changes: Any) -> str:
        """Return the request's parameters as a query string, with `changes` (None drops)."""
        params = dict(self.canonical)
        for key, value in changes.items():
            key = key.replace("_", "-")
            if value is None:
                params.pop(key, None)
            else:
                params[key] = str(value)
        order: list[str] = [k for k in ("f", "limit", "offset") if k in params]
        order += [k for k in params if k not in order]
        return urlencode([(k, params[k]) for k in order])


def output_format(params: QueryParams, accept: str | None) -> str:
    """Return "json" or "html": the `f` parameter, else what the Accept header prefers."""
    f = params.get("f")
    if f is not None:
        try:
            return FORMATS[f.lower()]
        except KeyError:
            raise bad("f", f"unknown format {f!r}; use f=json or f=html") from None
    if accept and "text/html" in accept:
        html = accept.find("text/html")
        json_at = min((i for i in (accept.find("json"),) if i >= 0), default=len(accept))
        return "html" if html < json_at else "json"
    return "json"


def check_known(params: QueryParams, known: tuple[str, ...]) -> None:
    """Refuse a parameter the API does not define (OGC API Features: 400)."""
    for name in params:
        if name not in known:
            raise bad(name, f"unknown parameter {name!r}; this resource takes {', '.join(known)}")


def parse_items(
    params: QueryParams,
    kind: RecordKind,
    *,
    page_limit: int,
    max_limit: int,
    queryables: tuple[str, ...] | None = None,
) -> ItemsQuery:
    """Return the items request of `params` on a collection of `kind`.

    `queryables` are the properties a filter may name (default: every readable column and
    the geometry); each may also be given as `name=value`, an equality.
    """
    allowed = tuple(queryables) if queryables is not None else readable_columns(kind)
    for name in params:
        if name not in ITEMS_PARAMETERS and name not in allowed:
            raise bad(
                name,
                f"unknown parameter {name!r}; use {', '.join(ITEMS_PARAMETERS)} "
                f"or a queryable property of {kind.name} as name=value",
            )
    canonical: list[tuple[str, str]] = []
    limit = _limit(params.get("limit"), page_limit, max_limit)
    offset = _offset(params.get("offset"))
    canonical += [("limit", str(limit))]
    if offset:
        canonical.append(("offset", str(offset)))
    crs = params.get("crs")
    if crs is not None and crs not in (CRS84, CRS84H):
        raise bad("crs", f"only {CRS84} (longitude, latitude) is served")
    bbox = _bbox(params.get("bbox"), params.get("bbox-crs"))
    if bbox is not None:
        canonical.append(("bbox", ",".join(_number(v) for v in bbox)))
    parts: list[Any] = []
    when = params.get("datetime")
    if when is not None:
        if not kind.date_field:
            raise bad("datetime", f"{kind.name} have no date to filter by")
        parts += _datetime(when, kind.date_field)
        canonical.append(("datetime", when))
    text = params.get("filter")
    if text is not None:
        lang = params.get("filter-lang", "cql2-text")
        if lang not in LANGS:
            raise bad("filter-lang", f"unknown filter language {lang!r}; use {' or '.join(LANGS)}")
        crs = params.get("filter-crs")
        if crs is not None and crs != CRS84:
            raise bad("filter-crs", f"only {CRS84} (longitude, latitude) is supported")
        parts.append(parse_filter(text, lang))
        canonical += [("filter", text), ("filter-lang", lang)]
    for name in allowed:
        value = params.get(name)
        if value is not None:
            parts.append(_equality(kind, name, value))
            canonical.append((name, value))
    return ItemsQuery(
        limit=limit,
        offset=offset,
        bbox=bbox,
        filter=_all_of(parts),
        names=frozenset(_names(parts)),
        canonical=tuple(canonical),
    )


def _limit(text: str | None, default: int, most: int) -> int:
    if text is None:
        return min(default, most)
    value = _integer("limit", text)
    if value < 1:
        raise bad("limit", f"limit must be 1 or more, got {text}")
    return min(value, most)  # more than the most one page holds: that many (the standard)


def _offset(text: str | None) -> int:
    if text is None:
        return 0
    value = _integer("offset", text)
    if value < 0:
        raise bad("offset", f"offset must be 0 or more, got {text}")
    return value


def _integer(name: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise bad(name, f"{name} must be a whole number, got {text!r}") from None
    if abs(value) >= 2**63:
        raise bad(name, f"{name} is too large: {text}")
    return value


def _bbox(text: str | None, crs: str | None) -> BBox | None:
    if crs is not None and crs not in (CRS84, CRS84H):
        raise bad("bbox-crs", f"only {CRS84} (longitude, latitude) is supported")
    if text is None:
        return None
    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise bad("bbox", f"bbox must be 4 numbers minx,miny,maxx,maxy, got {text!r}") from None
    if len(values) == 6:  # minx, miny, minz, maxx, maxy, maxz: the heights do not matter here
        values = [values[0], values[1], values[3], values[4]]
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise bad("bbox", f"bbox must be 4 numbers minx,miny,maxx,maxy, got {text!r}")
    minx, miny, maxx, maxy = values
    if not (-90 <= miny <= maxy <= 90):
        raise bad("bbox", f"bbox latitudes must lie within -90..90, south first; got {text!r}")
    if minx > maxx:
        raise bad("bbox", "a bbox across the antimeridian (minx > maxx) is not supported")
    return minx, miny, maxx, maxy


def _number(v: float) -> str:
    return str(int(v)) if v.is_integer() else repr(v)


def _datetime(text: str, field: str) -> list[Any]:
    """Return the conditions on date field `field` of a datetime parameter: an instant or
    an interval (start/end, either open as `..` or empty), compared by calendar day (UTC)."""
    from pygeofilter import ast

    if "/" in text:
        start_text, _, end_text = text.partition("/")
        start = _instant(start_text, open_ok=True)
        end = _instant(end_text, open_ok=True)
        if start is None and end is None:
            raise bad("datetime", "an interval needs a start or an end")
        if start is not None and end is not None and start > end:
            raise bad("datetime", f"the interval ends before it starts: {text!r}")
    else:
        start = end = _instant(text, open_ok=False)
    out: list[Any] = []
    if start is not None and start == end:
        return [ast.Equal(ast.Attribute(field), start.isoformat())]
    if start is not None:
        out.append(ast.GreaterEqual(ast.Attribute(field), start.isoformat()))
    if end is not None:
        out.append(ast.LessEqual(ast.Attribute(field), end.isoformat()))
    return out


def _instant(text: str, *, open_ok: bool) -> dt.date | None:
    if text in ("", "..") and open_ok:
        return None
    try:
        if "T" in text or "t" in text:
            stamp = dt.datetime.fromisoformat(text.replace("z", "Z"))
            if stamp.tzinfo is not None:
                stamp = stamp.astimezone(dt.UTC)
            return stamp.date()
        return dt.date.fromisoformat(text)
    except ValueError:
        raise bad(
            "datetime",
            f"{text!r} is not an RFC 3339 date or date-time (e.g. 2024-05-01, "
            "2024-05-01T12:00:00Z, or an interval 2024-01-01/2024-06-30, ../2024-06-30)",
        ) from None


def _equality(kind: RecordKind, name: str, value: str) -> Any:
    from pygeofilter import ast

    field_kind = "text" if name not in kind.field_names else kind.field(name).kind
    literal: Any = value
    try:
        if field_kind == "int":
            literal = _integer(name, value)
        elif field_kind == "float":
            literal = float(value)
        elif field_kind == "bool":
            literal = {"true": True, "false": False}[value.lower()]
    except (ValueError, KeyError):
        raise bad(name, f"{value!r} is not a {field_kind} value of {name}") from None
    return ast.Equal(ast.Attribute(name), literal)


def _all_of(parts: list[Any]) -> Any:
    if not parts:
        return None
    from pygeofilter import ast

    node = parts[0]
    for part in parts[1:]:
        node = ast.And(node, part)
    return node


def _names(parts: list[Any]) -> set[str]:
    from landrelease.store.cql import property_names

    out: set[str] = set()
    for part in parts:
        out |= property_names(part)
    return out


__all__ = [
    "FORMATS",
    "ITEMS_PARAMETERS",
    "ItemsQuery",
    "bad",
    "check_known",
    "output_format",
    "parse_items",
]
