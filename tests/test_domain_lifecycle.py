"""The land-release status lifecycle, checked against the table of shared/DOMAIN.md.

The oracle below is written from the table, independently of `domain/lifecycle.py`; every
pair of statuses is tried with every combination of facts, with and without a reason.
"""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from landrelease.domain.codes import Status
from landrelease.domain.errors import IllegalTransition, ValidationError
from landrelease.domain.lifecycle import AreaFacts, check_new, check_transition, parse_status
from landrelease.domain.records import HAZARDS
from landrelease.domain.validate import parser_for

S = Status
CLOSED = {S.CANCELLED, S.REDUCED, S.CLEARED, S.RELEASED}
FACT_NAMES = [f.name for f in dataclasses.fields(AreaFacts)]
ALL_FACTS = [
    AreaFacts(**dict(zip(FACT_NAMES, bits, strict=True)))
    for bits in itertools.product((False, True), repeat=len(FACT_NAMES))
]


def allowed(current: Status, target: Status, facts: AreaFacts, reason: bool) -> bool:
    """The DOMAIN.md table, row by row."""
    if current == target:
        return False
    if current in CLOSED and target in (S.SUSPECTED, S.CONFIRMED):
        return reason  # re-opening with a reason
    if (current, target) == (S.SUSPECTED, S.CONFIRMED):
        return facts.direct_evidence or reason
    if (current, target) == (S.SUSPECTED, S.CANCELLED):
        return facts.completed_nts
    if current in (S.SUSPECTED, S.CONFIRMED) and target is S.IN_PROGRESS:
        return facts.open_ts_or_clearance
    if (current, target) == (S.IN_PROGRESS, S.REDUCED):
        return facts.completed_ts_without_evidence
    if (current, target) == (S.IN_PROGRESS, S.CLEARED):
        return facts.completed_clearance
    if current in (S.CANCELLED, S.REDUCED, S.CLEARED) and target is S.RELEASED:
        return facts.completed_handover
    return False


@pytest.mark.parametrize(
    ("current", "target"),
    list(itertools.product(Status, Status)),
    ids=lambda s: s.value,
)
def test_every_transition_follows_the_table(current: Status, target: Status) -> None:
    for facts in ALL_FACTS:
        for reason in (None, "", "   ", "mine found by a farmer"):
            has_reason = bool(reason and reason.strip())
            expected = allowed(current, target, facts, has_reason)
            try:
                check_transition("HZ-1", current, target, facts, reason)
                got = True
            except IllegalTransition as exc:
                got = False
                assert exc.ref == "HZ-1"
                assert exc.from_status == current.value
                assert exc.to_status == target.value
                assert exc.needs
            assert got == expected, (current, target, facts, reason)


def test_every_status_has_a_way_forward_or_back() -> None:
    """No status is a dead end: from each, some transition is legal with some facts."""
    for current in Status:
        assert any(allowed(current, t, f, True) for t in Status for f in ALL_FACTS), current


@pytest.mark.parametrize(
    ("current", "target", "needs"),
    [
        (S.SUSPECTED, S.CANCELLED, "non-technical survey"),
        (S.SUSPECTED, S.IN_PROGRESS, "open technical survey"),
        (S.CONFIRMED, S.IN_PROGRESS, "clearance"),
        (S.IN_PROGRESS, S.REDUCED, "evidence_found = false"),
        (S.IN_PROGRESS, S.CLEARED, "completed clearance"),
        (S.CLEARED, S.RELEASED, "handover"),
        (S.SUSPECTED, S.CONFIRMED, "direct evidence"),
        (S.RELEASED, S.SUSPECTED, "reason"),
        (S.SUSPECTED, S.SUSPECTED, "already"),
    ],
)
def test_refusal_names_area_statuses_and_what_would_make_it_legal(
    current: Status, target: Status, needs: str
) -> None:
    with pytest.raises(IllegalTransition) as info:
        check_transition("UA-2024-00007", current, target, AreaFacts(), None)
    msg = str(info.value)
    assert msg.startswith("UA-2024-00007: ")
    assert f"{current.value!r}" in msg and f"{target.value!r}" in msg
    assert needs in msg


def test_a_step_the_lifecycle_lacks_lists_the_legal_ones() -> None:
    with pytest.raises(IllegalTransition) as info:
        check_transition("HZ", S.SUSPECTED, S.CLEARED, AreaFacts(completed_clearance=True), "x")
    msg = str(info.value)
    assert "no step" in msg
    for legal in ("confirmed", "cancelled", "in_progress"):
        assert legal in msg


@pytest.mark.parametrize("status", [S.SUSPECTED, S.CONFIRMED])
def test_a_new_area_may_start_suspected_or_confirmed_with_evidence(status: Status) -> None:
    check_new("HZ", status, "mine seen by a farmer")


def test_a_new_suspected_area_needs_no_evidence_field() -> None:
    check_new("HZ", S.SUSPECTED, None)


@pytest.mark.parametrize("evidence", [None, "", "   "])
def test_a_new_confirmed_area_needs_evidence(evidence: str | None) -> None:
    with pytest.raises(IllegalTransition) as info:
        check_new("HZ", S.CONFIRMED, evidence)
    assert info.value.from_status == "(new)"
    assert "evidence" in str(info.value)


@pytest.mark.parametrize("status", sorted(set(Status) - {S.SUSPECTED, S.CONFIRMED}))
def test_a_new_area_cannot_start_in_a_later_status(status: Status) -> None:
    with pytest.raises(IllegalTransition) as info:
        check_new("HZ", status, "plenty of evidence")
    assert info.value.to_status == status.value


@pytest.mark.parametrize(
    ("text", "expected"),
    [("suspected", S.SUSPECTED), ("  Confirmed ", S.CONFIRMED), ("IN_PROGRESS", S.IN_PROGRESS)],
)
def test_parse_status_accepts_case_and_space_variants(text: str, expected: Status) -> None:
    assert parse_status(text) is expected


def test_parse_status_refuses_unknown_codes_listing_the_known() -> None:
    with pytest.raises(ValidationError) as info:
        parse_status("destroyed", "HZ-9")
    assert info.value.record == "HZ-9"
    assert info.value.field == "status"
    assert "suspected" in str(info.value) and "released" in str(info.value)


@pytest.mark.parametrize("text", ["in progress", "in-progress"])
def test_parse_status_agrees_with_the_import_parser(text: str) -> None:
    imported = parser_for(HAZARDS.field("status"))(text)
    assert parse_status(text).value == imported
