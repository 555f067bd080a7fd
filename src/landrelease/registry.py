"""The registry: the one public API of landrelease, used by the CLI, the service and notebooks.

Each method is one use case: it sequences store and domain calls in one unit of work, and holds
no rule of its own (the rules live in `domain/`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from landrelease.domain import lifecycle
from landrelease.domain.codes import ActivityStatus, ActivityType, HazardType, Status
from landrelease.domain.errors import IllegalTransition, InputFileError, NotFound, ValidationError
from landrelease.domain.geometry import (
    COUNTRIES,
    Country,
    GeometryReport,
    Problem,
    area_m2,
    check_geometries,
    geometry_keys,
    promote_to_multi,
)
from landrelease.domain.records import (
    ACCIDENTS,
    ACTIVITIES,
    EVENTS,
    HAZARDS,
    ITEMS,
    KINDS,
    SYSTEM_FIELDS,
    Activity,
    ContaminationEvent,
    HazardArea,
    Item,
    RecordKind,
    kind_named,
)
from landrelease.domain.validate import (
    check_activity_dates,
    check_event_ranges,
    prepare_columns,
)
from landrelease.store import UNCHANGED, Columns, Store, open_store

Progress = Callable[[str], None]

IMPORT_STEPS = ("reading", "checking", "writing")


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


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


def _label(i: int, refs: Sequence[Any]) -> str:
    ref = refs[i] if i < len(refs) else None
    return f"{ref} (row {i + 1})" if ref else f"row {i + 1}"


class Registry:
    """A registry of hazardous areas and everything done about them, with full history."""

    def __init__(self, store: Store, country: Country) -> None:
        self.store = store
        self.country = country

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def open(cls, url: str | Path, *, create: bool = False, country: str | None = None) -> Registry:
        """Open the registry at `url` (a .gpkg path or database URL); `create` makes it."""
        store = open_store(url, create=create)
        try:
            code = store.setting("country")
            if code is None or (create and country):
                code = (country or "UA").upper()
                if code not in COUNTRIES:
                    raise ValidationError(
                        None, "country", f"unknown country {code!r}; known: {', '.join(COUNTRIES)}"
                    )
                with store.transaction() as conn:
                    store.set_setting(conn, "country", code)
            boundary = store.setting("boundary_wkt")
            ctry = COUNTRIES[code]
            if boundary:
                ctry = dataclasses.replace(ctry, boundary=shapely.from_wkt(boundary))
        except BaseException:
            store.close()
            raise
        return cls(store, ctry)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def set_boundary(self, path: str | Path, *, actor: str) -> None:
        """Use the polygon(s) of a boundary file, not the bounding box, for the country check."""
        from landrelease.io import read_features, to_wgs84

        gdf = to_wgs84(read_features(path))
        boundary = shapely.union_all(gdf.geometry.values)
        if boundary.is_empty or boundary.geom_type not in ("Polygon", "MultiPolygon"):
            raise ValidationError(str(path), "geometry", "a boundary file needs polygons")
        with self.store.transaction() as conn:
            self.store.set_setting(conn, "boundary_wkt", boundary.wkt)
            self.store.set_setting(conn, "boundary_source", f"{path} (set by {actor})")
        self.country = dataclasses.replace(self.country, boundary=boundary)

    # -- imports ---------------------------------------------------------------------------

    def import_file(
        self,
        path: str | Path,
        kind: str = "hazards",
        *,
        actor: str,
        reason: str | None = None,
        skip_invalid: str | Path | None = None,
        repair: bool = False,
        keep_status: bool = False,
        layer: str | None = None,
        crs: str | None = None,
        progress: Progress | None = None,
    ) -> ImportReport:
        """Import every record of a file in one transaction: all land, or none (see ImportReport).

        With `skip_invalid`, the good records land and each bad one is written to that file
        with its reason. New hazard areas start as suspected or confirmed; `keep_status`
        accepts any status as recorded by another system (a migration, or a re-import of an
        export), and says so in the audit trail.
        """
        from landrelease.io import read_features

        step = progress or (lambda _s: None)
        step("reading")
        k = kind_named(kind)
        gdf = read_features(path, layer=layer, crs=crs, require_geometry=k.geometry_required)
        return self._import_frame(
            k,
            gdf,
            actor=actor,
            reason=reason,
            skip_invalid=skip_invalid,
            repair=repair,
            keep_status=keep_status,
            source=str(path),
            progress=step,
        )

    def add_records(
        self,
        kind: str,
        records: Iterable[dict[str, Any]] | gpd.GeoDataFrame,
        *,
        actor: str,
        reason: str | None = None,
        repair: bool = False,
        keep_status: bool = False,
    ) -> list[str]:
        """Add records (dicts with a shapely "geometry", or a GeoDataFrame); return their refs."""
        if isinstance(records, gpd.GeoDataFrame):
            gdf = records
        else:
            rows = list(records)
            gdf = gpd.GeoDataFrame(
                pd.DataFrame([{k: v for k, v in r.items() if k != "geometry"} for r in rows]),
                geometry=[r.get("geometry") for r in rows],
                crs="EPSG:4326",
            )
        report = self._import_frame(
            kind_named(kind),
            gdf,
            actor=actor,
            reason=reason,
            repair=repair,
            keep_status=keep_status,
            source="api",
        )
        return report.refs

    def _import_frame(
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
    ) -> ImportReport:

        step = progress or (lambda _s: None)
        step("checking")
        report = ImportReport(kind.name, source)
        gdf = gdf.reset_index(drop=True)
        n = len(gdf)
        # Geometry checks (shapely and pyproj, which release the GIL) run in a second thread
        # while the attributes are parsed here.
        with ThreadPoolExecutor(max_workers=2) as pool:
            geometry_stage = pool.submit(self._check_geometry, kind, gdf, source, repair, pool)
            prepared = prepare_columns(kind, gdf)
            geo = geometry_stage.result()
        cols: Columns = prepared.columns
        cols["_row"] = list(range(n))  # input order, to hand the refs back in it
        problems = list(prepared.problems)
        report.ignored_columns = prepared.ignored
        if prepared.ignored:
            report.warnings.append(
                f"columns not in the {kind.name} data model were ignored: "
                + ", ".join(prepared.ignored)
            )
        if geo is not None:
            gdf = geo.frame
            problems += geo.checked.problems
            report.repairs = [
                f"{_label(p.row, cols['ref'])}: {p.message}" for p in geo.checked.repairs
            ]
            report.warnings += [
                f"{_label(p.row, cols['ref'])}: {p.message}" for p in geo.checked.warnings
            ]
            cols["geometry"] = geo.geometries
            if kind is HAZARDS:
                cols["geom_key"] = geo.keys
                cols["area_m2"] = geo.areas
            if geo.order is not None:
                cols["_order"] = geo.order

        with self.store.reading() as conn:
            problems += self._cross_checks(kind, cols, conn, keep_status=keep_status)
            report.warnings += [
                f"{_label(p.row, cols['ref'])}: {p.message}"
                for p in self._far_from_area(kind, cols, conn)
            ]

        bad = sorted({p.row for p in problems})
        if problems and skip_invalid is None:
            problems.sort(key=lambda p: p.row)
            first = problems[0]
            more = len(problems) - 1
            tail = (
                f" ({more} more problem(s) in {len(bad)} record(s); fix them, or import the "
                "good records with --skip-invalid FILE)"
                if more
                else ""
            )
            raise ValidationError(_label(first.row, cols["ref"]), first.field, first.message + tail)

        if problems:
            assert skip_invalid is not None
            self._write_rejects(gdf, problems, skip_invalid)
            report.rejected = len(bad)
            report.rejected_file = str(skip_invalid)
            keep = np.setdiff1d(np.arange(n), bad)
            cols = _take(cols, keep)

        step("writing")
        if not len(cols["ref"]):
            return report
        if kind is HAZARDS:
            # A confirmed area is a CHA (direct evidence), however it reached the registry.
            cols["hazard_type"] = [
                HazardType.CHA.value if st == Status.CONFIRMED.value else ht
                for st, ht in zip(cols["status"], cols["hazard_type"], strict=True)
            ]
        if "_order" in cols:
            # Rows stored in spatial (Hilbert) order make the R-tree tight and bbox reads
            # contiguous.
            cols = _take(cols, np.argsort(np.asarray(cols["_order"]), kind="stable"))
        at = _now()
        if keep_status and kind is HAZARDS:
            reason = (reason + "; " if reason else "") + "statuses kept as recorded by the source"
        with self.store.transaction(bulk=len(cols["ref"]) > 10_000) as conn:
            cols["ref"] = self._assign_refs(kind, cols, conn)
            self.store.insert(conn, kind, cols, at=at, actor=actor, reason=reason, batch=source)
        by_row = dict(zip(cols["_row"], cols["ref"], strict=True))
        report.refs = [by_row[i] for i in sorted(by_row)]
        return report

    def _check_geometry(
        self,
        kind: RecordKind,
        gdf: gpd.GeoDataFrame,
        source: str,
        repair: bool,
        pool: ThreadPoolExecutor,
    ) -> _Geometry | None:
        """Return the batch's geometries checked, in EPSG:4326 and stored form, with keys.

        Areas are measured on `pool`'s other worker meanwhile (repaired ones again after).
        """
        from landrelease.io import to_wgs84

        if not kind.geometry:
            return None
        has_geometry = "geometry" in gdf and bool((~gdf.geometry.isna()).any())
        if has_geometry:
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
        areas = pool.submit(area_m2, raw, self.country) if kind is HAZARDS else None
        checked = check_geometries(
            raw, kind.geometry, self.country, required=kind.geometry_required, repair=repair
        )
        geoms = checked.geometries
        geo = _Geometry(gdf, checked, geoms)
        if kind.geometry == "polygon":
            present = ~shapely.is_missing(geoms)
            geoms[present] = promote_to_multi(geoms[present])
            present[present] = ~shapely.is_empty(geoms[present])
            distance = np.full(len(geoms), np.iinfo(np.int64).max)
            if present.any():
                distance[present] = (
                    gpd.GeoSeries(geoms[present])
                    .hilbert_distance(total_bounds=self.country.bbox)
                    .to_numpy()
                )
            geo.order = distance.tolist()
        if areas is not None:
            geo.keys = geometry_keys(geoms)
            measured = areas.result()
            repaired = [p.row for p in checked.repairs]
            if repaired:
                measured[repaired] = area_m2(geoms[repaired], self.country)
            geo.areas = measured.tolist()
        return geo

    def _cross_checks(
        self, kind: RecordKind, cols: Columns, conn: Any, *, keep_status: bool = False
    ) -> list[Problem]:
        problems: list[Problem] = []
        refs = cols["ref"]
        seen: dict[str, int] = {}
        existing = self._all_refs(conn) if any(refs) else {}
        for i, ref in enumerate(refs):
            if ref is None:
                continue
            if ref in existing:
                problems.append(
                    Problem(i, "ref", f"ref {ref} is already in the registry ({existing[ref]})")
                )
            elif ref in seen:
                problems.append(
                    Problem(
                        i,
                        "ref",
                        f"ref {ref} appears twice in this batch (rows {seen[ref] + 1} and {i + 1})",
                    )
                )
            else:
                seen[ref] = i
        if kind is HAZARDS:
            verdicts: dict[tuple[str, bool], str | None] = {}
            for i, (status, evidence) in enumerate(
                zip(cols["status"], cols["evidence"], strict=True)
            ):
                if status is None or keep_status:
                    continue
                case = (status, bool(evidence and evidence.strip()))
                if case not in verdicts:
                    try:
                        lifecycle.check_new("", Status(status), evidence)
                        verdicts[case] = None
                    except IllegalTransition as exc:
                        verdicts[case] = exc.needs
                if verdicts[case] is not None:
                    problems.append(
                        Problem(
                            i,
                            "status",
                            f"a new area cannot be {status!r}: {verdicts[case]} "
                            "(to migrate records "
                            "whose status was set in another system, import with --keep-status)",
                        )
                    )
            keys = cols["geom_key"]
            stored = self.store.refs_by_key(conn, [k for k in keys if k is not None])
            first_seen: dict[int, int] = {}
            for i, k in enumerate(keys):
                if k is None:
                    continue
                if k in stored:
                    problems.append(
                        Problem(
                            i,
                            "geometry",
                            "probable duplicate: the same geometry is already stored as "
                            f"{stored[k]}",
                        )
                    )
                elif k in first_seen:
                    problems.append(
                        Problem(
                            i,
                            "geometry",
                            "probable duplicate: the same geometry as row "
                            f"{first_seen[k] + 1} of this batch",
                        )
                    )
                else:
                    first_seen[k] = i
        links = [("area_ref", HAZARDS, "hazard area"), ("activity_ref", ACTIVITIES, "activity")]
        for name, target, what in links:
            if name not in kind.field_names:
                continue
            known = self._existing_refs(target, {r for r in cols[name] if r}, conn)
            problems += [
                Problem(i, name, f"no {what} {r} in the registry")
                for i, r in enumerate(cols[name])
                if r and r not in known
            ]
        if kind is EVENTS:
            problems += check_event_ranges(cols)
            profiles = _profile_ids()
            if profiles is not None:
                for i, p in enumerate(cols["profile_id"]):
                    if p and p not in profiles:
                        problems.append(
                            Problem(
                                i,
                                "profile_id",
                                f"unknown device profile {p!r}; "
                                "see 'landrelease residual profiles'",
                            )
                        )
        if kind is ACTIVITIES:
            problems += check_activity_dates(cols)
        return problems

    def _all_refs(self, conn: Any) -> dict[str, str]:
        """Return every stored ref with its kind: a ref names one record in the registry."""
        out: dict[str, str] = {}
        for name, k in KINDS.items():
            out.update(dict.fromkeys(self.store.column_values(k, "ref", conn), name))
        return out

    def _far_from_area(self, kind: RecordKind, cols: Columns, conn: Any) -> list[Problem]:
        """Return a warning for each item or accident over 1 km from the area it names."""
        if kind not in (ITEMS, ACCIDENTS):
            return []
        wanted = {r for r in cols["area_ref"] if r}
        if not wanted:
            return []
        areas = self.store.select(HAZARDS, columns=["ref"], where={"ref": tuple(wanted)}, conn=conn)
        shape_of = dict(zip(areas["ref"], areas["geometry"], strict=True))
        rows = [
            i
            for i, (r, g) in enumerate(zip(cols["area_ref"], cols["geometry"], strict=True))
            if r in shape_of and g is not None
        ]
        if not rows:
            return []
        points = np.array([cols["geometry"][i] for i in rows], dtype=object)
        shapes = np.array([shape_of[cols["area_ref"][i]] for i in rows], dtype=object)
        # Metres from degrees at the point's latitude: ample for a 1 km warning.
        lat = np.radians(shapely.get_y(points))
        nearest = shapely.shortest_line(points, shapes)
        (x0, y0), (x1, y1) = (
            shapely.get_coordinates(shapely.get_point(nearest, k)).T for k in (0, 1)
        )
        metres = np.hypot((x1 - x0) * 111_320 * np.cos(lat), (y1 - y0) * 110_574)
        return [
            Problem(i, "geometry", f"lies {m / 1000:.1f} km from its area {cols['area_ref'][i]}")
            for i, m in zip(rows, metres.tolist(), strict=True)
            if m > 1000
        ]

    def _existing_refs(self, kind: RecordKind, refs: set[str], conn: Any) -> set[str]:
        if not refs:
            return set()
        found = self.store.select(
            kind, columns=["ref"], where={"ref": tuple(refs)}, geometry=False, conn=conn
        )
        return set(found["ref"])

    def _assign_refs(self, kind: RecordKind, cols: Columns, conn: Any) -> list[str]:
        refs = list(cols["ref"])
        missing = [i for i, r in enumerate(refs) if r is None]
        if not missing:
            return refs
        today = dt.date.today().year
        dates = cols.get(kind.date_field) if kind.date_field else None
        by_year: dict[int, list[int]] = {}
        for i in missing:
            year = int(dates[i][:4]) if dates and dates[i] else today
            by_year.setdefault(year, []).append(i)
        taken = set(self._all_refs(conn)) | {r for r in refs if r}
        for year, rows in by_year.items():
            prefix = "-".join(p for p in (self.country.code, kind.ref_code, str(year)) if p)
            while rows:
                serials = self.store.reserve_serials(conn, prefix, len(rows))
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

    # -- reading ---------------------------------------------------------------------------

    def hazard_columns(
        self,
        *,
        bbox: tuple[float, float, float, float] | None = None,
        status: str | None = None,
        columns: Sequence[str] | None = None,
    ) -> Columns:
        """Return hazard areas as columns (the bulk path: no object per row)."""
        where = {"status": lifecycle.parse_status(status).value} if status else None
        return self.store.select(HAZARDS, columns=columns, where=where, bbox=bbox)

    def hazards(
        self, *, bbox: tuple[float, float, float, float] | None = None, status: str | None = None
    ) -> gpd.GeoDataFrame:
        """Return hazard areas (optionally within a bbox and of one status) as a GeoDataFrame."""
        return _frame(HAZARDS, self.hazard_columns(bbox=bbox, status=status))

    def records(self, kind: str, *, area_ref: str | None = None) -> gpd.GeoDataFrame:
        """Return every record of a kind (optionally of one area) as a GeoDataFrame."""
        k = kind_named(kind)
        where = {"area_ref": area_ref} if area_ref else None
        return _frame(k, self.store.select(k, where=where))

    def hazard(self, ref: str) -> HazardArea:
        """Return one hazard area; raise NotFound if there is none."""
        return _to_record(HAZARDS, self.store.record(HAZARDS, ref))

    def record(self, kind: str, ref: str) -> Any:
        k = kind_named(kind)
        return _to_record(k, self.store.record(k, ref))

    def _of_area(self, kind: RecordKind, area_ref: str) -> list[Any]:
        self.store.record(HAZARDS, area_ref)  # NotFound for an unknown area
        cols = self.store.select(kind, where={"area_ref": area_ref})
        n = len(cols["ref"])
        return [
            _to_record(kind, {k: (v[i] if k != "geometry" else v[i]) for k, v in cols.items()})
            for i in range(n)
        ]

    def events(self, area_ref: str) -> list[ContaminationEvent]:
        """Return the contamination events recorded for an area."""
        return self._of_area(EVENTS, area_ref)

    def activities(self, area_ref: str) -> list[Activity]:
        """Return the activities recorded on an area."""
        return self._of_area(ACTIVITIES, area_ref)

    def items(self, area_ref: str) -> list[Item]:
        """Return the explosive ordnance items recorded in an area."""
        return self._of_area(ITEMS, area_ref)

    def summary(self) -> dict[str, Any]:
        """Return counts per kind, hazard areas per status and their total area in m2."""
        out: dict[str, Any] = {k: self.store.count(kind) for k, kind in KINDS.items()}
        out["hazards_by_status"] = self.store.counts_by(HAZARDS, "status")
        cols = self.store.select(HAZARDS, columns=["area_m2"], geometry=False)
        out["hazard_area_km2"] = float(np.nansum(np.asarray(cols["area_m2"], dtype=float))) / 1e6
        out["country"] = self.country.code
        return out

    # -- changes ---------------------------------------------------------------------------

    def area_facts(self, ref: str) -> lifecycle.AreaFacts:
        """Return what the lifecycle rules need to know about an area's records."""
        acts = self.store.select(
            ACTIVITIES,
            columns=["activity_type", "status", "evidence_found"],
            where={"area_ref": ref},
            geometry=False,
        )
        rows = list(zip(acts["activity_type"], acts["status"], acts["evidence_found"], strict=True))
        done = ActivityStatus.COMPLETED.value

        def has(
            t: ActivityType, status: str, cond: Callable[[Any], bool] = lambda _e: True
        ) -> bool:
            return any(a == t.value and s == status and cond(e) for a, s, e in rows)

        evidence = bool(
            self.store.select(ITEMS, columns=["ref"], where={"area_ref": ref}, geometry=False)[
                "ref"
            ]
            or self.store.select(
                ACCIDENTS, columns=["ref"], where={"area_ref": ref}, geometry=False
            )["ref"]
        )
        return lifecycle.AreaFacts(
            completed_nts=has(ActivityType.NTS, done),
            open_ts_or_clearance=has(ActivityType.TS, ActivityStatus.OPEN.value)
            or has(ActivityType.CLEARANCE, ActivityStatus.OPEN.value),
            completed_ts_without_evidence=has(
                ActivityType.TS, done, lambda e: e is not None and not e
            ),
            completed_clearance=has(ActivityType.CLEARANCE, done),
            completed_handover=has(ActivityType.HANDOVER, done),
            direct_evidence=evidence,
        )

    def set_status(
        self,
        ref: str,
        status: str,
        *,
        actor: str,
        reason: str | None = None,
        expected_version: int | None = None,
    ) -> HazardArea:
        """Change an area's land-release status if the lifecycle allows it; return the area."""
        target = lifecycle.parse_status(status, ref)
        with self.store.transaction() as conn:
            rec = self.store.record(HAZARDS, ref, conn=conn)
            current = Status(rec["status"])
            lifecycle.check_transition(ref, current, target, self.area_facts(ref), reason)
            values: dict[str, Any] = {"status": target.value}
            if target is Status.CONFIRMED:
                values["hazard_type"] = HazardType.CHA.value
            self.store.update(
                conn,
                HAZARDS,
                ref,
                values,
                expected_version=expected_version
                if expected_version is not None
                else rec["version"],
                action="status",
                at=_now(),
                actor=actor,
                reason=reason or f"status {current.value} -> {target.value}",
            )
        return self.hazard(ref)

    def update_record(
        self,
        kind: str,
        ref: str,
        changes: dict[str, Any],
        *,
        actor: str,
        reason: str | None = None,
        expected_version: int | None = None,
    ) -> Any:
        """Change fields of a record (not a hazard's status: use set_status); return it."""
        k = kind_named(kind)
        if k is HAZARDS and "status" in changes:
            raise ValidationError(ref, "status", "change a status with set_status (the lifecycle)")
        changes = dict(changes)
        geometry = changes.pop("geometry", UNCHANGED)
        for name in changes:
            if name not in k.field_names or name in SYSTEM_FIELDS or name == "ref":
                raise ValidationError(
                    ref, name, f"{name} is not a field of {k.name} one can change"
                )
        if geometry is None and k.geometry_required:
            raise ValidationError(ref, "geometry", f"{k.name} need a geometry")
        frame = pd.DataFrame([changes]) if changes else pd.DataFrame(index=[0])
        prepared = prepare_columns(k, frame)
        bad = [p for p in prepared.problems if p.field in changes]
        if bad:
            raise ValidationError(ref, bad[0].field, bad[0].message)
        values = {f: prepared.columns[f][0] for f in changes}
        if geometry is not UNCHANGED and geometry is not None and k.geometry:
            checked = check_geometries(np.array([geometry], dtype=object), k.geometry, self.country)
            if checked.problems:
                raise ValidationError(ref, "geometry", checked.problems[0].message)
            geometry = (
                promote_to_multi(checked.geometries)[0] if k.geometry == "polygon" else geometry
            )
            if k is HAZARDS:
                values["area_m2"] = float(area_m2(np.array([geometry]), self.country)[0])
                values["geom_key"] = geometry_keys(np.array([geometry]))[0]
        with self.store.transaction() as conn:
            rec = self.store.record(k, ref, conn=conn)
            self.store.update(
                conn,
                k,
                ref,
                values,
                geometry=geometry,
                expected_version=expected_version
                if expected_version is not None
                else rec["version"],
                action="update",
                at=_now(),
                actor=actor,
                reason=reason,
            )
        return self.record(kind, ref)

    # -- history ---------------------------------------------------------------------------

    def history(self, ref: str) -> list[dict[str, Any]]:
        """Return every version of a record, oldest first, with what changed in each."""
        rows = self.store.audit_rows(ref)
        if not rows:
            raise NotFound(f"{ref}: no record with this reference")
        out = []
        prev: dict[str, Any] = {}
        prev_geom = None
        for r in rows:
            state = r["state"]
            changes = {
                k: [prev.get(k), v] for k, v in state.items() if k != "version" and prev.get(k) != v
            }
            geom = r["geometry"]
            if not _same_geometry(prev_geom, geom):
                changes["geometry"] = [_geojson(prev_geom), _geojson(geom)]
            out.append(
                {
                    "kind": r["kind"],
                    "ref": r["ref"],
                    "version": r["version"],
                    "at": r["at"],
                    "actor": r["actor"],
                    "action": r["action"],
                    "reason": r["reason"],
                    "changes": changes,
                }
            )
            prev, prev_geom = state, geom
        return out

    def revert(self, ref: str, to_version: int, *, actor: str, reason: str | None = None) -> Any:
        """Restore a record to an earlier version, as a new audited version; return the record."""
        rows = self.store.audit_rows(ref)
        if not rows:
            raise NotFound(f"{ref}: no record with this reference")
        current = rows[-1]["version"]
        target = next((r for r in rows if r["version"] == to_version), None)
        if target is None or to_version >= current:
            raise ValidationError(
                ref,
                "version",
                f"cannot revert to version {to_version}: "
                f"choose an earlier version, 1..{current - 1}"
                if current > 1
                else f"cannot revert: {ref} has only version 1",
            )
        kind = KINDS[target["kind"]]
        values = {k: v for k, v in target["state"].items() if k not in ("ref", "version")}
        geom = target["geometry"]
        if kind is HAZARDS and geom is not None:
            values["geom_key"] = geometry_keys(np.array([geom]))[0]
        note = f"revert to version {to_version}" + (f": {reason}" if reason else "")
        with self.store.transaction() as conn:
            self.store.update(
                conn,
                kind,
                ref,
                values,
                geometry=geom,
                expected_version=current,
                action="revert",
                at=_now(),
                actor=actor,
                reason=note,
            )
        return self.record(kind.name, ref)

    # -- export ----------------------------------------------------------------------------

    def export(self, path: str | Path, kind: str = "hazards") -> int:
        """Write every record of a kind to a file chosen by its extension; return the count."""
        from landrelease.io import write_features

        k = kind_named(kind)
        gdf = _frame(k, self.store.select(k))
        write_features(gdf, path)
        return len(gdf)


