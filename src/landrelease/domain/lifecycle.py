"""The land-release status lifecycle of a hazardous area (IMAS 07.11, landrelease's rules).

`check_transition` is pure: the registry gathers the facts about an area (its activities, items
and accidents) into `AreaFacts` and asks whether a status change is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass

from landrelease.domain.codes import CLOSED_STATUSES, Status, code_key
from landrelease.domain.errors import IllegalTransition, ValidationError


@dataclass(frozen=True)
class AreaFacts:
    """What is recorded about an area that the lifecycle rules depend on."""

    completed_nts: bool = False
    open_ts_or_clearance: bool = False
    completed_ts_without_evidence: bool = False
    completed_clearance: bool = False
    completed_handover: bool = False
    direct_evidence: bool = False  # an item or accident recorded in the area


def parse_status(value: object, record: str | None = None) -> Status:
    """Return `value` as a Status, or raise ValidationError listing the known codes."""
    try:
        return Status(code_key(value))
    except ValueError:
        known = ", ".join(s.value for s in Status)
        raise ValidationError(
            record, "status", f"unknown status {value!r}; use one of {known}"
        ) from None


def check_new(ref: str, status: Status, evidence: str | None) -> None:
    """Raise IllegalTransition unless a new area may start in `status`."""
    if status not in (Status.SUSPECTED, Status.CONFIRMED):
        raise IllegalTransition(
            ref,
            "(new)",
            status.value,
            "a new hazardous area starts as 'suspected' or 'confirmed'; record the activities "
            "that change its status afterwards",
        )
    if status is Status.CONFIRMED and not (evidence and evidence.strip()):
        raise IllegalTransition(
            ref,
            "(new)",
            status.value,
            "a confirmed area needs its direct evidence stated in the 'evidence' field",
        )


def check_transition(
    ref: str, current: Status, target: Status, facts: AreaFacts, reason: str | None
) -> None:
    """Raise IllegalTransition unless `current` -> `target` is allowed by the facts."""
    has_reason = bool(reason and reason.strip())

    def refuse(needs: str) -> IllegalTransition:
        return IllegalTransition(ref, current.value, target.value, needs)

    if current == target:
        raise refuse(f"the area is already {current.value!r}")

    if current in CLOSED_STATUSES and target in (Status.SUSPECTED, Status.CONFIRMED):
        if not has_reason:
            raise refuse("re-opening a closed area needs a reason (--reason): the new evidence")
        return

    if current is Status.SUSPECTED and target is Status.CONFIRMED:
        if not (facts.direct_evidence or has_reason):
            raise refuse(
                "it needs direct evidence: an item or accident recorded in the area, "
                "or the evidence stated in --reason"
            )
        return
    if current is Status.SUSPECTED and target is Status.CANCELLED:
        if not facts.completed_nts:
            raise refuse("it needs a completed non-technical survey (nts) activity on the area")
        return
    if current in (Status.SUSPECTED, Status.CONFIRMED) and target is Status.IN_PROGRESS:
        if not facts.open_ts_or_clearance:
            raise refuse("it needs an open technical survey (ts) or clearance activity on the area")
        return
    if current is Status.IN_PROGRESS and target is Status.REDUCED:
        if not facts.completed_ts_without_evidence:
            raise refuse(
                "it needs a completed technical survey (ts) that found no evidence "
                "(evidence_found = false)"
            )
        return
    if current is Status.IN_PROGRESS and target is Status.CLEARED:
        if not facts.completed_clearance:
            raise refuse("it needs a completed clearance activity covering the area")
        return
    if current in (Status.CANCELLED, Status.REDUCED, Status.CLEARED) and target is Status.RELEASED:
        if not facts.completed_handover:
            raise refuse("it needs a completed handover activity (the completion report)")
        return

    raise refuse(
        f"the lifecycle has no step from {current.value!r} to {target.value!r}; "
        + _legal_from(current)
    )


def _legal_from(current: Status) -> str:
    nxt = {
        Status.SUSPECTED: "confirmed, cancelled, in_progress",
        Status.CONFIRMED: "in_progress",
        Status.IN_PROGRESS: "reduced, cleared",
        Status.CANCELLED: "released, or re-open as suspected/confirmed",
        Status.REDUCED: "released, or re-open as suspected/confirmed",
        Status.CLEARED: "released, or re-open as suspected/confirmed",
        Status.RELEASED: "re-open as suspected/confirmed",
    }[current]
    return f"from {current.value!r} it can go to: {nxt}"
