"""Code lists of the registry: statuses, hazard types, categories, activity types.

Each code list is a `StrEnum`, so a code is stored and exchanged as its plain string value.
"""

from __future__ import annotations

from enum import StrEnum


def code_key(value: object) -> str:
    """Return the form codes are matched in: trimmed, lower case, spaces and hyphens as '_'."""
    return str(value).strip().lower().replace(" ", "_").replace("-", "_")


class Status(StrEnum):
    """Land-release status of a hazardous area (IMAS 07.11)."""

    SUSPECTED = "suspected"
    CONFIRMED = "confirmed"
    IN_PROGRESS = "in_progress"
    CANCELLED = "cancelled"
    REDUCED = "reduced"
    CLEARED = "cleared"
    RELEASED = "released"


OPEN_STATUSES = frozenset({Status.SUSPECTED, Status.CONFIRMED, Status.IN_PROGRESS})
CLOSED_STATUSES = frozenset({Status.CANCELLED, Status.REDUCED, Status.CLEARED, Status.RELEASED})


class HazardType(StrEnum):
    """SHA: indirect evidence of contamination; CHA: direct evidence."""

    SHA = "SHA"
    CHA = "CHA"


class ContaminationCategory(StrEnum):
    """Kinds of explosive ordnance contaminating an area."""

    AP_MINE = "ap_mine"
    AV_MINE = "av_mine"
    CMR = "cmr"
    UXO = "uxo"
    AXO = "axo"
    IED = "ied"


class LandUse(StrEnum):
    """What the land is (or would be) used for: blocked resources."""

    AGRICULTURAL = "agricultural"
    PASTURE = "pasture"
    RESIDENTIAL = "residential"
    INFRASTRUCTURE = "infrastructure"
    INDUSTRIAL = "industrial"
    FOREST = "forest"
    WATER = "water"
    OTHER = "other"


class Confidence(StrEnum):
    """How far a contamination event's figures can be trusted."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class ActivityType(StrEnum):
    """Land-release activities; `handover` is the completion report that releases land."""

    NTS = "nts"
    TS = "ts"
    CLEARANCE = "clearance"
    EOD = "eod"
    QA = "qa"
    HANDOVER = "handover"


class ActivityStatus(StrEnum):
    PLANNED = "planned"
    OPEN = "open"
    COMPLETED = "completed"


class ItemCategory(StrEnum):
    """Explosive ordnance categories for items found and accidents."""

    AP_MINE = "ap_mine"
    AV_MINE = "av_mine"
    SUBMUNITION = "submunition"
    UXO = "uxo"
    AXO = "axo"
    IED = "ied"
    OTHER = "other"
    UNKNOWN = "unknown"


class ItemState(StrEnum):
    LIVE = "live"
    INERT = "inert"
    DESTROYED = "destroyed"


class AgeGroup(StrEnum):
    CHILD = "child"
    ADULT = "adult"
    ELDERLY = "elderly"
    MIXED = "mixed"
    UNKNOWN = "unknown"


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    MIXED = "mixed"
    UNKNOWN = "unknown"


class EoreMethod(StrEnum):
    """How an explosive ordnance risk education session was delivered (IMAS 12.10)."""

    INTERPERSONAL = "interpersonal"
    MASS_MEDIA = "mass_media"
    DIGITAL = "digital"
    OTHER = "other"
