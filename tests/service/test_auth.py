"""Sign-in over HTTP: bearer tokens, the login form and its session cookie, CSRF, the login
rate limit, /api/me and the users API. The registry is the synthetic demo (conftest.py)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from landrelease.registry import Registry
from landrelease.service.app import create_app
from landrelease.service.auth import LoginThrottle, safe_next
from landrelease.service.settings import Settings

ClientFor = Callable[..., TestClient]  # tests/service/conftest.py's client_for
PROBLEM = "application/problem+json"


def sign_in(client: TestClient, name: str, token: str, *, next_path: str = "/") -> httpx.Response:
    """Sign in through the login form as a browser does; return the answer to the POST."""
    page = client.get("/login", params={"next": next_path})
    assert page.status_code == 200
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match is not None
    return client.post(
        "/login",
        data={"name": name, "token": token, "csrf_token": match.group(1), "next": next_path},
        follow_redirects=False,
    )


def set_cookie(response: httpx.Response, name: str) -> str:
    """Return the Set-Cookie header of the response that sets cookie `name`."""
    [header] = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    return header


def attributes(header: str) -> set[str]:
    return {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}


@pytest.fixture
def two_addresses(demo_copy: Path) -> Iterator[tuple[TestClient, TestClient]]:
    """Two clients of one app (one login throttle), from two client addresses; at most 3
    failed sign-ins per window."""
    with Registry.open(demo_copy) as reg:
        settings = Settings(db=str(demo_copy), log_requests=False, login_attempts=3)
        app = create_app(settings, registry=reg)
        yield (
            TestClient(app, raise_server_exceptions=False, client=("10.0.0.1", 4000)),
            TestClient(app, raise_server_exceptions=False, client=("10.0.0.2", 4000)),
        )


# -- bearer tokens ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "permissions"),
    [
        ("viewer", ["read"]),
        ("editor", ["read", "write", "propose_status"]),
        ("validator", ["read", "write", "propose_status", "decide_status", "review_submissions"]),
        (
            "admin",
            [
                "read",
                "write",
                "propose_status",
                "decide_status",
                "review_submissions",
                "manage_users",
            ],
        ),
    ],
)
def test_me_names_the_bearer_and_their_permissions(
    demo_db: Path,
    demo_tokens: dict[str, str],
    client_for: ClientFor,
    role: str,
    permissions: list[str],
) -> None:
    r = client_for(demo_db, demo_tokens[role]).get("/api/me")
    assert r.status_code == 200
    assert r.json() == {"name": role, "role": role, "permissions": permissions}


def test_me_is_401_for_the_public_and_for_a_bad_token(
    demo_db: Path, demo_tokens: dict[str, str], client_for: ClientFor
) -> None:
    r = client_for(demo_db).get("/api/me")
    assert r.status_code == 401 and r.headers["content-type"] == PROBLEM
    assert r.headers["www-authenticate"].startswith("Bearer")
    r = client_for(demo_db, demo_tokens["admin"] + "x").get("/api/me")
    assert r.status_code == 401 and "invalid_token" in r.headers["www-authenticate"]
    r = client_for(demo_db).get("/api/me", headers={"Authorization": "Basic YTpi"})
    assert r.status_code == 401


def test_a_revoked_token_is_refused_on_the_next_request(
    demo_copy: Path, demo_tokens: dict[str, str], client_for: ClientFor
) -> None:
    editor = client_for(demo_copy, demo_tokens["editor"])
    viewer = client_for(demo_copy, demo_tokens["viewer"])
    admin = client_for(demo_copy, demo_tokens["admin"])
    assert editor.get("/api/me").status_code == 200
    assert viewer.get("/api/me").status_code == 200
    r = admin.delete("/api/users/editor")
    assert r.status_code == 200 and r.json()["name"] == "editor" and r.json()["revoked_at"]
    assert editor.get("/api/me").status_code == 401
    # revoked by another process (the CLI): this server sees it on the next request too
    with Registry.open(demo_copy) as reg:
        reg.revoke_user("viewer", actor="cli")
    assert viewer.get("/api/me").status_code == 401


# -- the users API ----------------------------------------------------------------------------


def test_an_admin_adds_lists_and_revokes_users(
    demo_copy: Path, demo_tokens: dict[str, str], client_for: ClientFor
) -> None:
    admin = client_for(demo_copy, demo_tokens["admin"])
    r = admin.post("/api/users", json={"name": "olena", "role": "editor"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["name"], body["role"]) == ("olena", "editor")
    assert r.headers["cache-control"] == "no-store"
    olena = client_for(demo_copy, body["token"])
    assert olena.get("/api/me").json()["name"] == "olena"

    listed = admin.get("/api/users")
    assert listed.status_code == 200
    users = {u["name"]: u for u in listed.json()["users"]}
    assert users["olena"]["created_by"] == "admin" and users["olena"]["revoked_at"] is None
    assert body["token"] not in listed.text and "argon2" not in listed.text
    assert "token" not in users["olena"] and "token_hash" not in users["olena"]

    assert admin.delete("/api/users/olena").status_code == 200
    assert olena.get("/api/me").status_code == 401
    assert admin.delete("/api/users/nobody").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "editor", "role": "viewer"}, "name"),  # taken
        ({"name": "new one", "role": "viewer"}, "name"),
        ({"name": "petro", "role": "boss"}, "role"),
        ({"name": "petro"}, "role"),
    ],
)
def test_a_bad_new_user_is_422_naming_the_field(
    demo_copy: Path,
    demo_tokens: dict[str, str],
    client_for: ClientFor,
    body: dict[str, str],
    field: str,
) -> None:
    r = client_for(demo_copy, demo_tokens["admin"]).post("/api/users", json=body)
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    assert r.json()["field"] == field


# -- browser sign-in --------------------------------------------------------------------------


def test_a_browser_signs_in_and_goes_where_it_was_going(
    demo_copy: Path, demo_tokens: dict[str, str], client_for: ClientFor
) -> None:
    client = client_for(demo_copy)
    page = client.get("/login")
    assert page.headers["content-type"].startswith("text/html")
    assert 'name="token"' in page.text and 'type="password"' in page.text
    r = sign_in(client, "validator", demo_tokens["validator"], next_path="/api/me?x=1")
    assert r.status_code == 303
    assert r.headers["location"] == "/api/me?x=1"
    me = client.get("/api/me")
    assert me.status_code == 200
    assert me.json()["name"] == "validator" and me.json()["csrf_token"]


def test_the_session_cookie_is_httponly_lax_and_not_secure_over_http(
    demo_copy: Path, demo_tokens: dict[str, str], client_for: ClientFor
) -> None:
    r = sign_in(client_for(demo_copy), "viewer", demo_tokens["viewer"])
    cookie = set_cookie(r, "landrelease_session")
    assert {"httponly", "samesite", "path"} <= attributes(cookie)
    assert "samesite=lax" in cookie.lower() and "path=/" in cookie.lower()
    assert "secure" not in attributes(cookie)


def test_the_session_cookie_is_secure_over_https(
    demo_copy: Path, demo_tokens: dict[str, str]
) -> None:
    with Registry.open(demo_copy) as reg:
        app = create_app(Settings(db=str(demo_copy), log_requests=False), registry=reg)
        client = TestClient(app, base_url="https://testserver")
        r = sign_in(client, "viewer", demo_tokens["viewer"])
        assert "secure" in attributes(set_cookie(r, "landrelease_session"))
        assert client.get("/api/me").json()["name"] == "viewer"


def test_the_cookies_are_secure_behind_an_https_proxy(
    demo_copy: Path, demo_tokens: dict[str, str], client_for: ClientFor
) -> None:
    client = client_for(demo_copy)
    client.headers["X-Forwarded-Proto"] = "https"
    page = client.get("/login")
    cookie = set_cookie(page, "landrelease_login_csrf")
    assert "secure" in attributes(cookie)
    # this client speaks http, so it keeps no Secure cookie: it sends the value itself
    csrf = cookie.split(";")[0].split("=", 1)[1]
    client.cookies.set("landrelease_login_csrf", csrf)
    form = {"name": "viewer", "token": demo_tokens["viewer"], "csrf_token": csrf}
    r = client.post("/login", data=form, follow_redirects=False)
    assert r.status_code == 303
    assert "secure" in attributes(set_cookie(r, "landrelease_session"))


@pytest.mark.parametrize(
    ("target", "goes_to"),
    [
        ("/collections?f=html", "/collections?f=html"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("", "/"),
    ],
)
def test_after_sign_in_only_a_path_of_this_site(target: str, goes_to: str) -> None:
    assert safe_next(target) == goes_to


def test_a_login_form_from_elsewhere_is_refused(
    demo_copy: Path, demo_tokens: dict[str, str], client_for: ClientFor
) -> None:
    client = client_for(demo_copy)
    form = {"name": "admin", "token": demo_tokens["admin"], "csrf_token": "guessed"}
    r = client.post("/login", data=form, follow_redirects=False)
    assert r.status_code == 403
    assert "landrelease_session" not in r.headers.get("set-cookie", "")


def test_a_wrong_token_does_not_sign_in(
    demo_copy: Path, demo_tokens: dict[str, str], client_for: ClientFor
) -> None:
    client = client_for(demo_copy)
    r = sign_in(client, "admin", demo_tokens["viewer"])  # another user's token
    assert r.status_code == 401 and "Unknown user name or token" in r.text
    assert client.get("/api/me").status_code == 401


def test_signing_out_ends_the_session(
    demo_copy: Path, demo_tokens: dict[str, str], client_for: ClientFor
) -> None:
    client = client_for(demo_copy)
    sign_in(client, "editor", demo_tokens["editor"])
    session = client.cookies["landrelease_session"]
    csrf = client.get("/api/me").json()["csrf_token"]
    refused = client.post("/logout", follow_redirects=False)  # no CSRF token
    assert refused.status_code == 403 and refused.headers["content-type"] == PROBLEM
    r = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert client.get("/api/me").status_code == 401
    # the old cookie, replayed, signs no one in
    again = client_for(demo_copy)
    again.cookies.set("landrelease_session", session)
    assert again.get("/api/me").status_code == 401


# -- CSRF on changes made with a session ------------------------------------------------------


def test_a_session_change_needs_the_csrf_token(
    demo_copy: Path, demo_tokens: dict[str, str], client_for: ClientFor
) -> None:
    client = client_for(demo_copy)
    sign_in(client, "admin", demo_tokens["admin"])
    csrf = client.get("/api/me").json()["csrf_token"]
    body = {"name": "taras", "role": "viewer"}
    r = client.post("/api/users", json=body)
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    r = client.post("/api/users", json=body, headers={"X-CSRF-Token": "not-it"})
    assert r.status_code == 403
    assert client.get("/api/users").json()["users"][-1]["name"] != "taras"  # nothing changed
    r = client.post("/api/users", json=body, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201
    r = client.delete("/api/users/taras")
    assert r.status_code == 403
    assert client.delete("/api/users/taras", headers={"X-CSRF-Token": csrf}).status_code == 200


def test_a_bearer_change_needs_no_csrf_token(
    demo_copy: Path, demo_tokens: dict[str, str], client_for: ClientFor
) -> None:
    admin = client_for(demo_copy, demo_tokens["admin"])
    admin.cookies.set("landrelease_session", "stale")  # a cookie beside it changes nothing
    assert admin.post("/api/users", json={"name": "iryna", "role": "viewer"}).status_code == 201


# -- failed sign-ins --------------------------------------------------------------------------


def test_too_many_failed_sign_ins_get_429_with_retry_after(
    two_addresses: tuple[TestClient, TestClient], demo_tokens: dict[str, str]
) -> None:
    here, there = two_addresses
    for _ in range(3):
        assert sign_in(here, "editor", "wrong.token").status_code == 401
    r = sign_in(here, "editor", demo_tokens["editor"])  # even the right token, now
    assert r.status_code == 429
    wait = int(r.headers["retry-after"])
    assert 0 < wait <= 900
    assert "landrelease_session" not in r.headers.get("set-cookie", "")
    # the address is limited for every name; the name from every address
    assert sign_in(here, "admin", demo_tokens["admin"]).status_code == 429
    assert sign_in(there, "editor", demo_tokens["editor"]).status_code == 429
    assert sign_in(there, "admin", demo_tokens["admin"]).status_code == 303


def test_a_success_clears_only_its_own_failures(
    two_addresses: tuple[TestClient, TestClient], demo_tokens: dict[str, str]
) -> None:
    here, there = two_addresses
    assert sign_in(here, "viewer", "wrong.token").status_code == 401
    assert sign_in(there, "viewer", "wrong.token").status_code == 401
    assert sign_in(here, "viewer", demo_tokens["viewer"]).status_code == 303
    # the failure from the other address still counts: two more make three
    assert sign_in(there, "viewer", "wrong.token").status_code == 401
    assert sign_in(there, "viewer", "wrong.token").status_code == 401
    assert sign_in(there, "viewer", demo_tokens["viewer"]).status_code == 429


def test_the_throttle_lets_go_when_the_window_has_passed() -> None:
    throttle = LoginThrottle(attempts=2, window_s=60)
    throttle.failed("Alice", "a", now=0)
    assert throttle.retry_after("alice", "a", now=1) is None
    throttle.failed("alice", "b", now=10)
    assert throttle.retry_after("ALICE", "c", now=20) == 40  # the name: two failures
    assert throttle.retry_after("bob", "a", now=20) is None  # address a: one failure
    assert throttle.retry_after("alice", "c", now=50) == 10
    assert throttle.retry_after("alice", "c", now=60) is None  # the first left the window
