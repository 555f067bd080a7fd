"""The review queue of field submissions: the use cases behind the Registry's "submissions"
and "review" methods.

A field team's submissions (ODK Central, KoboToolbox) are read by `field.submissions`,
queued here with the flags their checks raise (`field.flags`), and become records only when
a reviewer approves them: the records an approval writes (`field.mapping.plan`) go through
the registry's normal audited path in one transaction with the decision, the approver as the
actor and a reason naming the submission and its submitter. A flagged submission is approved
only once it is fixed (`edit_submission`) or with an override reason, which the review
history keeps. A submission already queued (its instance id) is never queued twice; an
edited submission (ODK's deprecatedID) replaces the pending one it edits.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
import shapely

from landrelease.domain.errors import ConflictError, NotFound, ValidationError
from landrelease.domain.geometry import area_m2
from landrelease.domain.records import HAZARDS, KINDS, kind_named
from landrelease.field.flags import Flag, flags
from landrelease.field.labels import code_label
from landrelease.field.mapping import Planned, plan
from landrelease.field.submission import Submission
from landrelease.store.base import UNCHANGED, now_utc
from landrelease.store.messages import RECORD_NOUNS

if TYPE_CHECKING:
    from landrelease.registry import Registry
    from landrelease.store import UnitOfWork

SUBMISSION_STATES = ("pending", "approved", "rejected")
# The GPS accuracy (metres) worse than which a point is flagged, unless the import names
# another (kept with each submission, so it is checked again by the same rule): the forms
# ask ODK Collect for 10 m before it accepts a point.
DEFAULT_ACCURACY_M = 10.0
FAR_M = 1000.0  # an item or accident further than this from its area is flagged


@dataclass(frozen=True)
class QueueReport:
    """What an import of submissions did: queued, already queued, replaced by their edits."""

    source: str
    queued: list[int] = field(default_factory=list)
    flagged: list[int] = field(default_factory=list)
    duplicates: list[dict[str, Any]] = field(default_factory=list)  # instance_id, id, state
    replaced: list[int] = field(default_factory=list)  # pending ids their edits replaced

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- reading the queue -------------------------------------------------------------------------


def _payload(sub: Submission, limit_m: float) -> str:
    return orjson.dumps(
        {
            "values": sub.values,
            "repeats": sub.repeats,
            "deprecated_id": sub.deprecated_id,
            "accuracy_limit_m": limit_m,
        },
        option=orjson.OPT_SORT_KEYS,
    ).decode()


def _limit(row: dict[str, Any]) -> float:
    """Return the GPS accuracy limit a queued submission is checked by."""
    return float(orjson.loads(row["payload"]).get("accuracy_limit_m", DEFAULT_ACCURACY_M))


def _submission(row: dict[str, Any]) -> Submission:
    """Return the Submission a queued row holds."""
    body = orjson.loads(row["payload"])
    return Submission(
        form_id=row["form_id"],
        instance_id=row["instance_id"],
        submitted_by=row["submitted_by"],
        submitted_at=row["submitted_at"],
        values=body["values"],
        repeats=body["repeats"],
        source=row["source"] or "",
        deprecated_id=body.get("deprecated_id"),
    )


def accuracy_limit(given: float | None = None) -> float:
    """Return the GPS accuracy limit in metres: `given`, else DEFAULT_ACCURACY_M."""
    if given is None:
        return DEFAULT_ACCURACY_M
    if not given > 0 or given == float("inf"):
        raise ValidationError(None, "accuracy_limit", f"{given} m is not a positive limit")
    return float(given)


def _country_shape(reg: Registry) -> Any:
    c = reg.country
    return c.boundary if c.boundary is not None else shapely.box(*c.bbox)


def _checked(
    reg: Registry, uow: UnitOfWork, sub: Submission, limit_m: float
) -> tuple[list[Planned], list[Flag]]:
    """Return what `sub` would write and every flag it raises against the registry now."""
    planned = plan(sub)
    areas = uow.records(HAZARDS)

    def area_of(ref: str) -> Any:
        try:
            return areas.get(ref).get("geometry")
        except NotFound:
            return None

    found = flags(
        sub,
        planned,
        today=dt.datetime.now(dt.UTC).date(),
        country=_country_shape(reg),
        accuracy_limit_m=limit_m,
        area_of=area_of,
        far_m=FAR_M,
    )
    found += _unknown_refs(uow, planned)
    found += _refused_edits(reg, uow, planned, {f.field for f in found})
    return planned, found


def _refused_edits(
    reg: Registry, uow: UnitOfWork, planned: list[Planned], flagged: set[str]
) -> list[Flag]:
    """Flag what the registry's checks would refuse in an edit of a stored record (a confirmed
    area made an SHA, say), unless a flag names that answer already."""
    from landrelease.checking import check_edit

    out: list[Flag] = []
    for p in planned:
        if p.ref is None:
            continue
        k = kind_named(p.kind)
        try:
            current = uow.records(k).get(p.ref)
        except NotFound:
            continue  # flagged as an unknown ref
        geometry = UNCHANGED if p.geometry is None else p.geometry
        try:
            check_edit(uow, reg.country, k, p.ref, _merged(current, p), geometry)
        except ValidationError as exc:
            if exc.field not in flagged:
                out.append(Flag("refused_edit", exc.field or "", f"{p.ref}: {exc.message}"))
    return out


def _unknown_refs(uow: UnitOfWork, planned: list[Planned]) -> list[Flag]:
    """Flag an area or record ref the submission names that the registry does not hold."""
    out: list[Flag] = []
    seen: set[tuple[str, str]] = set()
    for p in planned:
        wanted = []
        if p.ref is not None:
            wanted.append((p.kind, p.ref, "activity_ref" if p.kind == "activities" else "area_ref"))
        area_ref = p.values.get("area_ref")
        if area_ref:
            wanted.append(("hazards", area_ref, "area_ref"))
        for kind, ref, name in wanted:
            if (kind, ref) in seen:
                continue
            seen.add((kind, ref))
            try:
                uow.records(kind_named(kind)).get(ref)
            except NotFound:
                noun = RECORD_NOUNS[kind]
                out.append(Flag("unknown_ref", name, f"no {noun} {ref} in the registry"))
    return out


def _flags_json(found: Iterable[Flag]) -> str:
    return orjson.dumps([asdict(f) for f in found]).decode()


@functools.cache
def code_labels() -> dict[str, dict[str, dict[str, dict[str, str]]]]:
    """Return the wording of every code of every kind's code fields, by language ("en",
    "uk"), kind and field: the forms' wording, so the review shows what the team chose."""
    out: dict[str, dict[str, dict[str, dict[str, str]]]] = {"en": {}, "uk": {}}
    for kind in KINDS.values():
        for spec in kind.fields:
            if spec.codes is None:
                continue
            for code in spec.codes:
                text = code_label(spec.codes.__name__, code.value)
                for lang in out:
                    fields = out[lang].setdefault(kind.name, {})
                    fields.setdefault(spec.name, {})[code.value] = getattr(text, lang)
    return out


