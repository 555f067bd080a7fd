"""Importing a batch of records: check every one against the domain and the store, then
write them all in one unit of work, or none.

The registry's `import_file` and `add_records` hand their batch to `Importer.run`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, ParamSpec, TypeVar

import geopandas as gpd
import numpy as np
import shapely

from landrelease.checking import gather, stored_refs
from landrelease.domain.checks import IMPORT, Batch, checks_for, findings, warnings
from landrelease.domain.codes import HazardType, Status
from landrelease.domain.errors import DuplicateGeometry, InputFileError, ValidationError
from landrelease.domain.geometry import (
    Country,
    GeometryReport,
    Overlap,
    Problem,
    area_m2,
    check_geometries,
    geometry_keys,
    overlaps,
    usable_geometries,
)
from landrelease.domain.records import HAZARDS, RecordKind
from landrelease.domain.validate import prepare_columns
from landrelease.store import Columns, Store, UnitOfWork, now_utc

Progress = Callable[[str], None]

IMPORT_STEPS = ("reading", "checking", "writing")
BULK_ROWS = 10_000  # a batch larger than this is a bulk write (store.unit_of_work(bulk=True))


@dataclass
class ImportReport:
    """What an import did: records written, records rejected (and where), repairs, warnings."""

    kind: str
    source: str
    refs: list[str] = field(default_factory=list)
    rejected: int = 0
    rejected_file: str | None = None
    repairs: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return len(self.refs)


P = ParamSpec("P")
R = TypeVar("R")


def _gc_paused(fn: Callable[P, R]) -> Callable[P, R]:
    """Run `fn` with the cyclic garbage collector paused.

    A batch makes hundreds of thousands of objects and no cycles; collections in the middle
    would rescan them again and again (about a tenth of a 100,000-row import).
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        enabled = gc.isenabled()
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()

    return wrapper


def _label(i: int, refs: Sequence[Any]) -> str:
    ref = refs[i] if i < len(refs) else None
    return f"{ref} (row {i + 1})" if ref else f"row {i + 1}"


