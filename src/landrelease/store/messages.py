"""What the store says, in the same words whichever backend keeps the registry.

The refusals of the database's triggers (QGIS or any SQL client shows them when a change is
refused), what a record of each kind is called in a message, the descriptions of the record
tables that a GIS client lists, and the errors of the repositories of the tables beside the
records. The SQLite and the PostGIS backend both take them from here, so that a registry
answers alike on either.
"""

from __future__ import annotations

from typing import Any

from landrelease.domain.errors import ConflictError, NotFound, ValidationError

# What a record of each kind is called in a message.
RECORD_NOUNS = {
    "hazards": "hazard area",
    "events": "contamination event",
    "activities": "activity",
    "items": "item",
    "accidents": "accident",
    "eore": "risk-education session",
}

# The description of each record table (gpkg_contents in a file, COMMENT ON TABLE in PostGIS).
TABLE_DESCRIPTIONS = {
    "hazards": "Hazardous areas (SHA/CHA) and their land-release status",
    "events": "Contamination events: devices believed emplaced, by profile and date",
    "activities": "Survey, clearance, EOD, QA and handover activities with outcomes in m2",
    "items": "Explosive ordnance items found",
    "accidents": "Explosive ordnance accidents and casualties (sensitive)",
    "eore": "Explosive ordnance risk education sessions: where, how, and the audience reached",
}

# -- the refusals of the triggers: records and their history ----------------------------------

NO_DELETE = (
    "landrelease: records are never deleted; cancel or release a hazard area with landrelease "
    "hazards set-status REF cancelled, or correct a record with landrelease revert"
)
STATUS_GUARD = (
    "landrelease: a status changes only with landrelease hazards set-status REF STATUS, which "
    "checks the land-release lifecycle"
)
HISTORY_UNCHANGED = "landrelease: history is never changed"
HISTORY_KEPT = "landrelease: history is never deleted"

# -- the refusals of the triggers: the tables beside the records ------------------------------

USERS_KEPT = (
    "landrelease: users are never deleted (the audit trail names them); "
    "revoke one with landrelease users revoke NAME"
)
PROPOSALS_KEPT = "landrelease: status proposals are never deleted"
PROPOSAL_DECIDED = "landrelease: a decided status proposal is never changed"
SUBMISSIONS_KEPT = (
    "landrelease: field submissions are never deleted; reject one with "
    "landrelease review reject ID --reason TEXT"
)
SUBMISSION_DECIDED = "landrelease: a reviewed field submission is never changed"
SUBMISSION_EVENTS_KEPT = "landrelease: the review history of field submissions is never changed"
RANKINGS_KEPT = (
    "landrelease: saved rankings are append-only (a ranking is evidence of a decision); "
    "save a new one with landrelease prioritize --save"
)

# -- the errors of the repositories ------------------------------------------------------------

WRITE_IN_READ_UNIT = "a write in a read unit of work: begin it with store.unit_of_work(write=True)"


def batch_not_found(batch_id: int) -> NotFound:
    """Return the error of an import batch id that names none."""
    return NotFound(f"no import batch {batch_id}")


def user_name_taken(name: str) -> ValidationError:
    """Return the error of a new user whose name (in any case) is taken already."""
    return ValidationError(
        name,
        "name",
        f"a user named {name!r} exists already (names stay taken after a revocation, since "
        "the audit trail names them); choose another name",
    )


def user_not_found(name: str) -> NotFound:
    """Return the error of a user name that names none."""
    return NotFound(f"no user named {name!r}; 'landrelease users list' shows them")


def proposal_not_found(proposal_id: int) -> NotFound:
    """Return the error of a status proposal id that names none."""
    return NotFound(f"no status proposal {proposal_id}")


def proposal_decided(proposal_id: int, proposal: dict[str, Any]) -> ConflictError:
    """Return the error of a decision on a status proposal that was decided already."""
    return ConflictError(
        f"status proposal {proposal_id} was {proposal['state']} already, by "
        f"{proposal['decided_by']} at {proposal['decided_at']}"
    )


def submission_not_found(submission_id: int) -> NotFound:
    """Return the error of a field submission id that names none."""
    return NotFound(f"no field submission {submission_id}; 'landrelease review list' shows them")


def submission_decided(submission_id: int, submission: dict[str, Any]) -> ConflictError:
    """Return the error of a change to a field submission that was reviewed already."""
    return ConflictError(
        f"field submission {submission_id} was {submission['state']} already, by "
        f"{submission['decided_by']} at {submission['decided_at']}"
    )


def layer_not_found(name: str) -> NotFound:
    """Return the error of a reference layer name that names none."""
    return NotFound(f"no reference layer named {name!r}; 'landrelease layers list' shows them")


def layer_name_taken(name: str, known: dict[str, Any]) -> ValidationError:
    """Return the error of a new reference layer named as the layer `known` is."""
    return ValidationError(
        name,
        "name",
        f"a reference layer named {name!r} exists already ({known['kind']}, added "
        f"{known['added_at']} by {known['added_by']}); give another --name, or "
        f"remove it first with 'landrelease layers remove {name}'",
    )


def layer_table_taken(name: str, table: str, layer: str | None) -> ValidationError:
    """Return the error of a new reference layer whose table is in use: by `layer`, or by a
    table that is no layer's (None)."""
    other = f"layer {layer!r}" if layer is not None else "another table"
    return ValidationError(
        name,
        "name",
        f"the table {table} of this name is used by {other} already; give another --name",
    )


__all__ = [
    "HISTORY_KEPT",
    "HISTORY_UNCHANGED",
    "NO_DELETE",
    "PROPOSALS_KEPT",
    "PROPOSAL_DECIDED",
    "RANKINGS_KEPT",
    "RECORD_NOUNS",
    "STATUS_GUARD",
    "SUBMISSIONS_KEPT",
    "SUBMISSION_DECIDED",
    "SUBMISSION_EVENTS_KEPT",
    "TABLE_DESCRIPTIONS",
    "USERS_KEPT",
    "WRITE_IN_READ_UNIT",
    "batch_not_found",
    "layer_name_taken",
    "layer_not_found",
    "layer_table_taken",
    "proposal_decided",
    "proposal_not_found",
    "submission_decided",
    "submission_not_found",
    "user_name_taken",
    "user_not_found",
]
