"""Sign-in for browsers (login form, session cookie, sign-out), who am I, and the users API.

API clients send `Authorization: Bearer <token>` (service/access.py). A browser signs in
once with its user name and token on GET/POST /login and then carries the session cookie
`landrelease_session` (HttpOnly, SameSite=Lax, Path=/, Secure over https); its changes carry
the session's CSRF token, which GET /api/me gives to our own pages.

The login form is protected by a double-submit token: GET /login sets a random value both
in a cookie and in the form, and POST /login accepts only a form whose value matches the
cookie (another site can make a browser post the form, but cannot read or set the cookie).

Failed sign-ins are limited per user name and per client address: after
`settings.login_attempts` failures within `settings.login_window_s`, further attempts get 429
with Retry-After until the window has passed. The counts are kept in memory, in each worker
process: with N workers an attacker may try up to N times the limit, and a restart forgets
the counts. A success clears only the failures of that name from that address.
"""

from __future__ import annotations

import html
import math
import secrets
import threading
import time
from collections import deque
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from landrelease.domain.roles import Permission, User, can
from landrelease.registry import Registry
from landrelease.service.access import (
    SESSION_COOKIE,
    current_user,
    registry,
    require,
    same_secret,
)
from landrelease.service.schemas import Text
from landrelease.service.settings import Settings

router = APIRouter()

LOGIN_CSRF_COOKIE = "landrelease_login_csrf"

Reg = Annotated[Registry, Depends(registry)]
Admin = Annotated[User, Depends(require(Permission.MANAGE_USERS))]


# -- failed sign-ins --------------------------------------------------------------------------


class LoginThrottle:
    """Failed sign-ins of one worker process, by user name and by client address.

    Each failure is kept under its (name, address) pair; a name's count is the sum over its
    addresses, an address's the sum over its names, both within the window.
    """

    def __init__(self, attempts: int, window_s: float) -> None:
        self.attempts = attempts
        self.window_s = window_s
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, name: str, address: str, now: float | None = None) -> int | None:
        """Return the seconds to wait before `name` may try again from `address`, or None."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self._forget(now)
            waits = [
                self._wait([t for k, q in self._failures.items() if k[i] == key for t in q], now)
                for i, key in ((0, _name_key(name)), (1, address))
            ]
        longest = max((w for w in waits if w is not None), default=None)
        return None if longest is None else max(1, math.ceil(longest))

    def failed(self, name: str, address: str, now: float | None = None) -> None:
        """Count one failed sign-in of `name` from `address`."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self._failures.setdefault((_name_key(name), address), deque()).append(now)

    def succeeded(self, name: str, address: str) -> None:
        """Forget the failures of `name` from `address` (and only those)."""
        with self._lock:
            self._failures.pop((_name_key(name), address), None)

    def _wait(self, times: list[float], now: float) -> float | None:
        """Return how long until fewer than `attempts` of `times` lie in the window."""
        if len(times) < self.attempts:
            return None
        times.sort()
        # the failure whose leaving the window brings the count below the limit
        return times[len(times) - self.attempts] + self.window_s - now

    def _forget(self, now: float) -> None:
        for key in list(self._failures):
            q = self._failures[key]
            while q and q[0] <= now - self.window_s:
                q.popleft()
            if not q:
                del self._failures[key]


def _name_key(name: str) -> str:
    return name.strip().lower()  # user names are unique whatever their case


_MAKING = threading.Lock()


def _throttle(request: Request) -> LoginThrottle:
    """Return this app's (this worker's) login throttle, made on first use."""
    state = request.app.state
    with _MAKING:  # two first sign-ins at once must not each make one
        throttle: LoginThrottle | None = getattr(state, "login_throttle", None)
        if throttle is None:
            settings: Settings = state.settings
            throttle = state.login_throttle = LoginThrottle(
                settings.login_attempts, settings.login_window_s
            )
    return throttle


def _address(request: Request) -> str:
    # The peer as uvicorn gives it; behind a proxy, run uvicorn with --proxy-headers and
    # --forwarded-allow-ips so that it is the client's, not the proxy's.
    return request.client.host if request.client else "unknown"


# -- login form -------------------------------------------------------------------------------


def over_https(request: Request) -> bool:
    """Return whether the browser reached us over https (directly or through a proxy)."""
    proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or proto == "https"


def safe_next(target: str | None) -> str:
    """Return `target` if it is a path of this site, else "/" (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return "/"
    parts = urlsplit(target)
    return "/" if parts.scheme or parts.netloc else target


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in: landrelease</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;max-width:24rem;margin:3rem auto;padding:0 1rem}}
label{{display:block;margin:.8rem 0 .2rem}}input{{width:100%;padding:.4rem;box-sizing:border-box}}
button{{margin-top:1rem;padding:.4rem 1.2rem}}.error{{color:#b00020}}</style></head>
<body><h1>Sign in</h1>{message}
<form method="post" action="/login">
<label for="name">User name</label>
<input id="name" name="name" autocomplete="username" required value="{name}">
<label for="token">Token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required>
<input type="hidden" name="csrf_token" value="{csrf}">
<input type="hidden" name="next" value="{next}">
<button type="submit">Sign in</button>
</form></body></html>
"""


