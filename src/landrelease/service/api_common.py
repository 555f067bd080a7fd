"""What the records API's routes share: who asks, JSON rendering, and the If-Match check.

A record's ETag is its version, strong and quoted ("3"). A change sends it back as If-Match:
absent is 428, unreadable 400, stale 412, and nothing is written. The version is then passed
to the registry as `expected_version`, so that a change made between this check and the
write is a ConflictError (412) too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any

import orjson
from fastapi import Depends, Header
from starlette.responses import Response

from landrelease.domain.records import RecordKind
from landrelease.domain.roles import Permission, User
from landrelease.registry import Registry
from landrelease.service import access
from landrelease.service.problems import Problem

Reg = Annotated[Registry, Depends(access.registry)]
Reader = Annotated[User, Depends(access.require(Permission.READ))]
Writer = Annotated[User, Depends(access.require(Permission.WRITE))]

JSON = "application/json"


def json_response(
    value: Any, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """Return `value` as a JSON response, encoded as the CLI's --json prints it (numpy
    numbers as numbers, dates as ISO text)."""
    body = orjson.dumps(
        value, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS, default=str
    )
    return Response(body, status_code=status_code, media_type=JSON, headers=headers)


def etag(version: Any) -> str:
    """Return the ETag of a record at `version`: the number, quoted."""
    return f'"{int(version)}"'


# One entity tag, strong ("3") or weak (W/"3"); If-Match may list several, comma-separated.
_TAG = r'\s*(W/)?"([\x21\x23-\x7e\x80-\uffff]*)"\s*'
_TAGS = re.compile(rf"^{_TAG}(,{_TAG})*$")
_ONE = re.compile(_TAG)


def if_match_versions(header: str) -> set[int]:
    """Return the versions an If-Match header names (its strong entity tags of numbers).

    A weak tag (W/"3") names none: If-Match compares strongly (RFC 9110, 13.1.1). A header
    that lists no entity tag, or "*" (which names no version), is a 400.
    """
    text = header.strip()
    if text == "*" or not _TAGS.match(text):
        raise Problem(
            400,
            "malformed If-Match",
            f"If-Match {header!r} names no version: send the record's ETag as you read it, "
            'quoted, e.g. If-Match: "3"',
        )
    return {
        int(value)
        for weak, value in _ONE.findall(text)
        if not weak and value.isdigit() and len(value) <= 18
    }


def version_matching(kind: RecordKind) -> Callable[..., int]:
    """Return the dependency giving the version of record `ref` that If-Match names, if
    the record is still at it: 428 without If-Match, 400 if unreadable, 412 if stale."""

    def dependency(
        ref: str,
        reg: Reg,
        if_match: Annotated[
            str | None,
            Header(
                description='the ETag of the record as you read it, e.g. "3"; required',
                max_length=500,
            ),
        ] = None,
    ) -> int:
        if if_match is None:
            raise Problem(
                428,
                "If-Match required",
                f"{ref}: send If-Match with the ETag you read (GET /api/{kind.name}/{ref}), "
                "so that a change made meanwhile is not overwritten",
                record=ref,
            )
        named = if_match_versions(if_match)
        current = int(reg.stored_record(kind.name, ref)["version"])
        if current not in named:
            raise Problem(
                412,
                "the record changed since you read it",
                f"{ref}: now at version {current}, If-Match names {if_match.strip()}; "
                "read it again, then make your change",
                record=ref,
                version=current,
                headers={"ETag": etag(current)},
            )
        return current

    return dependency
