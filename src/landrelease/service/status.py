"""Status changes of hazard areas and the proposals of land-release decisions.

POST /api/hazards/{ref}/status asks for a change; the registry decides in one place
(`Registry.request_status`) whether the user makes it (200, the area) or proposes it (202,
the proposal, for an editor asking for cancelled, reduced, cleared or released). A validator
approves or rejects a proposal; the approved change is written with the validator as actor
and a reason naming the proposer. Like every change, a status change names the version it
was based on (If-Match: the ETag of the area).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from landrelease.domain.records import HAZARDS
from landrelease.domain.roles import Permission, User
from landrelease.records_json import record_json
from landrelease.service.access import require
from landrelease.service.api_common import Reader, Reg, etag, json_response, version_matching
from landrelease.service.schemas import Text

router = APIRouter(tags=["status"])

Decider = Annotated[User, Depends(require(Permission.DECIDE_STATUS))]
ProposalId = Annotated[int, Path(ge=1, le=2**63 - 1, description="id of the proposal")]
Reason = Field(None, max_length=2000, description="why: kept in the audit trail")


class StatusChange(BaseModel):
    """The status asked for, and why."""

    model_config = ConfigDict(extra="forbid")
    status: Text = Field(max_length=50, description="suspected, confirmed, in_progress, ...")
    reason: Text | None = Reason


class Approval(BaseModel):
    """A validator's approval, with an optional note."""

    model_config = ConfigDict(extra="forbid")
    reason: Text | None = Reason


class Rejection(BaseModel):
    """A validator's rejection: the proposer reads why."""

    model_config = ConfigDict(extra="forbid")
    reason: Text = Field(min_length=1, max_length=2000, description="why it is rejected")


def _area(record: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Return an area's JSON (as GET /api/hazards/{ref} gives it) and its ETag header."""
    return record_json(HAZARDS, record), {"ETag": etag(record["version"])}


@router.post(
    "/api/hazards/{ref}/status",
    responses={
        202: {"description": "an editor's proposal of a land-release decision"},
        409: {"description": "the lifecycle does not allow it now (`needs` says why)"},
        412: {"description": "the area changed since the version of If-Match"},
        428: {"description": "no If-Match: send the ETag of the area as you read it"},
    },
)
def change_status(
    ref: str,
    body: StatusChange,
    reg: Reg,
    user: Annotated[User, Depends(require(Permission.PROPOSE_STATUS))],
    version: Annotated[int, Depends(version_matching(HAZARDS))],
) -> Response:
    """Change a hazard area's status (200 and the area), or propose it (202)."""
    result = reg.request_status(
        ref, body.status, user=user, reason=body.reason, expected_version=version
    )
    if isinstance(result, dict):
        area, headers = _area(result)
        return json_response(area, headers=headers)
    return json_response(
        {"proposal": result.as_dict()},
        202,
        headers={"Location": f"/api/proposals/{result.id}"},
    )


@router.get("/api/proposals")
def list_proposals(
    reg: Reg,
    user: Reader,
    state: Annotated[
        str, Query(pattern="^(pending|approved|rejected|all)$", description="which ones")
    ] = "pending",
) -> Any:
    """The status proposals in a state (pending by default), the oldest first."""
    return {"proposals": [p.as_dict() for p in reg.proposals(state)]}


@router.get("/api/proposals/{proposal_id}")
def get_proposal(proposal_id: ProposalId, reg: Reg, user: Reader) -> Any:
    """One status proposal and its decision, if made."""
    return reg.proposal(proposal_id).as_dict()


@router.post(
    "/api/proposals/{proposal_id}/approve",
    responses={
        409: {"description": "the lifecycle no longer allows it (`needs` says why)"},
        412: {"description": "decided meanwhile, or the area changed since the proposal"},
    },
)
def approve(
    proposal_id: ProposalId,
    reg: Reg,
    user: Decider,
    body: Approval | None = None,
) -> Response:
    """Approve a pending proposal: the status changes, with you as its actor."""
    reason = body.reason if body else None
    proposal, record = reg.approve_proposal(proposal_id, user=user, reason=reason)
    area, headers = _area(record)
    return json_response({"proposal": proposal.as_dict(), "record": area}, headers=headers)


@router.post("/api/proposals/{proposal_id}/reject")
def reject(
    proposal_id: ProposalId,
    body: Rejection,
    reg: Reg,
    user: Decider,
) -> Any:
    """Reject a pending proposal, saying why."""
    return {"proposal": reg.reject_proposal(proposal_id, user=user, reason=body.reason).as_dict()}
