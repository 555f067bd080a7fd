"""Who is asking: the user of a request (bearer token or browser session) and what they may do.

Routes declare what they need with `Depends(require(Permission.X))`; the check itself is the
table of `domain.roles`. A request without credentials is the public (None).

A browser's session cookie is an ambient credential: another site can make the browser send
it. So a request that the cookie signs in, with an unsafe method (POST, PUT, PATCH, DELETE),
must also carry the session's CSRF token (header `X-CSRF-Token` or form field `csrf_token`),
which only our own pages know; `current_user` checks it for every route. A bearer token is
never sent by a browser on its own, so a request carrying one needs no CSRF token.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from landrelease.domain.roles import Permission, User, can
from landrelease.registry import Registry
from landrelease.service.problems import Problem

BEARER = "bearer"
SESSION_COOKIE = "landrelease_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def registry(request: Request) -> Registry:
    """Return the registry this server serves (opened once per worker process)."""
    return request.app.state.registry  # type: ignore[no-any-return]


async def current_user(
    request: Request, reg: Annotated[Registry, Depends(registry)]
) -> User | None:
    """Return the user of the request, or None for the public.

    A bearer token that matches no active user is refused (401), never taken as the public:
    a client that sent credentials expects to act with them. A session cookie that matches
    no live session is the public; one that does, on an unsafe method, needs the session's
    CSRF token (else 403). The registry is read off the event loop (argon2, the file).
    """
    if hasattr(request.state, "user"):  # a second dependency of the same request
        known: User | None = request.state.user
        return known
    user: User | None = None
    via: str | None = None
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != BEARER or not token.strip():
            raise Problem(
                401,
                "unauthorized",
                "use 'Authorization: Bearer <token>'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        token = token.strip()
        # argon2 is slow on purpose: off the event loop; a token verified before is one read
        if reg.token_seen(token):
            user = reg.user_for_token(token)
        else:
            user = await run_in_threadpool(reg.user_for_token, token)
        if user is None:
            raise Problem(
                401,
                "unauthorized",
                "the token is unknown or revoked",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        via = BEARER
    else:
        session = request.cookies.get(SESSION_COOKIE)
        if session:
            user = await run_in_threadpool(reg.user_for_session, session)
            if user is not None:
                via = "session"
                if request.method.upper() in UNSAFE_METHODS:
                    await _check_csrf(request, reg, session)
    request.state.user = user
    request.state.signed_in_by = via
    request.state.actor = user.name if user else "-"
    return user


async def _check_csrf(request: Request, reg: Registry, session: str) -> None:
    """Refuse (403) an unsafe request signed in by a session cookie without its CSRF token."""
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(_FORMS):
        field = (await request.form()).get(CSRF_FIELD)  # parsed once; the route reuses it
        sent = field if isinstance(field, str) else None
    expected = await run_in_threadpool(reg.session_csrf, session)
    if not sent or expected is None or not same_secret(sent, expected):
        raise Problem(
            403,
            "forbidden",
            f"a change made with a browser session needs its CSRF token, in header "
            f"{CSRF_HEADER} or form field {CSRF_FIELD} (GET /api/me gives it)",
        )


def same_secret(sent: str, expected: str) -> bool:
    """Return whether two secrets are equal, in time that does not tell where they differ."""
    # as bytes: compare_digest refuses str with non-ASCII characters, which a client may send
    return secrets.compare_digest(
        sent.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


def require(permission: Permission) -> Callable[..., Awaitable[User]]:
    """Return a dependency giving the request's user if they hold `permission`:
    401 for the public, 403 for a user whose role lacks it."""

    async def dependency(user: Annotated[User | None, Depends(current_user)]) -> User:
        if user is None:
            raise Problem(
                401,
                "unauthorized",
                f"sign in to {permission.value.replace('_', ' ')}",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not can(user.role, permission):
            raise Problem(
                403,
                "forbidden",
                f"{user.name} is {user.role.label}: "
                f"a {permission.value.replace('_', ' ')} needs a higher role",
                actor=user.name,
                role=user.role.label,
            )
        return user

    return dependency
