"""The records API's request bodies and responses as pydantic models: what /openapi.json shows.

The models of each record kind are made from its fields (`domain.records`), so the API's schema
follows the data model. Request models only type the JSON (dates, codes, numbers) and refuse
unknown fields; every rule a record must meet is the registry's, checked as an import is.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model, field_validator

from landrelease.domain.records import SYSTEM_FIELDS, FieldSpec, RecordKind
from landrelease.records_json import GEOMETRY_TYPES, STAMP

INT64 = 2**63 - 1  # the largest whole number the registry stores


def _unicode(text: str) -> str:
    """Return `text` if it can be stored (UTF-8); JSON escapes may carry lone surrogates."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("not valid Unicode text (a lone surrogate escape)") from None
    return text


Text = Annotated[str, AfterValidator(_unicode)]
Whole = Annotated[int, Field(ge=-INT64, le=INT64)]
Reason = Annotated[
    Text | None, Field(description="why: kept in the record's history", max_length=2000)
]

GEOJSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "a GeoJSON geometry (RFC 7946), longitude before latitude (EPSG:4326)",
    "required": ["type"],
    "properties": {
        "type": {"type": "string", "enum": sorted(GEOMETRY_TYPES)},
        "coordinates": {"type": "array", "items": {}},
        "geometries": {"type": "array", "items": {"type": "object"}},
    },
}
GeoJSON = Annotated[dict[str, Any], Field(json_schema_extra=GEOJSON_SCHEMA)]


class Body(BaseModel):
    """A request body: a field it does not know is refused (422 naming it)."""

    model_config = ConfigDict(extra="forbid")


# -- record kinds ---------------------------------------------------------------------------


def _codes(spec: FieldSpec) -> Any:
    assert spec.codes is not None
    return Literal[tuple(c.value for c in spec.codes)]


def _input_type(spec: FieldSpec) -> Any:
    """Return the JSON type of a field in a request (always nullable: null clears it)."""
    base: Any = {
        "text": Text,
        "int": Whole,
        "float": float,
        "date": dt.date,
        "bool": bool,
    }.get(spec.kind)
    if spec.kind == "code":
        base = _codes(spec)
    elif spec.kind == "codes":
        base = list[_codes(spec)]  # type: ignore[misc]
    return base | None


def _output_type(spec: FieldSpec) -> Any:
    """Return the JSON type of a stored field in a response."""
    if spec.kind == "codes":
        return list[str]
    # A date, or a code, edited outside landrelease is given as it is stored.
    return {"int": int, "float": float, "bool": bool}.get(spec.kind, str) | None


def _description(spec: FieldSpec) -> str | None:
    parts = [spec.doc] if spec.doc else []
    if spec.required:
        parts.append("required")
    if spec.codes is not None:
        parts.append("codes: " + ", ".join(c.value for c in spec.codes))
    return "; ".join(parts) or None


def _geometry_doc(kind: RecordKind) -> str:
    shape = {"polygon": "Polygon or MultiPolygon", "point": "Point"}[kind.geometry or "point"]
    need = "required" if kind.geometry_required else "optional"
    return f"a GeoJSON {shape} in EPSG:4326 (longitude, latitude); {need}"


