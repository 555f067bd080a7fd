"""Users, tokens, sessions and status proposals: the registry's use cases and `landrelease users`.

Every registry is a real throw-away file (tests/conftest.py); users and areas are synthetic.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from backends import is_database
from conftest import ACTOR, RunCli
from fixtures import query, snapshot
from landrelease.access import NotPermitted, Proposal
from landrelease.domain.errors import (
    ConflictError,
    IllegalTransition,
    NotFound,
    ValidationError,
)
from landrelease.domain.roles import Role, User
from landrelease.registry import Registry

EDITOR = User("erin", Role.EDITOR)
VALIDATOR = User("vera", Role.VALIDATOR)
VIEWER = User("vic", Role.VIEWER)


def file_bytes(path: Path | str) -> bytes:
    """Return the bytes of a registry file and of its write-ahead log, if any; of a database,
    every value of every table written out as text."""
    if is_database(path):
        return repr(snapshot(path)).encode()
    wal = Path(f"{path}-wal")
    return Path(path).read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def column(path: Path | str, sql: str) -> list[Any]:
    return [r[0] for r in query(path, sql)]


def nts_done(reg: Registry, area: str) -> None:
    """Record a completed non-technical survey on `area`: what cancelling it needs."""
    reg.add_records(
        "activities",
        [{"area_ref": area, "activity_type": "nts", "status": "completed"}],
        actor=ACTOR,
    )


# -- users and tokens -------------------------------------------------------------------------


def test_a_token_names_its_user_and_only_its_hash_is_stored(registry_path: Path) -> None:
    with Registry.open(registry_path) as reg:
        token = reg.add_user("alice", "editor", actor=ACTOR)
        assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{40,}", token)
        assert reg.user_for_token(token) == User("alice", Role.EDITOR)
        [row] = reg.users()
        assert row["name"] == "alice" and row["role"] == "editor"
        assert row["created_by"] == ACTOR and row["revoked_at"] is None
        assert not {"token", "token_id", "token_hash"} & set(row)
    data = file_bytes(registry_path)
    assert token.encode() not in data
    assert token.split(".")[1].encode() not in data
    [stored] = column(registry_path, "SELECT token_hash FROM landrelease_users")
    assert stored.startswith("$argon2id$")


@pytest.mark.parametrize(
    "token",
    ["", "nodot", ".", "abc.", ".abc", "a b.c", "x" * 300 + ".y", "abc.def"],
)
def test_a_malformed_or_unknown_token_is_no_user(reg: Registry, token: str) -> None:
    reg.add_user("alice", "viewer", actor=ACTOR)
    assert reg.user_for_token(token) is None


def test_a_wrong_secret_with_a_real_token_id_is_no_user(reg: Registry) -> None:
    token = reg.add_user("alice", "viewer", actor=ACTOR)
    token_id = token.split(".")[0]
    assert reg.user_for_token(f"{token_id}.{'A' * 43}") is None
    assert reg.user_for_token(token + "x") is None
    assert reg.user_for_token(token) is not None


@pytest.mark.parametrize(
    ("name", "role", "field"),
    [
        ("alice", "boss", "role"),
        ("", "viewer", "name"),
        ("al ice", "viewer", "name"),
        ("-alice", "viewer", "name"),
        ("a" * 65, "viewer", "name"),
        ("external", "admin", "name"),  # marks changes made outside landrelease
        ("ALICE", "viewer", "name"),  # taken, whatever its case
    ],
)
def test_a_bad_name_or_role_is_refused_naming_the_field(
    reg: Registry, name: str, role: str, field: str
) -> None:
    reg.add_user("alice", "viewer", actor=ACTOR)
    with pytest.raises(ValidationError) as caught:
        reg.add_user(name, role, actor=ACTOR)
    assert caught.value.field == field
    assert [u["name"] for u in reg.users()] == ["alice"]


def test_revoking_takes_effect_at_once_in_every_process(registry_path: Path) -> None:
    with Registry.open(registry_path) as one, Registry.open(registry_path) as other:
        token = one.add_user("alice", "editor", actor=ACTOR)
        assert one.user_for_token(token) is not None  # verified, and remembered
        other.revoke_user("alice", actor="admin")
        assert one.user_for_token(token) is None
        assert other.user_for_token(token) is None
        [row] = one.users()
        assert row["revoked_by"] == "admin" and row["revoked_at"]


def test_revoking_twice_keeps_the_first_revocation(reg: Registry) -> None:
    reg.add_user("alice", "editor", actor=ACTOR)
    first = reg.revoke_user("alice", actor="one")
    again = reg.revoke_user("ALICE", actor="two")
    assert (again["revoked_at"], again["revoked_by"]) == (first["revoked_at"], "one")


def test_revoking_an_unknown_user_is_not_found(reg: Registry) -> None:
    with pytest.raises(NotFound, match="no user named 'nobody'"):
        reg.revoke_user("nobody", actor=ACTOR)


def test_a_revoked_name_stays_taken(reg: Registry) -> None:
    reg.add_user("alice", "editor", actor=ACTOR)
    reg.revoke_user("alice", actor=ACTOR)
    with pytest.raises(ValidationError, match="exists already"):
        reg.add_user("alice", "editor", actor=ACTOR)


@pytest.mark.sqlite_only(
    reason="the file's triggers, through sqlite3 (PostGIS: test_store_postgis_tables.py)"
)
def test_users_are_never_deleted_outside_landrelease(reg: Registry, registry_path: Path) -> None:
    reg.add_user("alice", "editor", actor=ACTOR)
    conn = sqlite3.connect(registry_path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="users revoke"):
            conn.execute("DELETE FROM landrelease_users")
    finally:
        conn.close()


@pytest.mark.sqlite_only(reason="an older registry file is upgraded")
def test_an_older_registry_gets_the_tables_when_opened(tmp_path: Path) -> None:
    import shutil

    path = tmp_path / "old.gpkg"
    shutil.copyfile(Path(__file__).with_name("data") / "registry-0002.gpkg", path)
    with Registry.open(path) as reg:
        token = reg.add_user("alice", "admin", actor=ACTOR)
        assert reg.user_for_token(token) == User("alice", Role.ADMIN)
        assert reg.proposals("all") == []


# -- browser sessions -------------------------------------------------------------------------


def test_a_session_signs_its_user_in_until_it_ends(reg: Registry, registry_path: Path) -> None:
    token = reg.add_user("alice", "validator", actor=ACTOR)
    started = reg.start_session("Alice", token, hours=1)
    assert started is not None
    session, csrf = started
    assert reg.user_for_session(session) == User("alice", Role.VALIDATOR)
    assert reg.session_csrf(session) == csrf
    # only the hash of the session id is kept
    assert session.encode() not in file_bytes(registry_path)
    stored = column(registry_path, "SELECT id_hash FROM landrelease_sessions")
    assert stored == [hashlib.sha256(session.encode()).hexdigest()]
    reg.end_session(session)
    assert reg.user_for_session(session) is None
    assert reg.session_csrf(session) is None


def test_a_session_needs_the_users_own_token(reg: Registry) -> None:
    alice = reg.add_user("alice", "viewer", actor=ACTOR)
    reg.add_user("bob", "admin", actor=ACTOR)
    assert reg.start_session("bob", alice, hours=1) is None
    assert reg.start_session("alice", alice + "x", hours=1) is None
    assert reg.start_session("carol", alice, hours=1) is None


def test_an_expired_session_is_no_one(reg: Registry) -> None:
    token = reg.add_user("alice", "viewer", actor=ACTOR)
    started = reg.start_session("alice", token, hours=-1)  # expired as it starts
    assert started is not None
    assert reg.user_for_session(started[0]) is None
    assert reg.user_for_session("no-such-session") is None


def test_revoking_ends_the_users_sessions(reg: Registry) -> None:
    token = reg.add_user("alice", "editor", actor=ACTOR)
    started = reg.start_session("alice", token, hours=1)
    assert started is not None
    reg.revoke_user("alice", actor=ACTOR)
    assert reg.user_for_session(started[0]) is None
    assert reg.start_session("alice", token, hours=1) is None


# -- status changes and proposals -------------------------------------------------------------


def test_an_editor_changes_a_status_that_is_no_decision(
    reg: Registry, refs: dict[str, str]
) -> None:
    area = reg.request_status(
        refs["kyiv"], "confirmed", user=EDITOR, reason="AP mine seen", expected_version=1
    )
    assert isinstance(area, dict)
    assert (area["status"], area["version"], area["changed_by"]) == ("confirmed", 2, "erin")


def test_an_editor_proposes_a_decision_and_a_validator_approves_it(
    reg: Registry, refs: dict[str, str]
) -> None:
    ref = refs["kyiv"]
    nts_done(reg, ref)
    p = reg.request_status(
        ref, "cancelled", user=EDITOR, reason="NTS found nothing", expected_version=1
    )
    assert isinstance(p, Proposal)
    assert (p.state, p.from_status, p.to_status, p.proposed_by) == (
        "pending",
        "suspected",
        "cancelled",
        "erin",
    )
    assert reg.hazard(ref).status == "suspected"  # nothing changed yet
    assert [q.id for q in reg.proposals()] == [p.id]

    decided, area = reg.approve_proposal(p.id, user=VALIDATOR, reason="report checked")
    assert (decided.state, decided.decided_by, decided.decision_reason) == (
        "approved",
        "vera",
        "report checked",
    )
    assert area["status"] == "cancelled"
    last = reg.history(ref)[-1]
    assert last["actor"] == "vera" and last["action"] == "status"
    assert last["reason"] == "proposed by erin: NTS found nothing; approved by vera: report checked"
    assert reg.proposals() == [] and [q.id for q in reg.proposals("approved")] == [p.id]


def test_an_approval_is_the_change_and_the_decision_or_neither(
    reg: Registry, refs: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = refs["kyiv"]
    nts_done(reg, ref)
    p = reg.request_status(ref, "cancelled", user=EDITOR, reason="NTS", expected_version=1)
    assert isinstance(p, Proposal)
    history = reg.history(ref)

    def fails(*args: Any, **kwargs: Any) -> Proposal:
        raise OSError("disk full")  # the decision fails after the change was made

    monkeypatch.setattr("landrelease.access._decide", fails)
    with pytest.raises(OSError, match="disk full"):
        reg.approve_proposal(p.id, user=VALIDATOR)
    assert reg.hazard(ref).status == "suspected"
    assert reg.history(ref) == history
    assert reg.proposal(p.id).state == "pending"


def test_a_validator_decides_at_once(reg: Registry, refs: dict[str, str]) -> None:
    nts_done(reg, refs["kyiv"])
    area = reg.request_status(
        refs["kyiv"], "cancelled", user=VALIDATOR, reason=None, expected_version=None
    )
    assert isinstance(area, dict) and area["status"] == "cancelled"
    assert reg.proposals("all") == []


def test_an_illegal_proposal_is_refused_at_once(reg: Registry, refs: dict[str, str]) -> None:
    with pytest.raises(IllegalTransition) as caught:
        reg.request_status(refs["kyiv"], "cancelled", user=EDITOR, expected_version=1)
    assert "non-technical survey" in caught.value.needs
    assert reg.proposals("all") == []


def test_a_proposal_on_a_stale_version_is_a_conflict(reg: Registry, refs: dict[str, str]) -> None:
    nts_done(reg, refs["kyiv"])
    with pytest.raises(ConflictError, match="now version 1"):
        reg.request_status(refs["kyiv"], "cancelled", user=EDITOR, expected_version=7)
    assert reg.proposals("all") == []


def test_a_proposal_is_not_approved_after_its_area_changed(
    reg: Registry, refs: dict[str, str]
) -> None:
    ref = refs["kyiv"]
    nts_done(reg, ref)
    p = reg.request_status(ref, "cancelled", user=EDITOR, expected_version=1)
    assert isinstance(p, Proposal)
    reg.update_record("hazards", ref, {"notes": "fence seen"}, actor=ACTOR)
    with pytest.raises(ConflictError, match="reject the proposal"):
        reg.approve_proposal(p.id, user=VALIDATOR)
    assert reg.hazard(ref).status == "suspected"
    assert reg.proposal(p.id).state == "pending"


def test_a_rejection_needs_a_reason_and_is_final(reg: Registry, refs: dict[str, str]) -> None:
    nts_done(reg, refs["kyiv"])
    p = reg.request_status(refs["kyiv"], "cancelled", user=EDITOR, expected_version=1)
    assert isinstance(p, Proposal)
    with pytest.raises(ValidationError) as caught:
        reg.reject_proposal(p.id, user=VALIDATOR, reason="  ")
    assert caught.value.field == "reason"
    rejected = reg.reject_proposal(p.id, user=VALIDATOR, reason="the survey missed the ditch")
    assert (rejected.state, rejected.decided_by) == ("rejected", "vera")
    with pytest.raises(ConflictError, match="rejected already"):
        reg.approve_proposal(p.id, user=VALIDATOR)
    assert reg.hazard(refs["kyiv"]).status == "suspected"


def test_only_a_validator_decides(reg: Registry, refs: dict[str, str]) -> None:
    nts_done(reg, refs["kyiv"])
    p = reg.request_status(refs["kyiv"], "cancelled", user=EDITOR, expected_version=1)
    assert isinstance(p, Proposal)
    with pytest.raises(NotPermitted):
        reg.approve_proposal(p.id, user=EDITOR)
    with pytest.raises(NotPermitted):
        reg.reject_proposal(p.id, user=EDITOR, reason="no")
    with pytest.raises(NotPermitted):
        reg.request_status(refs["forest"], "confirmed", user=VIEWER, reason="seen")


def test_proposals_of_an_unknown_state_or_id(reg: Registry) -> None:
    with pytest.raises(ValidationError) as caught:
        reg.proposals("maybe")
    assert caught.value.field == "state"
    with pytest.raises(NotFound):
        reg.proposal(12345)


# -- the CLI ----------------------------------------------------------------------------------


def test_cli_adds_a_user_and_shows_the_token_once(registry_path: Path, run_cli: RunCli) -> None:
    code, out, err = run_cli(
        ["users", "add", "alice", "--role", "validator", "--db", registry_path]
    )
    assert code == 0, err
    lines = out.splitlines()
    token = next(ln for ln in lines if re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{40,}", ln))
    assert "not stored" in out and "cannot be shown again" in out
    with Registry.open(registry_path) as reg:
        assert reg.user_for_token(token) == User("alice", Role.VALIDATOR)
    code, out, _ = run_cli(["users", "list", "--db", registry_path, "--json"])
    assert code == 0 and token not in out and "argon2" not in out
    code, out, _ = run_cli(["users", "list", "--db", registry_path])
    assert code == 0 and "alice" in out and "validator" in out and token not in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["users", "add", "bob", "--role", "boss"], "unknown role 'boss'"),
        (["users", "add", "alice", "--role", "viewer"], "exists already"),
        (["users", "revoke", "nobody"], "no user named 'nobody'"),
    ],
)
def test_cli_refusals_are_one_line_and_exit_2(
    registry_path: Path, run_cli: RunCli, args: list[str], message: str
) -> None:
    with Registry.open(registry_path) as reg:
        reg.add_user("alice", "editor", actor=ACTOR)
    code, _out, err = run_cli([*args, "--db", registry_path])
    assert code == 2
    assert err.count("\n") == 1 and message in err


def test_cli_revokes_a_user(registry_path: Path, run_cli: RunCli) -> None:
    with Registry.open(registry_path) as reg:
        token = reg.add_user("alice", "editor", actor=ACTOR)
    code, out, err = run_cli(["users", "revoke", "alice", "--db", registry_path])
    assert code == 0, err
    assert "Revoked alice" in out
    with Registry.open(registry_path) as reg:
        assert reg.user_for_token(token) is None
        [row] = reg.users()
        assert row["revoked_by"] == ACTOR