class Importer:
    """Checks a batch against the domain rules and the stored records, then writes it."""

    def __init__(self, store: Store, country: Country, *, sha256: str | None = None) -> None:
        self.store = store
        self.country = country
        self.sha256 = sha256  # of the file imported, kept with the batch
        self.rejected = 0

    @_gc_paused
    def run(
        self,
        kind: RecordKind,
        gdf: gpd.GeoDataFrame,
        *,
        actor: str,
        reason: str | None,
        source: str,
        repair: bool = False,
        keep_status: bool = False,
        skip_invalid: str | Path | None = None,
        progress: Progress | None = None,
        uow: UnitOfWork | None = None,
    ) -> ImportReport:
        """Return the report of importing `gdf` as records of `kind`: all of them, or none.

        Every record is checked (fields, geometry, refs, links, duplicates, lifecycle) before
        anything is written; any problem refuses the batch with the first one named, unless
        `skip_invalid` names a file for the bad records. The good ones are then written in
        spatial order, with their batch row, in one transaction.

        Given a write unit of work `uow`, the batch is checked against what it reads and
        written into it, as one step of a larger change that the caller's block commits
        (e.g. a reviewed submission: its records written and it marked approved). Without,
        the stored records are read in a snapshot of their own and the batch is written in
        a unit of work of its own, so that the write lock is held only for the write.
        """
        if uow is not None and not uow.write:
            raise RuntimeError("an import writes: give it a unit of work begun with write=True")
        step = progress or (lambda _s: None)
        step("checking")
        report = ImportReport(kind.name, source)
        read_repairs: list[Problem] = list(gdf.attrs.get("repairs", []))  # e.g. rings closed
        gdf = gdf.reset_index(drop=True)
        n = len(gdf)
        gdf, raw = self._geometries_of(kind, gdf, source)
        # Geometry work (shapely and pyproj release the GIL) runs on two worker threads while
        # the attributes are parsed and the geometries encoded here: first what the rows
        # need (areas, duplicate keys), then the shape checks (validity, country, jumps).
        usable = (
            usable_geometries(raw, kind.geometry) if raw is not None and kind.geometry else None
        )
        with ThreadPoolExecutor(max_workers=2) as pool:
            areas = keys = checks = None
            if usable is not None and kind is HAZARDS:
                areas = pool.submit(area_m2, usable, self.country)
                keys = pool.submit(geometry_keys, usable)
            if raw is not None and kind.geometry is not None:
                checks = pool.submit(
                    check_geometries,
                    raw,
                    kind.geometry,
                    self.country,
                    required=kind.geometry_required,
                    repair=repair,
                )
            prepared = prepare_columns(kind, gdf)
            cols: Columns = prepared.columns
            cols["_row"] = list(range(n))  # input order, to hand the refs back in it
            given = list(cols["ref"])  # refs as given, in input order: what messages name
            problems = list(prepared.problems)
            report.ignored_columns = prepared.ignored
            if prepared.ignored:
                report.warnings.append(
                    f"columns not in the {kind.name} data model were ignored: "
                    + ", ".join(prepared.ignored)
                )
            if usable is not None:
                d = self._derive(kind, usable)
                cols["geometry"] = usable
                cols["_encoded"] = d.encoded
                if d.order is not None:
                    cols["_order"] = d.order
            if areas is not None and keys is not None:
                cols["geom_key"] = keys.result()
                cols["area_m2"] = areas.result().tolist()

            def settle() -> list[Problem]:
                """Wait for the shape checks; take in their repairs and warnings."""
                if checks is None:
                    return []
                checked = checks.result()
                if checked.repairs:
                    self._rederive(kind, cols, checked)
                report.repairs = [
                    f"{_label(p.row, given)}: {p.message}"
                    for p in sorted([*read_repairs, *checked.repairs], key=lambda p: p.row)
                ]
                report.warnings += [
                    f"{_label(p.row, given)}: {p.message}" for p in checked.warnings
                ]
                return checked.problems

            # The shape checks finish before the write begins: the write lock is held only
            # for the write (a polygon of a million vertices takes a minute to check).
            problems += settle()
            # Then the checks over the batch and against the stored records (domain.checks):
            # what they need of the store is read in one snapshot.
            with contextlib.ExitStack() as stack:
                read = uow or stack.enter_context(self.store.unit_of_work())
                stored = gather(read, kind, cols, checks_for(kind, IMPORT))
                near = (
                    self._stored_near(usable, read)
                    if kind is HAZARDS and usable is not None
                    else None
                )
            batch = Batch(kind, cols, stored, keep_status=keep_status)
            problems += [p for _, p in findings(batch, IMPORT)]
            report.warnings += [
                f"{_label(p.row, given)}: {p.message}" for p in warnings(batch, IMPORT)
            ]
            # Overlaps are only warned of: they are looked for on a worker while the rows are
            # written (the main thread then waits in SQLite, mostly), and waited for once the
            # write has committed.
            overlapping = (
                pool.submit(self._overlaps, usable, checks, near)
                if kind is HAZARDS and usable is not None and checks is not None
                else None
            )

            if problems and skip_invalid is None:
                if overlapping is not None:
                    overlapping.cancel()
                _refuse(problems, given)
            if problems:
                assert skip_invalid is not None
                bad = sorted({p.row for p in problems})
                self._write_rejects(gdf, problems, skip_invalid)
                report.rejected = self.rejected = len(bad)
                report.rejected_file = str(skip_invalid)
                cols = _take(cols, np.setdiff1d(np.arange(n), bad))

            step("writing")
            if not len(cols["ref"]):
                return report

            try:
                self._write(kind, cols, actor, reason, source, keep_status, uow)
            except DuplicateGeometry as exc:
                if overlapping is not None:
                    overlapping.cancel()
                row = next(
                    (
                        r
                        for r, k in zip(cols["_row"], cols.get("geom_key", []), strict=False)
                        if k == exc.key
                    ),
                    None,
                )
                raise ValidationError(
                    _label(row, given) if row is not None else None,
                    "geometry",
                    f"probable duplicate: the same geometry was stored as {exc.stored_ref} by "
                    "another writer while this import was being checked; nothing was written",
                ) from None
            if overlapping is not None:
                report.warnings += self._overlap_warnings(
                    overlapping.result(), given, near, {p.row for p in problems}
                )
        by_row = dict(zip(cols["_row"], cols["ref"], strict=True))
        report.refs = [by_row[i] for i in sorted(by_row)]
        return report

    def _write(
        self,
        kind: RecordKind,
        cols: Columns,
        actor: str,
        reason: str | None,
        source: str,
        keep_status: bool,
        uow: UnitOfWork | None = None,
    ) -> None:
        """Write the checked rows in spatial order, into `uow` or a write unit of work of
        their own; `cols` gets the refs."""
        if kind is HAZARDS:
            # A confirmed area is a CHA (direct evidence), however it reached the registry.
            confirmed, cha = Status.CONFIRMED.value, HazardType.CHA.value
            cols["hazard_type"] = [
                cha if st == confirmed else ht
                for st, ht in zip(cols["status"], cols["hazard_type"], strict=True)
            ]
        if "_order" in cols:
            # Rows stored in spatial (Hilbert) order make the R-tree tight and bbox reads
            # contiguous.
            cols.update(_take(cols, np.argsort(np.asarray(cols["_order"]), kind="stable")))
        at = now_utc()
        if keep_status and kind is HAZARDS:
            reason = (reason + "; " if reason else "") + "statuses kept as recorded by the source"
        note = f"an import{'' if source == 'api' else ' of ' + Path(source).name} by {actor}"
        with contextlib.ExitStack() as stack:
            if uow is None:
                uow = stack.enter_context(
                    self.store.unit_of_work(
                        write=True, bulk=len(cols["ref"]) > BULK_ROWS, note=note
                    )
                )
            cols["ref"] = self._assign_refs(kind, cols, uow)
            batch = uow.batches.add(
                kind,
                at=at,
                actor=actor,
                reason=reason,
                source=source,
                sha256=self.sha256,
                records=len(cols["ref"]),
                rejected=self.rejected,
            )
            uow.records(kind).add(
                cols,
                at=at,
                actor=actor,
                reason=reason,
                batch=batch,
                encoded=cols.get("_encoded"),
            )

    def _geometries_of(
        self, kind: RecordKind, gdf: gpd.GeoDataFrame, source: str
    ) -> tuple[gpd.GeoDataFrame, np.ndarray | None]:
        """Return the frame in EPSG:4326 and its geometries (None for a kind without any)."""
        from landrelease.io import to_wgs84

        if not kind.geometry:
            return gdf, None
        if "geometry" in gdf and bool((~gdf.geometry.isna()).any()):
            try:
                gdf = to_wgs84(gdf)  # refuses a missing or unusable CRS
            except InputFileError as exc:
                raise InputFileError(
                    f"{source}: {exc}; name the CRS with --crs (e.g. --crs EPSG:32636)"
                ) from None
        raw = (
            np.asarray(gdf.geometry.values, dtype=object)
            if "geometry" in gdf
            else np.full(len(gdf), None, dtype=object)
        )
        return gdf, raw

    def _derive(self, kind: RecordKind, geoms: np.ndarray) -> _Derived:
        """Return the usable geometries encoded as the store keeps them, and their order."""
        out = _Derived(self.store.encode_geometries(kind, geoms))
        if kind.geometry == "polygon":
            present = ~shapely.is_missing(geoms)
            distance = np.full(len(geoms), np.iinfo(np.int64).max)
            if present.any():
                distance[present] = (
                    gpd.GeoSeries(geoms[present])
                    .hilbert_distance(total_bounds=self.country.bbox)
                    .to_numpy()
                )
            out.order = distance.tolist()
        return out

    def _rederive(self, kind: RecordKind, cols: Columns, checked: GeometryReport) -> None:
        """Redo what the rows need of their geometries for the rows the checks repaired."""
        assert kind.geometry is not None  # only geometries are repaired
        rows = [p.row for p in checked.repairs]
        usable = usable_geometries(checked.geometries[rows], kind.geometry)
        fixed = self._derive(kind, usable)
        cols["geometry"][rows] = usable
        keys = geometry_keys(usable) if kind is HAZARDS else []
        areas = area_m2(usable, self.country).tolist() if kind is HAZARDS else []
        for i, j in enumerate(rows):
            cols["_encoded"][j] = fixed.encoded[i]
            if fixed.order is not None:
                cols["_order"][j] = fixed.order[i]
            if kind is HAZARDS:
                cols["geom_key"][j] = keys[i]
                cols["area_m2"][j] = areas[i]

    def _stored_near(self, usable: np.ndarray, uow: UnitOfWork) -> Columns | None:
        """Return the stored hazard areas within the batch's extent (refs and geometries)."""
        present = usable[~shapely.is_missing(usable)]
        if not len(present):
            return None
        minx, miny, maxx, maxy = shapely.total_bounds(present).tolist()
        near = uow.records(HAZARDS).select(columns=["ref"], bbox=(minx, miny, maxx, maxy))
        return near if near["ref"] else None

    def _overlaps(
        self, usable: np.ndarray, checks: Future[GeometryReport], near: Columns | None
    ) -> list[Overlap]:
        """Return the overlaps of the batch's areas that passed the shape checks."""
        checked = checks.result()
        geoms = checked.geometries.copy()
        geoms[shapely.is_missing(usable)] = None
        geoms[[p.row for p in checked.problems]] = None
        return overlaps(geoms, self.country, near["geometry"] if near else None)

    @staticmethod
    def _overlap_warnings(
        found: list[Overlap], given: list[Any], near: Columns | None, bad: set[int]
    ) -> list[str]:
        out = []
        for o in found:
            if o.row in bad or (not o.stored and o.other in bad):
                continue
            what = (
                f"{near['ref'][o.other]} (in the registry)"
                if o.stored and near
                else _label(o.other, given)
            )
            out.append(
                f"{_label(o.row, given)}: overlaps {what} by {o.m2:,.0f} m2 "
                f"({o.share:.0%} of this area)"
            )
        return out

    def _all_refs(self, uow: UnitOfWork) -> dict[str, str]:
        """Return every stored ref with its kind: a ref names one record in the registry."""
        return stored_refs(uow)

    def _assign_refs(self, kind: RecordKind, cols: Columns, uow: UnitOfWork) -> list[str]:
        refs = list(cols["ref"])
        missing = np.flatnonzero(np.array([r is None for r in refs], dtype=bool))
        if not len(missing):
            return refs
        today = str(dt.date.today().year)
        dates = cols.get(kind.date_field) if kind.date_field else None
        # Each distinct date is read once; the rows are grouped by year with numpy.
        when = np.asarray(dates, dtype=object)[missing] if dates else np.full(len(missing), None)
        when[np.array([w is None for w in when], dtype=bool)] = ""
        distinct, which = np.unique(when.astype(str), return_inverse=True)
        years = np.array([d[:4] if d else today for d in distinct])[which]
        by_year = {int(y): missing[years == y].tolist() for y in np.unique(years)}
        taken = set(self._all_refs(uow)) | {r for r in refs if r}
        for year, rows in by_year.items():
            prefix = "-".join(p for p in (self.country.code, kind.ref_code, str(year)) if p)
            while rows:
                serials = uow.serials.reserve(prefix, len(rows))
                fresh = [r for r in (f"{prefix}-{s:05d}" for s in serials) if r not in taken]
                for i, ref in zip(rows, fresh, strict=False):
                    refs[i] = ref
                taken.update(fresh)
                rows = rows[len(fresh) :]  # serials already used by hand-made refs: more
        return refs

    def _write_rejects(
        self, gdf: gpd.GeoDataFrame, problems: list[Problem], path: str | Path
    ) -> None:
        from landrelease.io import write_features

        by_row: dict[int, list[Problem]] = {}
        for p in problems:
            by_row.setdefault(p.row, []).append(p)
        rows = sorted(by_row)
        bad = gdf.iloc[rows].copy()
        bad.insert(0, "row", [r + 1 for r in rows])
        bad.insert(1, "error_field", ["; ".join(p.field for p in by_row[r]) for r in rows])
        bad.insert(2, "error", ["; ".join(p.message for p in by_row[r]) for r in rows])
        for c in bad.columns:
            if c != bad.geometry.name and bad[c].dtype == object:
                bad[c] = bad[c].map(
                    lambda v: v if v is None or isinstance(v, str | int | float | bool) else str(v)
                )
        write_features(bad, path)


@dataclass
class _Derived:
    """The geometries of an import as the store keeps them, and their spatial order."""

    encoded: list[Any]
    order: list[int] | None = None


def _refuse(problems: list[Problem], refs: Sequence[Any]) -> NoReturn:
    """Raise the ValidationError naming the first problem by row, and how many more."""
    problems = sorted(problems, key=lambda p: p.row)
    first = problems[0]
    more = len(problems) - 1
    records = len({p.row for p in problems})
    tail = (
        f" ({more} more problem(s) in {records} record(s); fix them, or import the "
        "good records with --skip-invalid FILE)"
        if more
        else ""
    )
    raise ValidationError(_label(first.row, refs), first.field, first.message + tail)


def _take(cols: Columns, index: np.ndarray) -> Columns:
    """Return the columns' rows at `index` (object arrays stay arrays, lists stay lists)."""
    out: Columns = {}
    for k, v in cols.items():
        if isinstance(v, np.ndarray):
            out[k] = v[index]
        else:
            arr = np.empty(len(v), dtype=object)
            arr[:] = v  # one C loop; fancy indexing then beats a Python loop over the rows
            out[k] = arr[index].tolist()
    return out