def summary(row: dict[str, Any]) -> dict[str, Any]:
    """Return a queued submission as a list shows it: its columns, its flags parsed, its
    payload and refs left out but for the refs an approval wrote."""
    out = {k: v for k, v in row.items() if k not in ("payload", "flags", "refs")}
    out["flags"] = orjson.loads(row["flags"])
    out["refs"] = orjson.loads(row["refs"]) if row["refs"] else []
    return out


def submissions(reg: Registry, state: str | None = "pending") -> list[dict[str, Any]]:
    """Return the queued submissions in `state` (None: all), the oldest first."""
    if state is not None and state not in SUBMISSION_STATES:
        raise ValidationError(
            None, "state", f"unknown state {state!r}; use one of {', '.join(SUBMISSION_STATES)}"
        )
    with reg.store.unit_of_work() as uow:
        return [summary(r) for r in uow.submissions.select(state)]


def submission(reg: Registry, submission_id: int) -> dict[str, Any]:
    """Return one queued submission for review: what it says, the records an approval would
    write (with a field-by-field and geometry diff for a record it edits), its flags as the
    registry stands now, and its review history."""
    with reg.store.unit_of_work() as uow:
        row = uow.submissions.get(submission_id)
        sub = _submission(row)
        out = summary(row)
        out["values"] = sub.values
        out["repeats"] = sub.repeats
        out["accuracy_limit_m"] = _limit(row)
        if row["state"] == "pending":
            planned, found = _checked(reg, uow, sub, _limit(row))
            out["flags"] = [asdict(f) for f in found]
        else:
            planned = plan(sub)
        out["records"] = [_described(reg, uow, p) for p in planned]
        out["history"] = uow.submissions.events(submission_id)
    return out


