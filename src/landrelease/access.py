"""Users, their tokens and sessions, and proposals of land-release decisions: the use cases
behind the Registry's "users and proposals" methods.

A token is `<token_id>.<secret>`: the id is stored in clear (indexed), and only the argon2
hash of the whole token, so a request finds its user's row at once and verifies one hash.
argon2 is slow by design (about a tenth of a second), so a verified token is remembered in
this process, by the SHA-256 of the token, together with the hash it matched; the user's row
(role, revocation) is read again on every request, so that a revocation or a new role takes
effect at once in every process.

Who may change a status is decided in one place, `request_status`: a validator (or admin)
changes it; so does an editor when the target is no land-release decision (suspected,
confirmed, in_progress); an editor asking for a decision (cancelled, reduced, cleared,
released) makes a proposal, checked against the lifecycle at once, that a validator approves
or rejects. The approved change is written by `Registry.set_status` with the validator as
its actor and a reason naming the proposer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from landrelease.domain import lifecycle
from landrelease.domain.codes import Status
from landrelease.domain.errors import ConflictError, LandreleaseError, ValidationError
from landrelease.domain.records import HAZARDS
from landrelease.domain.roles import (
    LAND_RELEASE_DECISIONS,
    Permission,
    Role,
    User,
    can,
    parse_role,
)

if TYPE_CHECKING:
    from landrelease.registry import Registry
    from landrelease.store import UnitOfWork

PROPOSAL_STATES = ("pending", "approved", "rejected")

# A user name is what the audit trail records as the actor of every change: a word of
# letters, digits and . _ @ - (an e-mail address fits), starting with a letter or digit.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}\Z")
# `external` marks the changes made outside landrelease (store/history.py).
RESERVED_NAMES = frozenset({"external"})
_TOKEN_PART = re.compile(r"[A-Za-z0-9_-]{1,128}\Z")  # what secrets.token_urlsafe makes

_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory parameters


class NotPermitted(LandreleaseError):
    """The user's role does not hold the permission a use case needs."""


@dataclass(frozen=True)
class Proposal:
    """A status change an editor asked for, and its decision once a validator made it."""

    id: int
    ref: str
    from_status: str
    to_status: str
    reason: str | None
    expected_version: int
    proposed_by: str
    proposed_at: str
    state: str  # pending | approved | rejected
    decided_by: str | None
    decided_at: str | None
    decision_reason: str | None

    def as_dict(self) -> dict[str, Any]:
        """Return the proposal as a JSON-ready dict."""
        return asdict(self)


class VerifiedTokens:
    """Tokens this process has verified: SHA-256 of the token -> the argon2 hash it matched.

    Bounded (the least recently used go first) and shared by the threads of a server.
    A hit counts only while the user's stored hash is still the one the token matched.
    """

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._known: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def matches(self, digest: str, token_hash: str) -> bool:
        """Return whether the token of `digest` was verified against `token_hash`."""
        with self._lock:
            known = self._known.get(digest)
            if known is not None:
                self._known.move_to_end(digest)
            return known is not None and secrets.compare_digest(known, token_hash)

    def seen(self, digest: str) -> bool:
        """Return whether the token of `digest` was verified here (against some hash)."""
        return digest in self._known

    def remember(self, digest: str, token_hash: str) -> None:
        with self._lock:
            self._known[digest] = token_hash
            self._known.move_to_end(digest)
            while len(self._known) > self._size:
                self._known.popitem(last=False)


verified_tokens = VerifiedTokens()


# -- users ------------------------------------------------------------------------------------


def add_user(reg: Registry, name: str, role: str | Role, *, actor: str) -> str:
    """Add a user with a new token; return the token (only its hash is stored)."""
    name = check_name(name)
    label = role.label if isinstance(role, Role) else parse_role(role).label
    token_id = secrets.token_urlsafe(9)
    token = f"{token_id}.{secrets.token_urlsafe(32)}"
    token_hash = _hasher.hash(token)  # before the write lock: it takes a while
    with reg.store.unit_of_work(write=True, note=f"adding user {name} by {actor}") as uow:
        uow.users.add(
            name=name,
            role=label,
            token_id=token_id,
            token_hash=token_hash,
            at=_stamp(_now()),
            actor=actor,
        )
    return token


def check_name(name: str) -> str:
    """Return `name` if it can name a user, else raise ValidationError saying why."""
    text = name.strip()
    if not _NAME.match(text):
        raise ValidationError(
            None,
            "name",
            f"{name!r} cannot name a user: use 1 to 64 letters, digits and . _ @ -, "
            "starting with a letter or digit",
        )
    if text.lower() in RESERVED_NAMES:
        raise ValidationError(
            None, "name", f"{text!r} is reserved (it marks changes made outside landrelease)"
        )
    return text


def users(reg: Registry) -> list[dict[str, Any]]:
    """Return every user (name, role, created_at/by, revoked_at/by), never a token or hash."""
    with reg.store.unit_of_work() as uow:
        return uow.users.all()


