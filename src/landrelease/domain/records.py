"""The records of the registry and the schema every edge (store, import, export) derives from.

Each record kind is a dataclass; the metadata of its fields (`kind`, `codes`, `required`) is the
one description of the data model, read by the store to build its tables and by the importers to
check what arrives.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from landrelease.domain import codes as c

FieldKind = Literal["text", "int", "float", "date", "code", "codes", "bool"]


def _f(
    kind: FieldKind,
    *,
    required: bool = False,
    codes: type[StrEnum] | None = None,
    default: Any = None,
    doc: str = "",
) -> Any:
    return field(
        default=default,
        metadata={"kind": kind, "required": required, "codes": codes, "doc": doc},
    )


@dataclass
class HazardArea:
    """A suspected or confirmed hazardous area: the perimeter and what is known of it."""

    ref: str | None = _f("text", doc="unique reference, generated as <COUNTRY>-<YEAR>-<serial>")
    name: str | None = _f("text")
    status: str = _f("code", codes=c.Status, default=c.Status.SUSPECTED.value)
    hazard_type: str = _f("code", codes=c.HazardType, default=c.HazardType.SHA.value)
    contamination: tuple[str, ...] = _f(
        "codes", codes=c.ContaminationCategory, default=(), doc="contamination categories"
    )
    land_use: str | None = _f("code", codes=c.LandUse)
    evidence: str | None = _f("text")
    reported_on: dt.date | None = _f("date")
    source_org: str | None = _f("text", doc="reporting organisation")
    admin_area: str | None = _f("text")
    notes: str | None = _f("text")
    area_m2: float | None = _f("float", doc="computed in an equal-area projection")
    version: int = _f("int", default=0)
    geometry: Any = None


@dataclass
class ContaminationEvent:
    """Devices believed to have been emplaced in an area: how many, of which profile, when."""

    ref: str | None = _f("text")
    area_ref: str | None = _f("text", required=True)
    profile_id: str | None = _f("text", required=True, doc="device profile of residual/")
    quantity_low: int | None = _f("int")
    quantity_best: int | None = _f("int", required=True)
    quantity_high: int | None = _f("int")
    emplaced_on: dt.date | None = _f("date", required=True, doc="date, or start of a range")
    emplaced_until: dt.date | None = _f("date", doc="end of the date range, if any")
    source: str | None = _f("text")
    confidence: str | None = _f("code", codes=c.Confidence)
    notes: str | None = _f("text")
    version: int = _f("int", default=0)
    geometry: Any = None


@dataclass
class Activity:
    """A survey, clearance, EOD, QA or handover activity on an area, with its outcome in m2."""

    ref: str | None = _f("text")
    area_ref: str | None = _f("text", required=True)
    activity_type: str | None = _f("code", required=True, codes=c.ActivityType)
    status: str = _f("code", codes=c.ActivityStatus, default=c.ActivityStatus.OPEN.value)
    organisation: str | None = _f("text")
    start_date: dt.date | None = _f("date")
    end_date: dt.date | None = _f("date")
    cancelled_m2: float | None = _f("float")
    reduced_m2: float | None = _f("float")
    cleared_m2: float | None = _f("float")
    evidence_found: bool | None = _f("bool", doc="did the activity find evidence of EO")
    notes: str | None = _f("text")
    version: int = _f("int", default=0)
    geometry: Any = None


@dataclass
class Item:
    """An explosive ordnance item found: category, condition, where and when."""

    ref: str | None = _f("text")
    area_ref: str | None = _f("text")
    activity_ref: str | None = _f("text")
    category: str | None = _f("code", required=True, codes=c.ItemCategory)
    description: str | None = _f("text")
    quantity: int = _f("int", default=1)
    state: str | None = _f("code", required=True, codes=c.ItemState)
    found_on: dt.date | None = _f("date")
    notes: str | None = _f("text")
    version: int = _f("int", default=0)
    geometry: Any = None


@dataclass
class Accident:
    """An explosive ordnance accident and its casualties (sensitive: never published)."""

    ref: str | None = _f("text")
    area_ref: str | None = _f("text")
    occurred_on: dt.date | None = _f("date", required=True)
    device_category: str | None = _f("code", codes=c.ItemCategory, default="unknown")
    killed_civilian: int = _f("int", default=0)
    injured_civilian: int = _f("int", default=0)
    killed_deminer: int = _f("int", default=0)
    injured_deminer: int = _f("int", default=0)
    age_group: str | None = _f("code", codes=c.AgeGroup, default="unknown")
    sex: str | None = _f("code", codes=c.Sex, default="unknown")
    notes: str | None = _f("text")
    version: int = _f("int", default=0)
    geometry: Any = None


@dataclass
class RiskEducationSession:
    """An explosive ordnance risk education (EORE) session: who held it, how, for how many."""

    ref: str | None = _f("text")
    organisation: str | None = _f("text", required=True, doc="organisation that held it")
    held_on: dt.date | None = _f("date", required=True)
    method: str | None = _f("code", required=True, codes=c.EoreMethod)
    admin_area: str | None = _f("text")
    girls: int = _f("int", default=0, doc="girls in the audience")
    boys: int = _f("int", default=0, doc="boys in the audience")
    women: int = _f("int", default=0, doc="women in the audience")
    men: int = _f("int", default=0, doc="men in the audience")
    notes: str | None = _f("text")
    version: int = _f("int", default=0)
    geometry: Any = None


GeometryKind = Literal["polygon", "point"] | None


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: FieldKind
    required: bool
    codes: type[StrEnum] | None
    default: Any
    doc: str


@dataclass(frozen=True)
class RecordKind:
    """How one kind of record is named, stored and checked."""

    name: str  # the CLI's --kind
    table: str
    cls: type
    ref_code: str  # middle part of generated refs ("" for hazards)
    geometry: GeometryKind
    geometry_required: bool
    date_field: str | None  # the date giving a generated ref its year

    @functools.cached_property  # read on every request of the service: made once
    def fields(self) -> tuple[FieldSpec, ...]:
        return tuple(
            FieldSpec(
                f.name,
                f.metadata["kind"],
                f.metadata["required"],
                f.metadata["codes"],
                f.default,
                f.metadata["doc"],
            )
            for f in dataclasses.fields(self.cls)
            if f.name != "geometry"
        )

    @functools.cached_property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> FieldSpec:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


HAZARDS = RecordKind("hazards", "hazard_areas", HazardArea, "", "polygon", True, "reported_on")
EVENTS = RecordKind(
    "events", "contamination_events", ContaminationEvent, "EV", None, False, "emplaced_on"
)
ACTIVITIES = RecordKind("activities", "activities", Activity, "ACT", "polygon", False, "start_date")
ITEMS = RecordKind("items", "items", Item, "ITM", "point", True, "found_on")
ACCIDENTS = RecordKind("accidents", "accidents", Accident, "ACC", "point", True, "occurred_on")
EORE = RecordKind("eore", "eore_sessions", RiskEducationSession, "RE", "point", True, "held_on")

KINDS: dict[str, RecordKind] = {
    k.name: k for k in (HAZARDS, EVENTS, ACTIVITIES, ITEMS, ACCIDENTS, EORE)
}

# Fields the registry computes or controls; an import may not set them.
SYSTEM_FIELDS = frozenset({"version", "area_m2"})


def kind_named(name: str) -> RecordKind:
    """Return the record kind called `name` (hazards, events, activities, items, accidents,
    eore)."""
    try:
        return KINDS[name]
    except KeyError:
        from landrelease.domain.errors import ValidationError

        raise ValidationError(
            None, "kind", f"unknown kind {name!r}; use one of {', '.join(KINDS)}"
        ) from None
