"""Who is asking: the user of a request (bearer token or browser session) and what they may do.

Routes declare what they need with `Depends(require(Permission.X))`; the check itself is the
table of `domain.roles`. A request without credentials is the public (None).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from landrelease.domain.roles import Permission, User, can
from landrelease.registry import Registry
from landrelease.service.problems import Problem

BEARER = "bearer"
SESSION_COOKIE = "landrelease_session"


def registry(request: Request) -> Registry:
    """Return the registry this server serves (opened once per worker process)."""
    return request.app.state.registry  # type: ignore[no-any-return]


def current_user(request: Request, reg: Annotated[Registry, Depends(registry)]) -> User | None:
    """Return the user of the request, or None for the public.

    A bearer token that matches no active user is refused (401), never taken as the public:
    a client that sent credentials expects to act with them.
    """
    if hasattr(request.state, "user"):  # a second dependency of the same request
        known: User | None = request.state.user
        return known
    user: User | None = None
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
        user = reg.user_for_token(token.strip())
        if user is None:
            raise Problem(
                401,
                "unauthorized",
                "the token is unknown or revoked",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
    else:
        session = request.cookies.get(SESSION_COOKIE)
        if session:
            user = reg.user_for_session(session)
    request.state.user = user
    request.state.actor = user.name if user else "-"
    return user


def require(permission: Permission) -> Callable[..., User]:
    """Return a dependency giving the request's user if they hold `permission`:
    401 for the public, 403 for a user whose role lacks it."""

    def dependency(user: Annotated[User | None, Depends(current_user)]) -> User:
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