def revoke_user(reg: Registry, name: str, *, actor: str) -> dict[str, Any]:
    """Revoke a user's token and end their sessions; return the user as now stored.

    Revoking a revoked user changes nothing. An unknown name is NotFound.
    """
    at = _stamp(_now())
    with reg.store.unit_of_work(write=True, note=f"revoking user {name} by {actor}") as uow:
        uow.users.revoke(name, at=at, actor=actor)
        row = uow.users.get(name)
        assert row is not None
        uow.sessions.end_all(row["name"], at=at)
        return row


def user_for_token(reg: Registry, token: str) -> User | None:
    """Return the active user holding `token`, or None (unknown, malformed or revoked)."""
    token_id, dot, secret = token.partition(".")
    if not dot or not _TOKEN_PART.match(token_id) or not _TOKEN_PART.match(secret):
        return None
    with reg.store.unit_of_work() as uow:
        row = uow.users.credentials(token_id)
    if row is None or row["revoked_at"] is not None:
        return None
    digest = _sha256(token)
    if not verified_tokens.matches(digest, row["token_hash"]):
        try:
            _hasher.verify(row["token_hash"], token)
        except (VerificationError, InvalidHashError):
            return None
        verified_tokens.remember(digest, row["token_hash"])
    return _user(row)


def token_seen(token: str) -> bool:
    """Return whether this process verified `token` already, so that checking it again
    costs one read of its user, not an argon2 verification."""
    return verified_tokens.seen(_sha256(token))


def _user(row: dict[str, Any]) -> User | None:
    """Return the User of a stored row, or None for a role no longer known (edited by hand)."""
    try:
        return User(row["name"], parse_role(row["role"]))
    except ValidationError:
        return None


# -- browser sessions -------------------------------------------------------------------------


def start_session(reg: Registry, name: str, token: str, *, hours: float) -> tuple[str, str] | None:
    """Sign `name` in with their token: return (session id, CSRF token), or None if the
    token is not the active token of that user.

    Only the SHA-256 of the session id is stored; the id lives in the browser's cookie.
    """
    user = user_for_token(reg, token)
    if user is None or user.name.lower() != name.strip().lower():
        return None
    session_id = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = _now()
    with reg.store.unit_of_work(write=True) as uow:
        uow.sessions.purge(before=_stamp(now))  # the table keeps the live sessions only
        uow.sessions.add(
            id_hash=_sha256(session_id),
            user_name=user.name,
            csrf_token=csrf,
            created_at=_stamp(now),
            expires_at=_stamp(now + dt.timedelta(hours=hours)),
        )
    return session_id, csrf


def user_for_session(reg: Registry, session_id: str) -> User | None:
    """Return the user of a live session (not ended, not expired, user not revoked); or None."""
    with reg.store.unit_of_work() as uow:
        live = _live_session(uow, session_id)
    return None if live is None else live[1]


def session_csrf(reg: Registry, session_id: str) -> str | None:
    """Return the CSRF token of a live session, or None."""
    with reg.store.unit_of_work() as uow:
        live = _live_session(uow, session_id)
    return None if live is None else str(live[0]["csrf_token"])


def end_session(reg: Registry, session_id: str) -> None:
    """End a session (sign out); an unknown or ended one is left as it is."""
    with reg.store.unit_of_work(write=True) as uow:
        uow.sessions.end(_sha256(session_id), at=_stamp(_now()))


def _live_session(uow: UnitOfWork, session_id: str) -> tuple[dict[str, Any], User] | None:
    session = uow.sessions.get(_sha256(session_id))
    if session is None or session["ended_at"] is not None:
        return None
    if session["expires_at"] <= _stamp(_now()):
        return None
    row = uow.users.get(session["user_name"])
    if row is None or row["revoked_at"] is not None:
        return None
    user = _user(row)
    return None if user is None else (session, user)


# -- status changes and proposals -------------------------------------------------------------


def request_status(
    reg: Registry,
    ref: str,
    status: str,
    *,
    user: User,
    reason: str | None,
    expected_version: int | None,
) -> dict[str, Any] | Proposal:
    """Change an area's status, or propose the change: return the area as stored
    (`Registry.stored_record`) or the pending Proposal.

    A user who may decide land-release changes (validator+), or any target that is no such
    decision, changes it at once through `Registry.set_status`. An editor asking for a
    decision gets a proposal, refused at once (IllegalTransition) if the lifecycle does not
    allow it now, and (ConflictError) if the area is no longer at `expected_version`.
    """
    target = lifecycle.parse_status(status, ref)
    decision = target in LAND_RELEASE_DECISIONS
    if can(user.role, Permission.DECIDE_STATUS) or not decision:
        _require(user, Permission.WRITE)
        reg.set_status(
            ref, target.value, actor=user.name, reason=reason, expected_version=expected_version
        )
        return reg.stored_record(HAZARDS.name, ref)
    _require(user, Permission.PROPOSE_STATUS)
    note = f"a status proposal by {user.name}"
    with reg.store.unit_of_work(write=True, note=note) as uow:
        area = uow.records(HAZARDS).get(ref)
        version = int(area["version"])
        if expected_version is not None and expected_version != version:
            raise ConflictError(
                f"{ref}: changed by someone else (now version {version}, you had version "
                f"{expected_version}); reload it and try again"
            )
        current = Status(area["status"])
        lifecycle.check_transition(ref, current, target, reg.area_facts(ref, uow), reason)
        proposal_id = uow.proposals.add(
            ref=ref,
            from_status=current.value,
            to_status=target.value,
            reason=reason,
            expected_version=version,
            proposed_by=user.name,
            proposed_at=_stamp(_now()),
        )
        return Proposal(**uow.proposals.get(proposal_id))