@dataclass
class _Geometry:
    """What the geometry stage of an import hands back."""

    frame: gpd.GeoDataFrame
    checked: GeometryReport
    geometries: np.ndarray
    keys: list[int | None] = field(default_factory=list)
    areas: list[float] = field(default_factory=list)
    order: list[int] | None = None


def _take(cols: Columns, index: np.ndarray) -> Columns:
    """Return the columns' rows at `index` (object arrays stay arrays, lists stay lists)."""
    out: Columns = {}
    for k, v in cols.items():
        if isinstance(v, np.ndarray):
            out[k] = v[index]
        else:
            arr = np.empty(len(v), dtype=object)
            arr[:] = v
            out[k] = arr[index].tolist()
    return out


def _frame(kind: RecordKind, cols: Columns) -> gpd.GeoDataFrame:
    data: dict[str, Any] = {}
    for f in kind.fields:
        values = cols.get(f.name)
        if values is None:
            continue
        if f.kind == "int":
            data[f.name] = pd.array(values, dtype="Int64")
        elif f.kind == "float":
            data[f.name] = pd.array([np.nan if v is None else v for v in values], dtype="float64")
        elif f.kind == "bool":
            data[f.name] = pd.array(
                [None if v is None else bool(v) for v in values], dtype="boolean"
            )
        else:
            data[f.name] = pd.array(values, dtype=object)
    geometry = cols.get("geometry")
    if geometry is None:
        geometry = np.full(len(cols["ref"]), None, dtype=object)
    return gpd.GeoDataFrame(data, geometry=geometry, crs="EPSG:4326")