def _described(reg: Registry, uow: UnitOfWork, p: Planned) -> dict[str, Any]:
    """Return a planned record as review shows it; for an edit, what it changes."""
    out: dict[str, Any] = {
        "kind": p.kind,
        "ref": p.ref,
        "action": "edit" if p.ref else "new",
        "values": {k: _plain(v) for k, v in p.values.items()},
        "geometry": None if p.geometry is None else orjson.loads(shapely.to_geojson(p.geometry)),
    }
    area_ref = p.values.get("area_ref")
    if area_ref and p.kind != "hazards":  # where its area lies, to see the two together
        try:
            area = uow.records(HAZARDS).get(area_ref).get("geometry")
        except NotFound:
            area = None
        if area is not None:
            out["area_geometry"] = orjson.loads(shapely.to_geojson(area))
    if p.ref is None:
        return out
    try:
        current = uow.records(kind_named(p.kind)).get(p.ref)
    except NotFound:
        return out
    k = kind_named(p.kind)
    out["changes"] = [
        {"field": name, "current": was, "proposed": now}
        for name, v in _merged(current, p).items()
        if (was := _comparable(k, name, current.get(name))) != (now := _comparable(k, name, v))
    ]
    out["geometry_change"] = geometry_diff(reg, current.get("geometry"), p.geometry)
    out["current_geometry"] = (
        None
        if current.get("geometry") is None
        else orjson.loads(shapely.to_geojson(current["geometry"]))
    )
    return out


def _merged(current: dict[str, Any], p: Planned) -> dict[str, Any]:
    """Return the values an edit writes over the `current` record: its notes are added to
    the record's notes, never put in their place."""
    values = dict(p.values)
    if values.get("notes") and current.get("notes"):
        values["notes"] = f"{current['notes']}\n\n{values['notes']}"
    return values


def _comparable(kind: Any, name: str, value: Any) -> Any:
    """Return a field's value as review compares and shows it: a list of codes as a list
    (the store keeps it as ';'-separated text), a date as text."""
    if name in kind.field_names and kind.field(name).kind == "codes" and isinstance(value, str):
        return [c for c in value.split(";") if c]
    return _plain(value)