def _login_page(
    request: Request,
    *,
    status: int = 200,
    message: str | None = None,
    name: str = "",
    next_path: str = "/",
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Return the login form with a new double-submit token in the form and its cookie."""
    csrf = secrets.token_urlsafe(32)
    body = _PAGE.format(
        message=f'<p class="error">{html.escape(message)}</p>' if message else "",
        name=html.escape(name),
        csrf=csrf,
        next=html.escape(safe_next(next_path)),
    )
    response = HTMLResponse(body, status_code=status, headers=headers)
    response.headers["Cache-Control"] = "no-store"
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        csrf,
        max_age=3600,
        path="/login",
        httponly=True,
        samesite="strict",
        secure=over_https(request),
    )
    return response


@router.get("/login", response_class=HTMLResponse, tags=["sign-in"])
def login_form(
    request: Request, next_path: Annotated[str, Query(alias="next", max_length=2000)] = "/"
) -> HTMLResponse:
    """The sign-in form: user name and token; `next` is where to go once signed in."""
    return _login_page(request, next_path=next_path)


@router.post("/login", response_class=HTMLResponse, tags=["sign-in"])
def login(
    request: Request,
    reg: Reg,
    name: Annotated[str, Form(max_length=200)],
    token: Annotated[str, Form(max_length=500)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next_path: Annotated[str, Form(alias="next", max_length=2000)] = "/",
) -> Response:
    """Sign in: on success set the session cookie and go (303) to `next`, a path of this site."""
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not cookie or not csrf_token or not same_secret(cookie, csrf_token):
        return _login_page(
            request,
            status=403,
            message="This form has expired or did not come from this site: sign in again.",
            name=name,
            next_path=next_path,
        )
    throttle = _throttle(request)
    address = _address(request)
    wait = throttle.retry_after(name, address)
    if wait is not None:
        return _login_page(
            request,
            status=429,
            message=f"Too many failed sign-ins: try again in {wait} seconds.",
            name=name,
            next_path=next_path,
            headers={"Retry-After": str(wait)},
        )
    settings: Settings = request.app.state.settings
    started = reg.start_session(name, token, hours=settings.session_hours)
    if started is None:
        throttle.failed(name, address)
        return _login_page(
            request,
            status=401,
            message="Unknown user name or token, or the token was revoked.",
            name=name,
            next_path=next_path,
            headers={"WWW-Authenticate": "Bearer"},
        )
    throttle.succeeded(name, address)
    session_id, _csrf = started
    response = RedirectResponse(safe_next(next_path), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=int(settings.session_hours * 3600),
        path="/",
        httponly=True,
        samesite="lax",
        secure=over_https(request),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout", tags=["sign-in"])
def logout(
    request: Request, reg: Reg, user: Annotated[User | None, Depends(current_user)]
) -> Response:
    """Sign out: end the session and clear its cookie, then go (303) to the login form.

    Signed in by the session cookie, this needs the session's CSRF token as every change.
    """
    session = request.cookies.get(SESSION_COOKIE)
    if session and request.state.signed_in_by == "session":
        reg.end_session(session)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=over_https(request)
    )
    return response


# -- who am I ---------------------------------------------------------------------------------


@router.get("/api/me", tags=["users"])
def me(request: Request, reg: Reg, user: Annotated[User, Depends(require(Permission.READ))]) -> Any:
    """The signed-in user: name, role and permissions (and, for a browser session, the CSRF
    token its changes must send)."""
    out: dict[str, Any] = {
        "name": user.name,
        "role": user.role.label,
        "permissions": [p.value for p in Permission if can(user.role, p)],
    }
    if request.state.signed_in_by == "session":
        out["csrf_token"] = reg.session_csrf(request.cookies.get(SESSION_COOKIE, ""))
    return out


# -- users ------------------------------------------------------------------------------------


class NewUser(BaseModel):
    """A user to add: a name (what the audit trail records) and a role."""

    name: Text = Field(max_length=64, description="letters, digits and . _ @ -")
    role: Text = Field(max_length=20, description="viewer, editor, validator or admin")


@router.get("/api/users", tags=["users"])
def list_users(reg: Reg, user: Admin) -> Any:
    """Every user, revoked ones too: name, role, who added them and when; never a token."""
    return {"users": reg.users()}


@router.post("/api/users", status_code=201, tags=["users"])
def add_user(body: NewUser, reg: Reg, user: Admin) -> Response:
    """Add a user; the answer holds their token, shown this once (only its hash is kept)."""
    token = reg.add_user(body.name, body.role, actor=user.name)
    added = next(u for u in reg.users() if u["name"].lower() == body.name.strip().lower())
    return JSONResponse(
        {"name": added["name"], "role": added["role"], "token": token},
        status_code=201,
        headers={"Cache-Control": "no-store"},  # the token must stay in no cache
    )


@router.delete("/api/users/{name}", tags=["users"])
def revoke_user(name: str, reg: Reg, user: Admin) -> Any:
    """Revoke a user's token and end their sessions, at once; the user stays listed."""
    row = reg.revoke_user(name, actor=user.name)
    return {"name": row["name"], "revoked_at": row["revoked_at"]}
