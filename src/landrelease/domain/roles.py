"""Who may do what: the roles of a registry's users and the one table of their permissions.

Roles are ordered; each holds every permission of the roles below it:
viewer < editor < validator < admin.

- viewer: reads every record, its history and its residual estimate;
- editor: also creates and changes records, imports files, reverts, changes a status that is
  not a land-release decision, and proposes one that is;
- validator: also decides the land-release changes of status (cancelled, reduced, cleared,
  released), directly or by approving an editor's proposal;
- admin: also manages users.

A request without credentials is the public: it reads the public view only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum

from landrelease.domain.codes import CLOSED_STATUSES, Status
from landrelease.domain.errors import ValidationError


class Role(IntEnum):
    VIEWER = 1
    EDITOR = 2
    VALIDATOR = 3
    ADMIN = 4

    @property
    def label(self) -> str:
        return self.name.lower()


class Permission(StrEnum):
    READ = "read"  # every record, history, residual estimate
    WRITE = "write"  # create, update, import, revert, status changes that are no decision
    PROPOSE_STATUS = "propose_status"  # ask for a land-release decision
    DECIDE_STATUS = "decide_status"  # make a land-release decision, approve a proposal
    REVIEW_SUBMISSIONS = "review_submissions"  # approve or reject field submissions
    MANAGE_USERS = "manage_users"


# The least role holding each permission.
LEAST_ROLE: dict[Permission, Role] = {
    Permission.READ: Role.VIEWER,
    Permission.WRITE: Role.EDITOR,
    Permission.PROPOSE_STATUS: Role.EDITOR,
    Permission.DECIDE_STATUS: Role.VALIDATOR,
    Permission.REVIEW_SUBMISSIONS: Role.VALIDATOR,
    Permission.MANAGE_USERS: Role.ADMIN,
}

# The status changes that release land (or keep it hazardous after survey): a validator's.
LAND_RELEASE_DECISIONS: frozenset[Status] = CLOSED_STATUSES


def can(role: Role | None, permission: Permission) -> bool:
    """Return whether `role` (None: the public) holds `permission`."""
    return role is not None and role >= LEAST_ROLE[permission]


def parse_role(text: str) -> Role:
    """Return the role named `text` (viewer, editor, validator, admin)."""
    try:
        return Role[text.strip().upper()]
    except KeyError:
        raise ValidationError(
            None, "role", f"unknown role {text!r}; use one of {', '.join(r.label for r in Role)}"
        ) from None


@dataclass(frozen=True)
class User:
    """A signed-in user of the registry: the name the audit trail records, and the role."""

    name: str
    role: Role