def _plain(value: Any) -> Any:
    """Return `value` as JSON gives it back (dates as text, tuples as lists)."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def geometry_diff(reg: Registry, current: Any, proposed: Any) -> dict[str, Any] | None:
    """Return how a proposed geometry differs from the current one: areas before and after,
    area added and removed (m2), and the furthest a boundary moved (Hausdorff, metres)."""
    if proposed is None:
        return None
    if current is None:
        return {"current_m2": None, "proposed_m2": _m2(reg, proposed)}
    added = shapely.difference(proposed, current)
    removed = shapely.difference(current, proposed)
    return {
        "current_m2": _m2(reg, current),
        "proposed_m2": _m2(reg, proposed),
        "added_m2": _m2(reg, added),
        "removed_m2": _m2(reg, removed),
        "moved_m": round(_hausdorff_m(reg, current, proposed), 1),
        "same": bool(shapely.equals(current, proposed)),
    }


def _m2(reg: Registry, g: Any) -> float:
    value = float(area_m2(np.array([g], dtype=object), reg.country)[0])
    return 0.0 if np.isnan(value) else round(value, 1)


def _hausdorff_m(reg: Registry, a: Any, b: Any) -> float:
    from landrelease.domain.geometry import equal_area

    tr = equal_area(reg.country)

    def project(xy: np.ndarray) -> np.ndarray:
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    pa, pb = (shapely.transform(g, project, include_z=False) for g in (a, b))
    return float(shapely.hausdorff_distance(pa, pb))


# -- queueing ----------------------------------------------------------------------------------


def queue_submissions(
    reg: Registry,
    subs: list[Submission],
    *,
    actor: str,
    source: str,
    accuracy_limit_m: float | None = None,
) -> QueueReport:
    """Queue `subs` for review in one transaction: each new one pending with its flags, one
    already queued reported and left alone, an edit replacing the pending one it edits."""
    limit = accuracy_limit(accuracy_limit_m)
    report = QueueReport(source=source)
    at = now_utc()
    with reg.store.unit_of_work(write=True, note=f"field submissions queued by {actor}") as uow:
        queue = uow.submissions
        seen: set[str] = set()
        for sub in subs:
            known = queue.by_instance(sub.instance_id)
            if known is not None or sub.instance_id in seen:
                report.duplicates.append(
                    {
                        "instance_id": sub.instance_id,
                        "id": known["id"] if known else None,
                        "state": known["state"] if known else "in this file twice",
                    }
                )
                continue
            seen.add(sub.instance_id)
            _, found = _checked(reg, uow, sub, limit)
            new_id = queue.add(
                {
                    "instance_id": sub.instance_id,
                    "form_id": sub.form_id,
                    "submitted_by": sub.submitted_by,
                    "submitted_at": sub.submitted_at,
                    "imported_at": at,
                    "imported_by": actor,
                    "source": sub.source or source,
                    "payload": _payload(sub, limit),
                    "flags": _flags_json(found),
                }
            )
            queue.add_event(
                new_id,
                at=at,
                actor=actor,
                action="imported",
                detail=orjson.dumps({"source": sub.source or source, "flags": len(found)}).decode(),
            )
            report.queued.append(new_id)
            if found:
                report.flagged.append(new_id)
            edited = queue.by_instance(sub.deprecated_id) if sub.deprecated_id else None
            if edited is not None and edited["state"] == "pending":
                reason = f"replaced by its edited version, submission {new_id}"
                queue.update(
                    edited["id"],
                    {
                        "state": "rejected",
                        "decided_by": actor,
                        "decided_at": at,
                        "decision_reason": reason,
                    },
                )
                queue.add_event(edited["id"], at=at, actor=actor, action="replaced", reason=reason)
                report.replaced.append(edited["id"])
    return report


def import_submissions(
    reg: Registry,
    path: str | Path,
    *,
    actor: str,
    form_id: str | None = None,
    accuracy_limit_m: float | None = None,
) -> QueueReport:
    """Read an export of submissions (ODK Central or KoboToolbox: CSV, ZIP, API JSON) and
    queue them for review; nothing reaches the records before an approval."""
    from landrelease.field.submissions import read_submissions

    subs = read_submissions(path, form_id)
    return queue_submissions(
        reg, subs, actor=actor, source=str(path), accuracy_limit_m=accuracy_limit_m
    )


# -- deciding ----------------------------------------------------------------------------------


def _pending(uow: UnitOfWork, submission_id: int) -> dict[str, Any]:
    row = uow.submissions.get(submission_id)
    if row["state"] != "pending":
        raise ConflictError(
            f"field submission {submission_id} was {row['state']} already, by "
            f"{row['decided_by']} at {row['decided_at']}"
        )
    return row


def approve_submission(
    reg: Registry, submission_id: int, *, actor: str, override: str | None = None
) -> dict[str, Any]:
    """Write the records a pending submission plans, in one transaction with the decision;
    return the submission as review shows it. A flagged submission needs `override` (a
    reason, kept in its history) or a fix first."""
    if override is not None and not override.strip():
        raise ValidationError(f"submission {submission_id}", "override", "give a reason")
    at = now_utc()
    with reg.store.unit_of_work(write=True, note=f"a field submission approved by {actor}") as uow:
        row = _pending(uow, submission_id)
        sub = _submission(row)
        planned, found = _checked(reg, uow, sub, _limit(row))
        if found and override is None:
            first = found[0]
            more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
            raise ValidationError(
                f"submission {submission_id}",
                first.field,
                f"{first.message}{more}; fix it with 'landrelease review edit' or approve "
                "with --override REASON",
            )
        who = sub.submitted_by or "an unnamed submitter"
        reason = (
            f"field submission {submission_id} ({sub.form_id} {sub.instance_id}) by {who}, "
            f"approved by {actor}"
        )
        if found:
            reason += f" over {len(found)} flag(s): {override}"
        refs = _write(reg, uow, planned, actor=actor, reason=reason, at=at)
        if found:
            uow.submissions.add_event(
                submission_id,
                at=at,
                actor=actor,
                action="overridden",
                reason=override,
                detail=_flags_json(found),
            )
        uow.submissions.update(
            submission_id,
            {
                "state": "approved",
                "decided_by": actor,
                "decided_at": at,
                "override_reason": override if found else None,
                "flags": _flags_json(found),
                "refs": orjson.dumps(refs).decode(),
            },
        )
        uow.submissions.add_event(
            submission_id,
            at=at,
            actor=actor,
            action="approved",
            detail=orjson.dumps({"refs": refs}).decode(),
        )
    return submission(reg, submission_id)


def _write(
    reg: Registry, uow: UnitOfWork, planned: list[Planned], *, actor: str, reason: str, at: str
) -> list[str]:
    """Write the planned records in `uow` through the registry's checks; return their refs."""
    from landrelease.checking import check_edit

    refs: list[str] = []
    activity_ref: str | None = None
    for p in planned:
        values = dict(p.values)
        if p.link == "activity":
            values["activity_ref"] = activity_ref
        k = kind_named(p.kind)
        if p.ref is None:
            record = {**values, "geometry": p.geometry}
            (ref,) = reg.add_records(k.name, [record], actor=actor, reason=reason, uow=uow)
        else:
            ref = p.ref
            geometry = UNCHANGED if p.geometry is None else p.geometry
            values = _merged(uow.records(k).get(ref), Planned(p.kind, ref, values, p.geometry))
            edit = check_edit(uow, reg.country, k, ref, values, geometry)
            uow.records(k).update(
                ref,
                edit.values,
                geometry=edit.geometry,
                expected_version=edit.version,
                action="update",
                at=at,
                actor=actor,
                reason=reason,
            )
        if p.kind == "activities":
            activity_ref = ref
        refs.append(ref)
    return refs


