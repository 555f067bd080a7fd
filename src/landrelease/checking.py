"""The checks of every write path, with what they need read from the store.

The rules are the named checks of `domain.checks` (pure); here the import, the edit and the
revert gather what those need of the stored records (`gather`), and an edit or a revert is
checked as one row: `check_edit` and `check_revert`. An import runs the same checks over its
batch in `importing.Importer.run`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from landrelease.domain.checks import (
    EDIT,
    FIELD_VALUES,
    FUTURE_DATES,
    GEOMETRY_VALID,
    REVERT,
    Batch,
    Check,
    Stored,
    blame,
    checks_for,
    findings,
)
from landrelease.domain.errors import ValidationError
from landrelease.domain.geometry import (
    Country,
    Problem,
    area_m2,
    check_geometries,
    geometry_keys,
    promote_to_multi,
)
from landrelease.domain.records import ACTIVITIES, HAZARDS, KINDS, SYSTEM_FIELDS, RecordKind
from landrelease.domain.validate import prepare_columns
from landrelease.store import UNCHANGED, UnitOfWork


def stored_refs(uow: UnitOfWork) -> dict[str, str]:
    """Return every stored ref with its kind: a ref names one record in the registry."""
    out: dict[str, str] = {}
    for name, k in KINDS.items():
        out.update(dict.fromkeys(uow.records(k).values("ref"), name))
    return out


def gather(
    uow: UnitOfWork, kind: RecordKind, columns: Mapping[str, Any], checks: Iterable[Check]
) -> Stored:
    """Return what `checks` need to know of the stored records about a batch of `kind`."""
    needs: set[str] = set().union(*(c.needs for c in checks))
    refs: dict[str, str] = {}
    if "refs" in needs and any(columns["ref"]):
        refs = stored_refs(uow)
    areas: dict[str, Any] = {}
    named = set(columns.get("area_ref", ())) - {None}
    if needs & {"areas", "area_shapes"} and named:
        shapes = "area_shapes" in needs
        found = uow.records(HAZARDS).select(
            columns=["ref"], where={"ref": tuple(named)}, geometry=shapes
        )
        areas = dict(
            zip(
                found["ref"],
                found["geometry"] if shapes else [None] * len(found["ref"]),
                strict=True,
            )
        )
    activities: set[str] = set()
    named = set(columns.get("activity_ref", ())) - {None}
    if "activities" in needs and named:
        found = uow.records(ACTIVITIES).select(
            columns=["ref"], where={"ref": tuple(named)}, geometry=False
        )
        activities = set(found["ref"])
    keys: dict[int, str] = {}
    if "keys" in needs and "geom_key" in columns:
        keys = uow.records(HAZARDS).refs_by_key([k for k in columns["geom_key"] if k is not None])
    profiles: frozenset[str] = frozenset()
    if "profiles" in needs:
        from landrelease.residual.profiles import load_profiles

        profiles = frozenset(load_profiles())
    return Stored(refs, areas, activities, keys, profiles)


@dataclass
class CheckedEdit:
    """The values an edit writes (parsed, with what they derive) and its checked geometry."""

    values: dict[str, Any]
    geometry: Any  # UNCHANGED when the edit leaves the geometry alone
    version: int  # the stored version the edit was checked against


def check_edit(
    uow: UnitOfWork,
    country: Country,
    kind: RecordKind,
    ref: str,
    changes: Mapping[str, Any],
    geometry: Any = UNCHANGED,
) -> CheckedEdit:
    """Return the edit of record `ref` checked as the record would be after it.

    The stored row plus the `changes` (and the new `geometry`, if any) runs every check of
    an edit; a problem refuses the edit (ValidationError naming the record and the field)
    only if it lies in what the edit changes or is made by it: raising quantity_low above
    the stored quantity_best is refused, as is lowering quantity_best below the stored
    quantity_low; a stored problem in a field left alone is not the edit's. The checks read
    the stored records through `uow`; write the edit at the version it was checked against.
    """
    stored = uow.records(kind).get(ref)  # NotFound for an unknown ref
    row = {f: stored.get(f) for f in kind.field_names if f not in SYSTEM_FIELDS}
    row.update(changes)
    prepared = prepare_columns(kind, pd.DataFrame([row]))
    late = {id(p) for p in prepared.future}
    found: list[tuple[Check, Problem]] = [
        (FUTURE_DATES if id(p) in late else FIELD_VALUES, p) for p in prepared.problems
    ]
    changed = set(changes)
    shape = stored.get("geometry")
    if geometry is not UNCHANGED:
        changed.add("geometry")
        shape = geometry
        if kind.geometry:
            checked = check_geometries(
                np.array([geometry], dtype=object),
                kind.geometry,
                country,
                required=kind.geometry_required,
            )
            # Every shape problem is the edit's: the geometry is the one it brings.
            found += [(GEOMETRY_VALID, p) for p in checked.problems]
            shape = None if checked.problems else _as_stored(kind, checked.geometries)
    cols: dict[str, Any] = dict(prepared.columns)
    cols["geometry"] = np.array([shape], dtype=object)
    if kind is HAZARDS:
        cols["geom_key"] = geometry_keys(cols["geometry"])
    checks = [c for c in checks_for(kind, EDIT) if c.run is not None and not c.warning]
    facts = gather(uow, kind, cols, checks)
    found += findings(Batch(kind, cols, facts), EDIT)
    for check, p in found:
        at = blame(check, p, changed)
        if at is not None:
            raise ValidationError(ref, at, p.message)
    values = {f: cols[f][0] for f in changes}
    version = int(stored["version"])
    if geometry is UNCHANGED:
        return CheckedEdit(values, UNCHANGED, version)
    if kind is HAZARDS and shape is not None:
        values["area_m2"] = float(area_m2(cols["geometry"], country)[0])
        values["geom_key"] = cols["geom_key"][0]
    return CheckedEdit(values, shape, version)


def check_revert(
    uow: UnitOfWork,
    country: Country,
    kind: RecordKind,
    ref: str,
    version: int,
    values: Mapping[str, Any],
    geometry: Any,
) -> None:
    """Raise ValidationError unless record `ref` may be restored to `values` and `geometry`.

    A revert is a correction, outside the lifecycle: any earlier status comes back. What it
    restores must still hold, though: the records it names exist, and its geometry is of its
    type, valid, inside the country, and no other current area's.
    """
    cols: dict[str, Any] = {f: [values.get(f)] for f in kind.field_names}
    cols["ref"] = [ref]
    problems: list[Problem] = []
    shape = geometry
    if kind.geometry:
        checked = check_geometries(
            np.array([geometry], dtype=object),
            kind.geometry,
            country,
            required=kind.geometry_required,
        )
        problems += checked.problems
        if checked.problems:
            shape = None
    cols["geometry"] = np.array([shape], dtype=object)
    if kind is HAZARDS:
        cols["geom_key"] = geometry_keys(cols["geometry"])
    checks = [c for c in checks_for(kind, REVERT) if c.run is not None and not c.warning]
    facts = gather(uow, kind, cols, checks)
    problems += [p for _, p in findings(Batch(kind, cols, facts), REVERT)]
    if problems:
        p = problems[0]
        raise ValidationError(ref, p.field, f"cannot revert to version {version}: {p.message}")


def _as_stored(kind: RecordKind, checked: np.ndarray) -> Any:
    """Return a checked geometry as the store keeps it: polygons as MultiPolygons, in 2D."""
    return promote_to_multi(checked)[0] if kind.geometry == "polygon" else checked[0]


@dataclass
class RecordCheck:
    """What `landrelease check` found of one record changed outside landrelease."""

    kind: str
    ref: str
    version: int
    changed_by: str | None
    problems: list[tuple[str, str]]  # (field, message): each keeps the record flagged
    warnings: list[tuple[str, str]]
    area_m2: tuple[float | None, float | None] | None = None  # stored, measured (hazards)
    fixed: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "ref": self.ref,
            "version": self.version,
            "changed_by": self.changed_by,
            "problems": [{"field": f, "message": m} for f, m in self.problems],
            "warnings": [{"field": f, "message": m} for f, m in self.warnings],
            "area_m2": list(self.area_m2) if self.area_m2 else None,
            "fixed": self.fixed,
        }


def check_flagged(uow: UnitOfWork, country: Country) -> list[tuple[RecordCheck, dict[str, Any]]]:
    """Run every check of an import on the records flagged as changed outside landrelease.

    Return, per flagged record, what was found, and the values a fix writes (the area
    re-measured, the geometry key made again). The checks are the import's: field values and
    codes, dates, the geometry (type, finite, country, validity; vertex jumps warned of), the
    records it names, duplicates of another current area; overlaps with stored areas are
    warned of.
    """
    import shapely

    from landrelease.domain.geometry import overlaps

    out: list[tuple[RecordCheck, dict[str, Any]]] = []
    for kind in KINDS.values():
        records = uow.records(kind)
        cols = records.select(columns=[*kind.field_names, "changed_by"], where={"needs_check": 1})
        n = len(cols["ref"])
        if not n:
            continue
        by = dict(zip(cols["ref"], cols["changed_by"], strict=True))
        frame = pd.DataFrame({f: cols[f] for f in kind.field_names if f not in SYSTEM_FIELDS})
        prepared = prepare_columns(kind, frame)
        problems: list[Problem] = list(prepared.problems)
        warned: list[Problem] = []
        checked_cols: dict[str, Any] = dict(prepared.columns)
        geoms = np.asarray(cols.get("geometry", np.full(n, None)), dtype=object)
        if kind.geometry:
            report = check_geometries(
                geoms, kind.geometry, country, required=kind.geometry_required
            )
            problems += report.problems
            warned += report.warnings
            bad = {p.row for p in report.problems}
            geoms = np.array(
                [None if i in bad or g is None else g for i, g in enumerate(report.geometries)],
                dtype=object,
            )
            if kind.geometry == "polygon":
                present = ~np.array([g is None for g in geoms])
                if present.any():
                    geoms[present] = promote_to_multi(geoms[present])
        checked_cols["geometry"] = geoms
        if kind is HAZARDS:
            checked_cols["geom_key"] = geometry_keys(geoms)
        checks = [c for c in checks_for(kind, EDIT) if c.run is not None and not c.warning]
        facts = gather(uow, kind, checked_cols, checks)
        # (geometry_not_stored already takes a record keeping its own shape for no duplicate)
        problems += [p for _, p in findings(Batch(kind, checked_cols, facts), EDIT)]
        measured: list[float | None] = [None] * n
        if kind is HAZARDS:
            present = np.array([g is not None for g in geoms])
            if present.any():
                areas = area_m2(geoms[present], country)
                for i, a in zip(np.flatnonzero(present).tolist(), areas.tolist(), strict=True):
                    measured[i] = float(a)
                minx, miny, maxx, maxy = shapely.total_bounds(geoms[present]).tolist()
                near = uow.records(HAZARDS).select(columns=["ref"], bbox=(minx, miny, maxx, maxy))
                others = np.array(
                    [
                        g if r not in set(cols["ref"]) else None
                        for r, g in zip(near["ref"], near["geometry"], strict=True)
                    ],
                    dtype=object,
                )
                for o in overlaps(geoms, country, others if len(others) else None):
                    what = near["ref"][o.other] if o.stored else cols["ref"][o.other]
                    warned.append(Problem(o.row, "geometry", f"overlaps {what} by {o.m2:,.0f} m2"))
        for i, ref in enumerate(cols["ref"]):
            rc = RecordCheck(
                kind.name,
                ref,
                int(cols["version"][i]),
                by.get(ref),
                [(p.field, p.message) for p in problems if p.row == i],
                [(p.field, p.message) for p in warned if p.row == i],
            )
            fix: dict[str, Any] = {}
            if kind is HAZARDS:
                rc.area_m2 = (cols["area_m2"][i], measured[i])
                if measured[i] is not None:
                    fix["area_m2"] = measured[i]
                    fix["geom_key"] = checked_cols["geom_key"][i]
            out.append((rc, fix))
    return out