def _to_record(kind: RecordKind, rec: dict[str, Any]) -> Any:
    values: dict[str, Any] = {}
    for f in kind.fields:
        v = rec.get(f.name)
        if v is not None:
            if f.kind == "date":
                v = dt.date.fromisoformat(v)
            elif f.kind == "codes":
                v = tuple(p for p in v.split(";") if p)
            elif f.kind == "bool":
                v = bool(v)
        elif f.kind == "codes":
            v = ()
        values[f.name] = v
    return kind.cls(**values, geometry=rec.get("geometry"))


def _geojson(g: Any) -> Any:
    import orjson

    return None if g is None else orjson.loads(shapely.to_geojson(g))


def _same_geometry(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    return bool(shapely.equals_exact(a, b, tolerance=0))


def _profile_ids() -> set[str] | None:
    try:
        from landrelease.residual.profiles import load_profiles
    except ImportError:
        return None
    return set(load_profiles())


def record_dict(record: Any) -> dict[str, Any]:
    """Return a record's fields as JSON-ready values (dates ISO, codes as lists, GeoJSON)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(record):
        v = getattr(record, f.name)
        if f.name == "geometry":
            out["geometry"] = _geojson(v)
        elif isinstance(v, dt.date):
            out[f.name] = v.isoformat()
        elif isinstance(v, tuple):
            out[f.name] = list(v)
        else:
            out[f.name] = v
    return out
