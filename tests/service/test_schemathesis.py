"""Property-based tests of the whole service from its own /openapi.json (schemathesis).

Every operation the app documents gets a bounded number of generated requests (derandomized,
so that a run repeats), valid ones and invalid ones, on a copy of the synthetic demo
registry: with an editor's token, and without credentials. No answer may be a server error;
the records API's answers must also have a documented status, content type and body.

An operation on one record (`{ref}`) is also run on a real ref of its kind, with the
record's current ETag as If-Match, so that the writes get past the checks at the door.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.failures import Failure, FailureGroup

from landrelease.registry import Registry
from landrelease.service.app import create_app
from landrelease.service.settings import Settings

# The operations of the records API (service/api*.py): held to the stricter checks.
RECORDS_API = re.compile(
    r"^/api/(hazards|events|activities|items|accidents)(/\{ref\}(/(history|revert|residual))?)?$"
    r"|^/api/(summary|imports)$"
)
KIND_OF_PATH = re.compile(r"^/api/(hazards|events|activities|items|accidents)/\{ref\}")
EXAMPLES = settings(
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)


@pytest.fixture
def service(demo_copy: Path) -> Iterator[tuple[Any, dict[str, str], Registry]]:
    """The app's schema, loaded from the app over a copy of the demo registry, one real ref
    of each kind, and the registry."""
    with Registry.open(demo_copy) as reg:
        refs = {
            kind: str(reg.record_columns(kind, columns=["ref"], geometry=False, limit=1)["ref"][0])
            for kind in ("hazards", "events", "activities", "items", "accidents")
        }
        app = create_app(Settings(db=str(demo_copy), log_requests=False), registry=reg)
        yield schemathesis.openapi.from_asgi("/openapi.json", app), refs, reg


def _checks(path: str) -> list[Any]:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    if RECORDS_API.match(path):
        return [
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ]
    return [not_a_server_error]


# (generation mode, examples, on a real ref): every operation is run with valid requests;
# those with something to get wrong (a query, a header, a body) with invalid ones too; an
# operation on one record also on a real one, with its current ETag.
VARIANTS = (
    (GenerationMode.POSITIVE, 15, False),
    (GenerationMode.NEGATIVE, 5, False),
    (GenerationMode.POSITIVE, 10, True),
)


def _can_be_invalid(operation: Any) -> bool:
    raw = operation.definition.raw
    return "requestBody" in raw or any(
        p.get("in") in ("query", "header") for p in raw.get("parameters", [])
    )


def _takes_if_match(operation: Any) -> bool:
    return any(
        p.get("in") == "header" and p.get("name", "").lower() == "if-match"
        for p in operation.definition.raw.get("parameters", [])
    )


def _run_all(
    schema: Any,
    refs: dict[str, str],
    headers: dict[str, str],
    reg: Registry,
    variants: tuple[tuple[GenerationMode, int, bool], ...] = VARIANTS,
) -> list[str]:
    """Run every operation's generated cases; return the failures, one text each."""
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        kind = KIND_OF_PATH.match(operation.path)
        for mode, examples, on_real_ref in variants:
            if on_real_ref and not kind:
                continue
            if mode is GenerationMode.NEGATIVE and not _can_be_invalid(operation):
                continue
            path_parameters = {"ref": refs[kind.group(1)]} if on_real_ref and kind else None
            strategy = operation.as_strategy(mode, path_parameters=path_parameters)
            tag = (
                _current_tag(reg, kind.group(1))
                if on_real_ref and kind and _takes_if_match(operation)
                else None
            )
            test = _operation_test(strategy, _checks(operation.path), headers, tag, examples)
            try:
                test()
            except Unsatisfiable:
                pass  # nothing of this operation can be made invalid
            except (Exception, FailureGroup) as exc:  # every operation's, not the first only
                failures.append(f"{operation.label} ({mode.value}): {_text(exc)}")
    return failures


def _text(exc: BaseException) -> str:
    """Return what went wrong: each check's failure, or the error (with its traceback)."""
    if isinstance(exc, FailureGroup):
        return "\n".join(_text(e) for e in exc.exceptions)
    if isinstance(exc, Failure):
        return str(exc)
    # an error raised in the app: its traceback, and the request Hypothesis notes down
    return "\n".join("".join(traceback.format_exception(exc)).splitlines()[-60:])


def _current_tag(reg: Registry, kind: str) -> Callable[[str], str]:
    def tag(ref: str) -> str:
        return f'"{reg.stored_record(kind, ref)["version"]}"'

    return tag


def _operation_test(
    strategy: Any,
    checks: list[Any],
    headers: dict[str, str],
    tag: Callable[[str], str] | None,
    examples: int,
) -> Callable[[], None]:
    @given(case=strategy)
    @settings(EXAMPLES, max_examples=examples)
    def test(case: Any) -> None:
        if tag is not None:
            # the record's ETag as it is now: the write gets past the If-Match check
            case.headers = {**(case.headers or {}), "If-Match": tag(case.path_parameters["ref"])}
        response = case.call(headers=headers)
        case.validate_response(response, checks=checks, headers=headers)

    return test  # type: ignore[no-any-return]


def test_an_editor_never_meets_a_server_error(
    service: tuple[Any, dict[str, str], Registry], demo_tokens: dict[str, str]
) -> None:
    schema, refs, reg = service
    headers = {"Authorization": f"Bearer {demo_tokens['editor']}"}
    failures = _run_all(schema, refs, headers, reg)
    assert not failures, "\n\n".join(failures)


def test_the_public_never_meets_a_server_error(
    service: tuple[Any, dict[str, str], Registry],
) -> None:
    schema, refs, reg = service
    # The records API answers the public 401 before reading a request: a few will do.
    few = ((GenerationMode.POSITIVE, 8, False), (GenerationMode.NEGATIVE, 4, False))
    failures = _run_all(schema, refs, {}, reg, few)
    assert not failures, "\n\n".join(failures)