def _input_fields(kind: RecordKind, *, changes: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for spec in kind.fields:
        if spec.name in SYSTEM_FIELDS or (changes and spec.name == "ref"):
            continue
        fields[spec.name] = (
            _input_type(spec),
            Field(None, description=_description(spec)),
        )
    if kind.geometry is not None:
        fields["geometry"] = (GeoJSON | None, Field(None, description=_geometry_doc(kind)))
    if changes and kind.name == "hazards":
        # Named, so that sending it is refused with the way to do it (not "extra input").
        fields["status"] = (
            Any,
            Field(
                None,
                description=f"not changed here: {STATUS_WAY}",
                json_schema_extra={"readOnly": True},
            ),
        )
    return fields


STATUS_WAY = "POST /api/hazards/{ref}/status, where the lifecycle checks it"


def _not_here(value: Any) -> Any:
    raise ValueError(f"a hazard area's status changes through {STATUS_WAY}")


class KindModels:
    """The models of one record kind: the record, a new one, its changes, a page of them."""

    def __init__(self, kind: RecordKind) -> None:
        name = kind.cls.__name__
        self.kind = kind
        out: dict[str, Any] = {
            spec.name: (_output_type(spec), Field(..., description=_description(spec)))
            for spec in kind.fields
        }
        out["ref"] = (str, Field(..., description="the record's reference"))
        out["version"] = (int, Field(..., description='the version; its ETag is "<version>"'))
        if kind.geometry is not None:
            out["geometry"] = (GeoJSON | None, Field(None, description=_geometry_doc(kind)))
        out.update(
            changed_at=(str | None, Field(None, description="when it last changed (UTC)")),
            changed_by=(str | None, Field(None, description="who changed it last")),
            needs_check=(
                bool | None,
                Field(None, description="changed outside landrelease and not checked since"),
            ),
        )
        assert set(STAMP) <= set(out)
        self.record: type[BaseModel] = create_model(
            name,
            __config__=ConfigDict(extra="allow"),
            __doc__=kind.cls.__doc__,
            **out,
        )
        self.fields: type[BaseModel] = create_model(
            f"New{name}",
            __base__=Body,
            __doc__=f"The fields of a new {kind.name} record; the registry checks them.",
            **_input_fields(kind, changes=False),
        )
        validators: dict[str, Any] = {}
        if "status" in kind.field_names and kind.name == "hazards":
            validators["status_not_here"] = field_validator("status")(_not_here)
        self.changes: type[BaseModel] = create_model(
            f"{name}Changes",
            __base__=Body,
            __doc__="The fields to change (null clears one); the others stay as they are.",
            __validators__=validators,
            **_input_fields(kind, changes=True),
        )
        self.create: type[BaseModel] = create_model(
            f"Create{name}",
            __base__=Body,
            record=(self.fields, Field(..., description="the new record")),
            reason=(Reason, None),
        )
        self.update: type[BaseModel] = create_model(
            f"Update{name}",
            __base__=Body,
            changes=(self.changes, Field(..., description="the fields to change")),
            reason=(Reason, None),
        )
        self.page: type[BaseModel] = create_model(
            f"{name}Page",
            items=(list[self.record], ...),  # type: ignore[name-defined]
            numberMatched=(int, Field(..., description="records matching the query")),
            numberReturned=(int, Field(..., description="records on this page")),
            limit=(int, ...),
            offset=(int, ...),
            links=(list[Link], ...),
        )


class Link(BaseModel):
    """A link to this page, or the next or previous one."""

    href: str
    rel: Literal["self", "next", "prev"]
    type: str = "application/json"


MODELS: dict[str, KindModels] = {}


def models_of(kind: RecordKind) -> KindModels:
    """Return the models of a record kind (made once)."""
    if kind.name not in MODELS:
        MODELS[kind.name] = KindModels(kind)
    return MODELS[kind.name]


# -- other bodies and responses -------------------------------------------------------------


class Revert(Body):
    """Restore an earlier version of a record, as a new version."""

    version: int = Field(..., ge=1, le=INT64, description="the version to restore")
    reason: Reason = None


class HistoryVersion(BaseModel):
    """One version of a record: who made it, when, how, why, and what it changed."""

    model_config = ConfigDict(extra="allow")

    kind: str
    ref: str
    version: int
    at: str | None
    actor: str | None
    action: str | None
    reason: str | None
    changes: dict[str, list[Any]] = Field(description="field: [before, after]")


class History(BaseModel):
    """Every version of a record, oldest first."""

    ref: str
    versions: list[HistoryVersion]


class ResidualStageShift(BaseModel):
    """How far an area's finds moved one stage of a device profile: the stage's failure
    fraction (its median and 5-95% range) before and after the finds."""

    model_config = ConfigDict(extra="allow")

    profile_id: str
    stage: Literal["dud", "self_destruct", "self_deactivate"]
    live: int = Field(description="devices found that failed at this stage (still live)")
    inert: int = Field(description="devices found that did not fail at this stage")
    prior_strength: float = Field(
        description="how many devices' worth of evidence the profile's figure counts as"
    )
    before: float = Field(description="the failure fraction's median before the finds")
    after: float = Field(description="its median after the finds")
    before_range: list[float] = Field(
        min_length=2, max_length=2, description="its 5th and 95th percentiles before"
    )
    after_range: list[float] = Field(
        min_length=2, max_length=2, description="its 5th and 95th percentiles after"
    )


class Residual(BaseModel):
    """The residual-hazard estimate of an area (as `landrelease residual area --json`).

    Two ranges, named apart: `expected_live_p05`..`expected_live_p95` is the range of the
    expected count over the profiles' uncertainty; `actual_live_low`..`actual_live_high`
    is the 90% range of the number of devices actually live (it adds which devices survive)."""

    model_config = ConfigDict(extra="allow")

    area_ref: str
    at: str
    expected_live: float = Field(description="expected live devices, at the profiles' figures")
    expected_live_monte_carlo: float
    expected_live_p05: float = Field(description="the expected count's 5th percentile")
    expected_live_p95: float = Field(description="the expected count's 95th percentile")
    actual_live_low: int = Field(description="the actual number live: its 90% range's low end")
    actual_live_high: int = Field(description="the actual number live: its 90% range's high end")
    p_any_live: float
    safe_date: str | None
    safe_date_reason: str | None
    threshold: float
    draws: int
    seed: int | None
    profiles: list[str]
    events: list[str]
    items_found: int
    cleared_share: float
    notes: list[str]
    finds_moved: list[ResidualStageShift] = Field(
        description="per stage the area's finds updated: how far they moved it"
    )


class ResidualFraction(BaseModel):
    """An uncertain fraction of a device profile: the stated figures, their source, and the
    model's distribution (median, mean, 5-95% range, prior strength)."""

    model_config = ConfigDict(extra="allow")

    kind: str
    source: str
    evidence: str
    best: float | None = None
    low: float | None = None
    high: float | None = None
    range_quantiles: list[float] | None = Field(
        None, description="which quantiles the stated low and high are (e.g. [0.05, 0.95])"
    )
    range_note: str
    point: float = Field(description="the figure point estimates use: the median")
    mean: float
    sd: float
    p05: float = Field(description="the model's 5th percentile")
    p95: float = Field(description="the model's 95th percentile")
    prior_strength: float = Field(description="devices' worth of evidence the figure counts as")
    prior_strength_reason: str
    found_live: int
    found_inert: int


class ResidualSelfDestruct(BaseModel):
    """Self-destruction between `earliest_days` and `latest_days`, and the share that fails."""

    model_config = ConfigDict(extra="allow")

    earliest_days: float
    latest_days: float
    fail: ResidualFraction
    kind: str
    source: str
    evidence: str
    note: str


class ResidualSelfDeactivate(BaseModel):
    """Self-deactivation on day `days`, and the share that fails."""

    model_config = ConfigDict(extra="allow")

    days: float
    fail: ResidualFraction
    kind: str
    source: str
    evidence: str
    note: str


class ResidualProfile(BaseModel):
    """A device profile (as `landrelease residual profiles --json` lists it)."""

    model_config = ConfigDict(extra="allow")

    id: str
    name: str
    category: str
    category_label: str
    basis: str
    summary: str
    source: str
    dud: ResidualFraction | None
    self_destruct: ResidualSelfDestruct | None
    self_deactivate: ResidualSelfDeactivate | None
    floor: float = Field(description="the fraction that stays live indefinitely")
    persistent: bool


class ResidualProfiles(BaseModel):
    """Every device profile the residual model knows."""

    profiles: list[ResidualProfile]


class ResidualArea(BaseModel):
    """One hazard area's residual estimate in `GET /api/residual` (as `residual all`)."""

    model_config = ConfigDict(extra="allow")

    ref: str
    name: str | None
    status: str | None
    expected: float = Field(description="expected live devices (Monte Carlo mean)")
    expected_p05: float = Field(description="the expected count's 5th percentile")
    expected_p95: float = Field(description="the expected count's 95th percentile")
    actual_low: int = Field(description="the actual number live: its 90% range's low end")
    actual_high: int = Field(description="the actual number live: its 90% range's high end")
    p_any_live: float
    safe_date: str | None
    finds_used: bool = Field(description="whether the area's finds updated a profile")


class ResidualAll(BaseModel):
    """The residual estimate of every hazard area with contamination events, at one date,
    from one run (the same seed repeats it)."""

    model_config = ConfigDict(extra="allow")

    at: str
    threshold: float
    draws: int
    seed: int
    areas: list[ResidualArea]


class Summary(BaseModel):
    """Counts per kind, hazard areas per status and their total area."""

    model_config = ConfigDict(extra="allow")

    hazards: int
    events: int
    activities: int
    items: int
    accidents: int
    hazards_by_status: dict[str, int]
    hazard_area_km2: float
    country: str


class ImportReport(BaseModel):
    """What an import did (as `landrelease import --json`)."""

    model_config = ConfigDict(extra="allow")

    imported: int
    kind: str
    source: str
    refs: list[str]
    rejected: int
    rejected_file: str | None
    repairs: list[str]
    warnings: list[str]
    ignored_columns: list[str]


class Problem(BaseModel):
    """An error as RFC 9457 problem details; `record` and `field` say where it lies."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    record: str | None = None
    field: str | None = None


PROBLEM_JSON = "application/problem+json"

WHY: dict[int, str] = {
    400: "malformed request (a body or an If-Match header that cannot be read)",
    401: "no credentials, or unknown ones",
    403: "the user's role lacks the permission",
    404: "no such record",
    409: "a duplicate geometry",
    412: "the record changed since it was read (If-Match is stale)",
    413: "the upload is larger than the server accepts",
    422: "invalid input: the problem names the record and the field",
    428: "If-Match is required",
    503: "the registry is busy or read-only; retry",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Return the OpenAPI `responses` of these error statuses: problem+json bodies."""
    schema = Problem.model_json_schema()
    return {
        s: {"description": WHY[s], "content": {PROBLEM_JSON: {"schema": schema}}} for s in statuses
    }


ETAG_HEADER = {
    "ETag": {
        "description": 'the record\'s version, quoted ("3"): send it back as If-Match',
        "schema": {"type": "string"},
    }
}