def proposals(reg: Registry, state: str = "pending") -> list[Proposal]:
    """Return the proposals in `state` (pending, approved, rejected or all), oldest first."""
    wanted = state.strip().lower()
    if wanted not in (*PROPOSAL_STATES, "all"):
        raise ValidationError(
            None, "state", f"unknown state {state!r}; use one of {', '.join(PROPOSAL_STATES)}, all"
        )
    with reg.store.unit_of_work() as uow:
        rows = uow.proposals.select(None if wanted == "all" else wanted)
    return [Proposal(**r) for r in rows]


def proposal(reg: Registry, proposal_id: int) -> Proposal:
    """Return one proposal; NotFound if there is none with this id."""
    with reg.store.unit_of_work() as uow:
        return Proposal(**uow.proposals.get(proposal_id))


def approve_proposal(
    reg: Registry, proposal_id: int, *, user: User, reason: str | None = None
) -> tuple[Proposal, dict[str, Any]]:
    """Apply a pending proposal as `user` (validator+); return it, approved, and the area.

    The change is `Registry.set_status` at the version the proposal was made against: an
    area changed since is a ConflictError (reject the proposal; the editor proposes again),
    and the lifecycle is checked again on today's facts. The audit trail records the
    validator as actor and a reason naming the proposer.
    """
    _require(user, Permission.DECIDE_STATUS)
    # The change and the decision are one transaction: a crash or a refusal between them
    # leaves neither, and a rejection cannot come in between (the write lock is held). A
    # second approval of the same proposal finds it decided.
    with reg.store.unit_of_work(
        write=True, note=f"a status proposal approved by {user.name}"
    ) as uow:
        p = _pending(uow, proposal_id)
        audit = (
            f"proposed by {p.proposed_by}: {p.reason or 'no reason given'}; approved by {user.name}"
        )
        if reason and reason.strip():
            audit += f": {reason.strip()}"
        try:
            reg.set_status(
                p.ref,
                p.to_status,
                actor=user.name,
                reason=audit,
                expected_version=p.expected_version,
                uow=uow,
            )
        except ConflictError:
            raise ConflictError(
                f"status proposal {p.id}: {p.ref} changed since it was proposed at version "
                f"{p.expected_version}; reject the proposal and propose again"
            ) from None
        decided = _decide(uow, p.id, "approved", user, reason)
    return decided, reg.stored_record(HAZARDS.name, p.ref)


def reject_proposal(reg: Registry, proposal_id: int, *, user: User, reason: str) -> Proposal:
    """Reject a pending proposal as `user` (validator+), saying why; return it."""
    _require(user, Permission.DECIDE_STATUS)
    if not (reason and reason.strip()):
        raise ValidationError(
            f"proposal {proposal_id}", "reason", "a rejection needs a reason, for the proposer"
        )
    with reg.store.unit_of_work(
        write=True, note=f"a status proposal rejected by {user.name}"
    ) as uow:
        _pending(uow, proposal_id)
        return _decide(uow, proposal_id, "rejected", user, reason)


def _pending(uow: UnitOfWork, proposal_id: int) -> Proposal:
    """Return a proposal still pending, read in `uow`; ConflictError if it was decided."""
    p = Proposal(**uow.proposals.get(proposal_id))
    if p.state != "pending":
        raise ConflictError(
            f"status proposal {p.id} was {p.state} already, by {p.decided_by} at {p.decided_at}"
        )
    return p


def _decide(
    uow: UnitOfWork, proposal_id: int, state: str, user: User, reason: str | None
) -> Proposal:
    """Record the decision on a proposal in `uow`; return the proposal as decided."""
    uow.proposals.decide(
        proposal_id,
        state=state,
        by=user.name,
        at=_stamp(_now()),
        reason=reason.strip() if reason and reason.strip() else None,
    )
    return Proposal(**uow.proposals.get(proposal_id))


def _require(user: User, permission: Permission) -> None:
    if not can(user.role, permission):
        raise NotPermitted(
            f"{user.name} is {user.role.label}: a {permission.value.replace('_', ' ')} "
            "needs a higher role"
        )


# -- small things -----------------------------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _stamp(t: dt.datetime) -> str:
    """Return `t` as the audit trail writes times (store.now_utc): UTC, milliseconds."""
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