def reject_submission(
    reg: Registry, submission_id: int, *, actor: str, reason: str
) -> dict[str, Any]:
    """Reject a pending submission with `reason`; it stays in the queue with its reason."""
    if not reason or not reason.strip():
        raise ValidationError(f"submission {submission_id}", "reason", "give a reason")
    at = now_utc()
    with reg.store.unit_of_work(write=True, note=f"a field submission rejected by {actor}") as uow:
        _pending(uow, submission_id)
        uow.submissions.update(
            submission_id,
            {"state": "rejected", "decided_by": actor, "decided_at": at, "decision_reason": reason},
        )
        uow.submissions.add_event(
            submission_id, at=at, actor=actor, action="rejected", reason=reason
        )
    return submission(reg, submission_id)


def edit_submission(
    reg: Registry,
    submission_id: int,
    changes: dict[str, str],
    *,
    actor: str,
    reason: str | None = None,
) -> dict[str, Any]:
    """Correct values of a pending submission (a question name, or "item[2]/item_state" for
    a repeat row's; an empty value clears it) and check it again; the history keeps what
    each value was."""
    if not changes:
        raise ValidationError(f"submission {submission_id}", "set", "name a value to change")
    at = now_utc()
    with reg.store.unit_of_work(write=True, note=f"a field submission edited by {actor}") as uow:
        row = _pending(uow, submission_id)
        limit = _limit(row)
        sub = _submission(row)
        values = dict(sub.values)
        repeats = {name: [dict(r) for r in rows] for name, rows in sub.repeats.items()}
        before: dict[str, Any] = {}
        for key, value in changes.items():
            target, name = _target(submission_id, key, values, repeats)
            before[key] = target.get(name)
            if value == "":
                target.pop(name, None)
            else:
                target[name] = value
        fixed = Submission(**{**asdict(sub), "values": values, "repeats": repeats})
        _, found = _checked(reg, uow, fixed, limit)
        uow.submissions.update(
            submission_id, {"payload": _payload(fixed, limit), "flags": _flags_json(found)}
        )
        detail = {k: {"was": before[k], "now": changes[k] or None} for k in changes}
        uow.submissions.add_event(
            submission_id,
            at=at,
            actor=actor,
            action="edited",
            reason=reason,
            detail=orjson.dumps(detail).decode(),
        )
    return submission(reg, submission_id)


def _target(
    submission_id: int,
    key: str,
    values: dict[str, str],
    repeats: dict[str, list[dict[str, str]]],
) -> tuple[dict[str, str], str]:
    """Return the dict holding the value `key` names and the name in it."""
    if "/" not in key:
        return values, key
    head, name = key.split("/", 1)
    if "[" in head and head.endswith("]"):
        repeat, _, index = head[:-1].partition("[")
        rows = repeats.get(repeat)
        if rows is not None and index.isdigit() and 1 <= int(index) <= len(rows):
            return rows[int(index) - 1], name
    raise ValidationError(
        f"submission {submission_id}",
        key,
        "name a question, or a repeat row's as REPEAT[N]/QUESTION (N from 1, of a row the "
        "submission has)",
    )


__all__ = [
    "DEFAULT_ACCURACY_M",
    "SUBMISSION_STATES",
    "QueueReport",
    "accuracy_limit",
    "approve_submission",
    "edit_submission",
    "geometry_diff",
    "import_submissions",
    "queue_submissions",
    "reject_submission",
    "submission",
    "submissions",
]
