"""The registry: the one public API of landrelease, used by the CLI, the service and notebooks.

Each method is one use case: it sequences store and domain calls in one unit of work, and holds
no rule of its own (the rules live in `domain/`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from landrelease.domain import lifecycle
from landrelease.domain.codes import ActivityStatus, ActivityType, HazardType, Status
from landrelease.domain.errors import NotFound, ValidationError
from landrelease.domain.geometry import (
    COUNTRIES,
    Country,
    geometry_keys,
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
from landrelease.records_json import geojson
from landrelease.store import UNCHANGED, Columns, Store, UnitOfWork, now_utc, open_store
from landrelease.store.base import BBox, OrderBy

if TYPE_CHECKING:  # heavy modules load where they are used: a command starts fast
    import geopandas as gpd

    from landrelease.access import Proposal
    from landrelease.domain.roles import Role, User
    from landrelease.importing import ImportReport, Progress
    from landrelease.prioritising import Ranking
    from landrelease.priority.inputs import ReferenceLayer


@dataclasses.dataclass
class AreaResidual:
    """The residual hazard of one area: the estimate, and what it was made from."""

    area: HazardArea
    estimate: Any  # residual.Estimate
    events: list[str]  # refs of the area's contamination events
    items_found: int
    cleared_share: float
    remaining: list[ContaminationEvent]  # the events of the part not yet cleared
    profiles: dict[str, Any]  # residual.DeviceProfile by id, updated by the finds
    notes: list[str]
    # residual.finds.StageShift: how far the finds moved each stage they updated
    shifts: list[Any] = dataclasses.field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Return the estimate's fields plus the area, its events, finds, what the finds
        moved ("finds_moved") and notes."""
        out: dict[str, Any] = self.estimate.as_dict()
        out.update(
            area_ref=self.area.ref,
            events=self.events,
            items_found=self.items_found,
            cleared_share=self.cleared_share,
            notes=self.notes,
            finds_moved=[s.as_dict() for s in self.shifts],
        )
        return out

    def chart(self) -> Any:  # residual.chart.ResidualChart
        """Return the curve of this estimate over time: its remaining events and updated
        profiles run on the chart's dates with the estimate's draws and seed."""
        from landrelease.residual.chart import residual_chart

        est = self.estimate
        return residual_chart(self.remaining, est, profiles=self.profiles, draws=est.draws)


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
            with store.unit_of_work() as uow:
                code = uow.settings.get("country")
                boundary = uow.settings.get("boundary_wkt")
            if code is None or (create and country):
                code = (country or "UA").upper()
                if code not in COUNTRIES:
                    raise ValidationError(
                        None, "country", f"unknown country {code!r}; known: {', '.join(COUNTRIES)}"
                    )
                with store.unit_of_work(write=True) as uow:
                    uow.settings.set("country", code)
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
        with self.store.unit_of_work(write=True) as uow:
            uow.settings.set("boundary_wkt", boundary.wkt)
            uow.settings.set("boundary_source", f"{path} (set by {actor})")
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
        encoding: str | None = None,
        progress: Progress | None = None,
        source: str | None = None,
    ) -> ImportReport:
        """Import every record of a file in one transaction: all land, or none (see ImportReport).

        With `skip_invalid`, the good records land and each bad one is written to that file
        with its reason. New hazard areas start as suspected or confirmed; `keep_status`
        accepts any status as recorded by another system (a migration, or a re-import of an
        export), and says so in the audit trail. `encoding` names the text encoding of a CSV
        or a Shapefile's .dbf (e.g. cp1251); `repair` also closes unclosed polygon rings as
        the file is read. `source` names the file in the batch record and the report when
        `path` is a copy of it (an upload); default `path`.
        """
        from landrelease.importing import Importer
        from landrelease.io import read_features

        step = progress or (lambda _s: None)
        step("reading")
        k = kind_named(kind)
        digest = _sha256_soon(path)  # read beside the import, for its batch record
        gdf = read_features(
            path,
            layer=layer,
            crs=crs,
            require_geometry=k.geometry_required,
            encoding=encoding,
            repair=repair,
        )
        return Importer(self.store, self.country, sha256=digest()).run(
            k,
            gdf,
            actor=actor,
            reason=reason,
            skip_invalid=skip_invalid,
            repair=repair,
            keep_status=keep_status,
            source=source or str(path),
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
        uow: UnitOfWork | None = None,
    ) -> list[str]:
        """Add records (dicts with a shapely "geometry", or a GeoDataFrame); return their refs.

        Given a write unit of work (`store.unit_of_work(write=True)`), the records are
        written into it: they land when its block commits, with whatever else it writes.
        """
        import geopandas as gpd
        import pandas as pd

        from landrelease.importing import Importer

        if isinstance(records, gpd.GeoDataFrame):
            gdf = records
        else:
            rows = list(records)
            gdf = gpd.GeoDataFrame(
                pd.DataFrame([{k: v for k, v in r.items() if k != "geometry"} for r in rows]),
                geometry=[r.get("geometry") for r in rows],
                crs="EPSG:4326",
            )
        report = Importer(self.store, self.country).run(
            kind_named(kind),
            gdf,
            actor=actor,
            reason=reason,
            repair=repair,
            keep_status=keep_status,
            source="api",
            uow=uow,
        )
        return report.refs

    def add_record(
        self, kind: str, record: dict[str, Any], *, actor: str, reason: str | None = None
    ) -> dict[str, Any]:
        """Add one record (a dict with a shapely "geometry"); return it as stored, with its
        version, read in the transaction that wrote it (as `stored_record` gives it)."""
        k = kind_named(kind)
        with self.store.unit_of_work(write=True, note=f"a new record by {actor}") as uow:
            (ref,) = self.add_records(k.name, [record], actor=actor, reason=reason, uow=uow)
            return uow.records(k).get(ref)

    # -- reading ---------------------------------------------------------------------------

    def record_columns(
        self,
        kind: str,
        *,
        columns: Sequence[str] | None = None,
        where: dict[str, Any] | None = None,
        bbox: BBox | None = None,
        geometry: bool = True,
        order_by: OrderBy | None = None,
        limit: int | None = None,
        offset: int = 0,
        filter: Any = None,
    ) -> Columns:
        """Return records of a kind as columns (the bulk path: no object per row).

        `columns` are the kind's fields and the change stamp (changed_at, changed_by,
        change_action, needs_check), by default the fields; `where` maps a column to a value
        or a list of values; `order_by` is a column or "-column" (descending); `offset` and
        `limit` take one page. A name that is no column is a ValidationError. Values are as
        stored: `records_json` makes JSON of them. `filter` is a CQL2 filter
        (`store.cql.parse_filter`), applied with `where`.
        """
        k = kind_named(kind)
        with self.store.unit_of_work() as uow:
            return uow.records(k).select(
                columns=columns,
                where=where,
                bbox=bbox,
                geometry=geometry,
                order_by=order_by,
                limit=limit,
                offset=offset,
                filter=filter,
            )

    def count(
        self,
        kind: str,
        *,
        where: dict[str, Any] | None = None,
        bbox: BBox | None = None,
        filter: Any = None,
    ) -> int:
        """Return how many records of a kind match `where`, `bbox` and `filter` (as
        `record_columns`)."""
        k = kind_named(kind)
        with self.store.unit_of_work() as uow:
            return uow.records(k).count(where=where, bbox=bbox, filter=filter)

    # -- OGC API Features ---

    def record_page(
        self,
        kind: str,
        *,
        columns: Sequence[str],
        where: dict[str, Any] | None = None,
        bbox: BBox | None = None,
        filter: Any = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> tuple[Columns, int]:
        """Return one page of the matching records (as `record_columns`, no geometry) and
        how many match in all, read in one snapshot; rows in the order they were stored.

        With a `bbox` the box is read once (the R-tree, then the exact test) and paged here;
        without, the page and the count are two reads of the same snapshot.
        """
        k = kind_named(kind)
        with self.store.unit_of_work() as uow:
            records = uow.records(k)
            if bbox is None:
                matched = records.count(where=where, filter=filter)
                cols = records.select(
                    columns=columns,
                    where=where,
                    filter=filter,
                    geometry=False,
                    limit=limit,
                    offset=offset,
                )
                return cols, matched
            cols = records.select(
                columns=columns, where=where, bbox=bbox, filter=filter, geometry=False
            )
        end = None if limit is None else offset + limit
        matched = len(cols[columns[0]]) if columns else 0
        return {name: values[offset:end] for name, values in cols.items()}, matched

    def extent(self, kind: str) -> tuple[BBox | None, tuple[Any, Any]]:
        """Return the bounding box of a kind's geometries (None if none) and the first and
        last value of its date field (reported_on, start_date, found_on, occurred_on)."""
        k = kind_named(kind)
        with self.store.unit_of_work() as uow:
            return uow.records(k).extent()

    def hazard_columns(
        self,
        *,
        bbox: BBox | None = None,
        status: str | None = None,
        columns: Sequence[str] | None = None,
        geometry: bool = True,
        order_by: OrderBy | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Columns:
        """Return hazard areas (optionally of one status) as columns, as `record_columns`."""
        where = {"status": lifecycle.parse_status(status).value} if status else None
        return self.record_columns(
            HAZARDS.name,
            columns=columns,
            where=where,
            bbox=bbox,
            geometry=geometry,
            order_by=order_by,
            limit=limit,
            offset=offset,
        )

    def hazards(
        self, *, bbox: tuple[float, float, float, float] | None = None, status: str | None = None
    ) -> gpd.GeoDataFrame:
        """Return hazard areas (optionally within a bbox and of one status) as a GeoDataFrame."""
        return _frame(HAZARDS, self.hazard_columns(bbox=bbox, status=status))

    def records(self, kind: str, *, area_ref: str | None = None) -> gpd.GeoDataFrame:
        """Return every record of a kind (optionally of one area) as a GeoDataFrame."""
        where = {"area_ref": area_ref} if area_ref else None
        return _frame(kind_named(kind), self.record_columns(kind, where=where))

    def hazard(self, ref: str) -> HazardArea:
        """Return one hazard area; raise NotFound if there is none."""
        return self.record(HAZARDS.name, ref)

    def stored_record(self, kind: str, ref: str, version: int | None = None) -> dict[str, Any]:
        """Return one record as stored: its fields, its change stamp and "geometry", read
        together (one snapshot); `records_json.record_json` makes JSON of it. Raise NotFound
        if there is none. A value edited outside landrelease comes back as it is.

        With `version`, that version of it (the one a change just wrote, say, though another
        writer may have written a later one since): from its history if it is not current.
        """
        k = kind_named(kind)
        with self.store.unit_of_work() as uow:
            row = uow.records(k).get(ref)
            if version is None or row["version"] == version:
                return row
            earlier = next((v for v in uow.history.versions(ref) if v["version"] == version), None)
        if earlier is None:
            raise NotFound(f"{ref}: no version {version} of this record")
        stamp = {
            "changed_at": earlier["at"],
            "changed_by": earlier["actor"],
            "change_action": earlier["action"],
            "needs_check": earlier["needs_check"],
        }
        return {
            **row,
            **earlier["state"],
            **stamp,
            "version": version,
            "geometry": earlier["geometry"],
        }

    def change_stamp(self, kind: str, ref: str) -> dict[str, Any]:
        """Return who changed a record last, when, how, and whether it awaits a check.

        `needs_check` is true for a record changed outside landrelease (QGIS, GDAL, SQL) and
        not yet checked with `landrelease check`.
        """
        row = self.stored_record(kind, ref)
        out = {c: row[c] for c in ("changed_at", "changed_by", "change_action", "needs_check")}
        out["needs_check"] = bool(out["needs_check"])
        return out

    def record(self, kind: str, ref: str) -> Any:
        """Return one record of a kind (a domain record); raise NotFound if there is none."""
        return _to_record(kind_named(kind), self.stored_record(kind, ref))

    def _of_area(self, kind: RecordKind, area_ref: str, uow: UnitOfWork | None = None) -> list[Any]:
        if uow is None:
            with self.store.unit_of_work() as read:
                return self._of_area(kind, area_ref, read)
        uow.records(HAZARDS).get(area_ref)  # NotFound for an unknown area
        cols = uow.records(kind).select(where={"area_ref": area_ref})
        n = len(cols["ref"])
        return [_to_record(kind, {k: v[i] for k, v in cols.items()}) for i in range(n)]

    def events(self, area_ref: str) -> list[ContaminationEvent]:
        """Return the contamination events recorded for an area."""
        return self._of_area(EVENTS, area_ref)

    def activities(self, area_ref: str) -> list[Activity]:
        """Return the activities recorded on an area."""
        return self._of_area(ACTIVITIES, area_ref)

    def items(self, area_ref: str) -> list[Item]:
        """Return the explosive ordnance items recorded in an area."""
        return self._of_area(ITEMS, area_ref)

    def residual_estimate(
        self,
        ref: str,
        at: dt.date | None = None,
        *,
        cleared_share: float = 0.0,
        threshold: float = 0.01,
        draws: int = 10_000,
        seed: int | None = None,
    ) -> AreaResidual:
        """Estimate the live devices left in an area at a date (default today).

        Takes the area's contamination events, accounts for the items found and the share
        already cleared or sampled (`residual.finds`), then runs the Monte Carlo model.
        """
        from landrelease.residual import estimate
        from landrelease.residual.finds import account_for_finds
        from landrelease.residual.montecarlo import check_threshold

        check_threshold(threshold)
        if not 0.0 <= cleared_share <= 1.0:
            raise ValidationError(
                ref, "cleared_share", f"must lie between 0 and 1, got {cleared_share}"
            )
        with self.store.unit_of_work() as uow:
            hazard = _to_record(HAZARDS, uow.records(HAZARDS).get(ref))
            events = self._of_area(EVENTS, ref, uow)
            items = self._of_area(ITEMS, ref, uow)
        if not events:
            raise ValidationError(
                ref,
                "events",
                "no contamination events are recorded for this area, so there is nothing to "
                "estimate; add one with `landrelease import --kind events`",
            )
        account = account_for_finds(events, items, cleared_share=cleared_share)
        when = at or dt.date.today()
        est = estimate(
            account.events,
            when,
            draws=draws,
            seed=seed,
            threshold=threshold,
            profiles=account.profiles,
        )
        return AreaResidual(
            area=hazard,
            estimate=est,
            events=[e.ref for e in events],
            items_found=sum(int(i.quantity or 0) for i in items),
            cleared_share=cleared_share,
            remaining=account.events,
            profiles=account.profiles,
            notes=account.notes,
            shifts=account.shifts,
        )

    def residual_timeline(
        self,
        ref: str,
        at: dt.date | None = None,
        *,
        seed: int | None = None,
        draws: int = 2000,
        cleared_share: float = 0.0,
        threshold: float = 0.01,
    ) -> Any:  # residual.chart.ResidualChart
        """Return the residual curve of an area: expected live devices, their 90% range and
        the chance one is live over time, beside the estimate at `at` (default today).

        The series `landrelease residual area REF --plot` draws; the estimate and the curve
        share `draws` and the seed.
        """
        res = self.residual_estimate(
            ref, at, cleared_share=cleared_share, threshold=threshold, draws=draws, seed=seed
        )
        return res.chart()

    @staticmethod
    def residual_profiles() -> list[Any]:  # residual.DeviceProfile
        """Return the device profiles of the residual model, in the profiles file's order.

        Static, as `residual_scenario`: they read no registry, so need none open."""
        from landrelease import residual_cases

        return residual_cases.profiles()

    @staticmethod
    def residual_scenario(
        *,
        profile: str,
        count: int,
        emplaced_on: dt.date,
        at: dt.date,
        count_low: int | None = None,
        count_high: int | None = None,
        emplaced_until: dt.date | None = None,
        threshold: float = 0.01,
        draws: int = 10_000,
        seed: int | None = None,
    ) -> Any:  # residual.Estimate
        """Estimate `count` devices of `profile` emplaced on `emplaced_on` (to
        `emplaced_until`) at `at`, recorded nowhere: expected live devices and the range of
        that expected count, the 90% range of the actual number live, the chance one is
        live and the safe date.

        A bad argument is a ValidationError naming it (`count`, `count_low`, `at`, ...).
        Static: a scenario reads no registry (`Registry.residual_scenario(...)`).
        """
        from landrelease import residual_cases

        return residual_cases.scenario(
            residual_cases.Scenario(
                profile=profile,
                count=count,
                emplaced_on=emplaced_on,
                at=at,
                count_low=count_low,
                count_high=count_high,
                emplaced_until=emplaced_until,
                threshold=threshold,
                draws=draws,
                seed=seed,
            )
        )

    @staticmethod
    def residual_scenario_timeline(**scenario: Any) -> Any:  # residual.chart.ResidualChart
        """Return the curve of a scenario (the arguments of `residual_scenario`) over time,
        beside its estimate (`.estimate`): the same draws and seed."""
        from landrelease import residual_cases

        return residual_cases.scenario_chart(residual_cases.Scenario(**scenario))

    def residual_estimates(
        self,
        at: dt.date | None = None,
        *,
        threshold: float = 0.01,
        draws: int = 2000,
        seed: int | None = None,
        progress: Callable[[int, int], None] | None = None,
        expected_only: bool = False,
    ) -> Any:  # residual_cases.ResidualTable
        """Estimate the live devices of every hazard area with contamination events at `at`
        (default today), in one vectorised run: a `residual_cases.ResidualTable`.

        Each area's finds count as in `residual_estimate` with nothing cleared. `progress`
        is called with (areas done, areas in all) from the run's worker threads.
        `expected_only`: the expected count and its range only (no actual range, no safe
        date), about three times faster.
        """
        from landrelease import residual_cases

        return residual_cases.estimates(
            self,
            at,
            threshold=threshold,
            draws=draws,
            seed=seed,
            progress=progress,
            expected_only=expected_only,
        )

    def residual_export(
        self,
        path: str | Path,
        at: dt.date | None = None,
        *,
        threshold: float = 0.01,
        draws: int = 2000,
        seed: int | None = None,
        progress: Callable[[int, int], None] | None = None,
        overwrite: bool = False,
    ) -> Any:  # residual_cases.ResidualTable
        """Write `residual_estimates` to `path` (.gpkg: a layer "residual" of the areas'
        outlines; .csv: the table) and return it. A path of another kind, or one that cannot
        be written, is a ValidationError naming `out`, raised before the run."""
        from landrelease import residual_cases

        return residual_cases.export(
            self,
            path,
            at,
            threshold=threshold,
            draws=draws,
            seed=seed,
            progress=progress,
            overwrite=overwrite,
        )

    def summary(self) -> dict[str, Any]:
        """Return counts per kind, hazard areas per status and their total area in m2."""
        with self.store.unit_of_work() as uow:
            out: dict[str, Any] = {k: uow.records(kind).count() for k, kind in KINDS.items()}
            out["hazards_by_status"] = uow.records(HAZARDS).counts_by("status")
            cols = uow.records(HAZARDS).select(columns=["area_m2"], geometry=False)
        out["hazard_area_km2"] = float(np.nansum(np.asarray(cols["area_m2"], dtype=float))) / 1e6
        out["country"] = self.country.code
        return out

    # -- the public view ---
    # What may be published is decided once, in `landrelease.public` (rules in
    # `domain.public`); the OGC API of an anonymous request, tiles and the public map use
    # only these.

    def public_hazard_columns(
        self,
        *,
        bbox: BBox | None = None,
        limit: int | None = None,
        offset: int = 0,
        grid_m: float = 1000.0,
        filter: Any = None,
    ) -> tuple[Columns, int]:
        """Return one page (by ref) of the public view of hazard areas and how many match.

        Columns: ref, status, hazard_type, contamination (a list of codes), warning, and
        "geometry": each outline generalised to the cells of a `grid_m` grid it touches
        (shapely MultiPolygons, EPSG:4326). With `bbox`, an area matches when its
        generalised outline meets the box (never by its exact outline). A `filter` (parsed
        CQL2, as `record_columns` takes) runs in the store; the caller keeps it to public
        properties.
        """
        from landrelease import public

        return public.hazard_columns(
            self, bbox=bbox, limit=limit, offset=offset, grid_m=grid_m, filter=filter
        )

    def public_hazard(self, ref: str, *, grid_m: float = 1000.0) -> dict[str, Any]:
        """Return the public view of one hazard area (the columns of `public_hazard_columns`
        as a dict); NotFound if there is none with this ref."""
        from landrelease import public

        return public.hazard(self, ref, grid_m=grid_m)

    # -- changes ---------------------------------------------------------------------------

    def area_facts(self, ref: str, uow: UnitOfWork | None = None) -> lifecycle.AreaFacts:
        """Return what the lifecycle rules need to know about an area's records.

        Pass the unit of work of a change to read the facts inside it.
        """
        if uow is None:
            with self.store.unit_of_work() as read:
                return self.area_facts(ref, read)
        acts = uow.records(ACTIVITIES).select(
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

        evidence = any(uow.records(k).count(where={"area_ref": ref}) for k in (ITEMS, ACCIDENTS))
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
        uow: UnitOfWork | None = None,
    ) -> HazardArea:
        """Change an area's land-release status if the lifecycle allows it; return the area.

        Given a write unit of work, the change is made in it and lands when its block commits,
        with whatever else it writes (a proposal's decision, say).
        """
        target = lifecycle.parse_status(status, ref)
        if uow is None:
            with self.store.unit_of_work(write=True) as own:
                return self.set_status(
                    ref,
                    status,
                    actor=actor,
                    reason=reason,
                    expected_version=expected_version,
                    uow=own,
                )
        areas = uow.records(HAZARDS)
        rec = areas.get(ref)
        current = Status(rec["status"])
        facts = self.area_facts(ref, uow)  # read in the same transaction as the change
        lifecycle.check_transition(ref, current, target, facts, reason)
        values: dict[str, Any] = {"status": target.value}
        if target is Status.CONFIRMED:
            values["hazard_type"] = HazardType.CHA.value
        areas.update(
            ref,
            values,
            expected_version=expected_version if expected_version is not None else rec["version"],
            action="status",
            at=now_utc(),
            actor=actor,
            reason=reason or f"status {current.value} -> {target.value}",
        )
        return _to_record(HAZARDS, areas.get(ref))

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
        from landrelease.checking import check_edit

        # Every check of an edit (domain.checks), on the stored row plus the changes: what
        # the import refuses, the edit refuses, where the change is at fault. The checks run
        # before the write lock; the edit is written at the version they checked, so that a
        # change made meanwhile is a conflict, not an edit checked against another row.
        with self.store.unit_of_work() as uow:
            edit = check_edit(uow, self.country, k, ref, changes, geometry)
        with self.store.unit_of_work(write=True) as uow:
            records = uow.records(k)
            records.update(
                ref,
                edit.values,
                geometry=edit.geometry,
                expected_version=expected_version if expected_version is not None else edit.version,
                action="update",
                at=now_utc(),
                actor=actor,
                reason=reason,
            )
            return _to_record(k, records.get(ref))

    def check(self, *, fix: bool = False, actor: str) -> list[Any]:
        """Check every record changed outside landrelease; with `fix`, settle those that pass.

        Returns one `checking.RecordCheck` per flagged record: its problems (by field) and
        warnings, and for a hazard area its stored and re-measured area. With `fix`, each
        record without problems gets its area re-measured and its geometry key made again,
        and its flag cleared, as a new version (action "check"); the others stay flagged.
        """
        from landrelease.checking import check_flagged

        with self.store.unit_of_work() as uow:
            found = check_flagged(uow, self.country)
        if not fix:
            return [rc for rc, _ in found]
        at = now_utc()
        for rc, values in found:
            if rc.problems:
                continue
            with self.store.unit_of_work(write=True) as uow:
                uow.records(KINDS[rc.kind]).update(
                    rc.ref,
                    values,
                    expected_version=rc.version,
                    action="check",
                    at=at,
                    actor=actor,
                    reason="checked after a change made outside landrelease",
                    checked=True,
                )
            rc.fixed = True
        return [rc for rc, _ in found]

    # -- history ---------------------------------------------------------------------------

    def history(self, ref: str) -> list[dict[str, Any]]:
        """Return every version of a record, oldest first, with what changed in each."""
        with self.store.unit_of_work() as uow:
            rows = uow.history.versions(ref)
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
                changes["geometry"] = [geojson(prev_geom), geojson(geom)]
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

    def revert(
        self,
        ref: str,
        to_version: int,
        *,
        actor: str,
        reason: str | None = None,
        expected_version: int | None = None,
    ) -> Any:
        """Restore a record to an earlier version, as a new audited version; return the record.

        Given `expected_version` (the version the caller read), a record changed since is a
        ConflictError and nothing is written.
        """
        from landrelease.checking import check_revert

        with self.store.unit_of_work() as uow:
            rows = uow.history.versions(ref)
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
            # A correction, outside the lifecycle; but what it restores must still hold.
            check_revert(uow, self.country, kind, ref, to_version, values, geom)
        note = f"revert to version {to_version}" + (f": {reason}" if reason else "")
        with self.store.unit_of_work(write=True) as uow:
            records = uow.records(kind)
            records.update(
                ref,
                values,
                geometry=geom,
                expected_version=expected_version if expected_version is not None else current,
                action="revert",
                at=now_utc(),
                actor=actor,
                reason=note,
            )
            return _to_record(kind, records.get(ref))

    # -- users and proposals ---------------------------------------------------------------
    # The use cases live in `landrelease.access`; each method here is its door.

    def add_user(self, name: str, role: str | Role, *, actor: str) -> str:
        """Add a user with a role; return their token, shown once (only its hash is kept).

        A bad or taken name, or an unknown role, is a ValidationError naming the field.
        """
        from landrelease import access

        return access.add_user(self, name, role, actor=actor)

    def users(self) -> list[dict[str, Any]]:
        """Return every user (name, role, created_at/by, revoked_at/by); never a token."""
        from landrelease import access

        return access.users(self)

    def revoke_user(self, name: str, *, actor: str) -> dict[str, Any]:
        """Revoke a user's token at once and end their sessions; return the user's row."""
        from landrelease import access

        return access.revoke_user(self, name, actor=actor)

    def user_for_token(self, token: str) -> User | None:
        """Return the active user holding a bearer token, or None."""
        from landrelease import access

        return access.user_for_token(self, token)

    def token_seen(self, token: str) -> bool:
        """Return whether a bearer token was verified by this process already (then
        `user_for_token` reads one row, and verifies nothing slow)."""
        from landrelease import access

        return access.token_seen(token)

    def start_session(self, name: str, token: str, *, hours: float) -> tuple[str, str] | None:
        """Sign a user in with their token: return (session id, CSRF token), or None."""
        from landrelease import access

        return access.start_session(self, name, token, hours=hours)

    def user_for_session(self, session_id: str) -> User | None:
        """Return the user of a live browser session, or None."""
        from landrelease import access

        return access.user_for_session(self, session_id)

    def session_csrf(self, session_id: str) -> str | None:
        """Return the CSRF token of a live browser session, or None."""
        from landrelease import access

        return access.session_csrf(self, session_id)

    def end_session(self, session_id: str) -> None:
        """End a browser session (sign out)."""
        from landrelease import access

        access.end_session(self, session_id)

    def request_status(
        self,
        ref: str,
        status: str,
        *,
        user: User,
        reason: str | None = None,
        expected_version: int | None = None,
    ) -> dict[str, Any] | Proposal:
        """Change an area's status as `user` may: return the area as stored, or the
        proposal an editor makes of a land-release decision (see `access.request_status`)."""
        from landrelease import access

        return access.request_status(
            self, ref, status, user=user, reason=reason, expected_version=expected_version
        )

    def proposals(self, state: str = "pending") -> list[Proposal]:
        """Return the status proposals in `state` (pending, approved, rejected or all)."""
        from landrelease import access

        return access.proposals(self, state)

    def proposal(self, proposal_id: int) -> Proposal:
        """Return one status proposal; NotFound if there is none with this id."""
        from landrelease import access

        return access.proposal(self, proposal_id)

    def approve_proposal(
        self, proposal_id: int, *, user: User, reason: str | None = None
    ) -> tuple[Proposal, dict[str, Any]]:
        """Apply a pending proposal as a validator; return it and the area as stored."""
        from landrelease import access

        return access.approve_proposal(self, proposal_id, user=user, reason=reason)

    def reject_proposal(self, proposal_id: int, *, user: User, reason: str) -> Proposal:
        """Reject a pending proposal as a validator, saying why; return it."""
        from landrelease import access

        return access.reject_proposal(self, proposal_id, user=user, reason=reason)

    # -- field submissions and their review -------------------------------------------------
    # The use cases live in `landrelease.reviewing`; each method here is its door.

    @staticmethod
    def export_forms(directory: str | Path) -> list[Path]:
        """Write the field forms (XLSForm .xlsx, made from the registry's codes) into
        `directory`; return their paths."""
        from landrelease.field.forms import export_forms

        return export_forms(directory)

    def import_submissions(
        self,
        path: str | Path,
        *,
        actor: str,
        form_id: str | None = None,
        accuracy_limit_m: float | None = None,
    ) -> Any:  # reviewing.QueueReport
        """Queue the submissions of an ODK Central or KoboToolbox export for review."""
        from landrelease import reviewing

        return reviewing.import_submissions(
            self, path, actor=actor, form_id=form_id, accuracy_limit_m=accuracy_limit_m
        )

    def queue_submissions(
        self, subs: list[Any], *, actor: str, source: str, accuracy_limit_m: float | None = None
    ) -> Any:  # reviewing.QueueReport
        """Queue submissions already read (field.submission.Submission) for review."""
        from landrelease import reviewing

        return reviewing.queue_submissions(
            self, subs, actor=actor, source=source, accuracy_limit_m=accuracy_limit_m
        )

    def submissions(self, state: str | None = "pending") -> list[dict[str, Any]]:
        """Return the queued field submissions in `state` (None: all), the oldest first."""
        from landrelease import reviewing

        return reviewing.submissions(self, state)

    def submission(self, submission_id: int) -> dict[str, Any]:
        """Return one field submission for review: values, planned records, diffs, flags,
        history."""
        from landrelease import reviewing

        return reviewing.submission(self, submission_id)

    def approve_submission(
        self, submission_id: int, *, actor: str, override: str | None = None
    ) -> dict[str, Any]:
        """Write a pending submission's records with the decision; `override` for flags."""
        from landrelease import reviewing

        return reviewing.approve_submission(self, submission_id, actor=actor, override=override)

    def reject_submission(self, submission_id: int, *, actor: str, reason: str) -> dict[str, Any]:
        """Reject a pending field submission, saying why."""
        from landrelease import reviewing

        return reviewing.reject_submission(self, submission_id, actor=actor, reason=reason)

    def edit_submission(
        self,
        submission_id: int,
        changes: dict[str, str],
        *,
        actor: str,
        reason: str | None = None,
    ) -> dict[str, Any]:
        """Correct values of a pending field submission and check it again."""
        from landrelease import reviewing

        return reviewing.edit_submission(self, submission_id, changes, actor=actor, reason=reason)

    # -- reference layers (prioritisation) -------------------------------------------------
    # The use cases live in `landrelease.layering`; each method here is its door.

    def add_layer(
        self,
        kind: str,
        path: str | Path | gpd.GeoDataFrame,
        *,
        name: str | None = None,
        source: str | None = None,
        actor: str,
        progress: Callable[[str], None] | None = None,
    ) -> dict[str, Any]:
        """Add a reference layer (settlements, buildings, roads, landuse, facilities) from a
        file any import reads (or a GeoDataFrame), reprojected to EPSG:4326; return its row
        (name, kind, features, source, added_at/by, content_sha256...) and what the check
        did (field_from, repaired, skipped, warnings).

        `name` defaults to the kind; `source` to the path. A wrong geometry type, a missing
        or unreadable field (population, a road or land-use class, a facility kind), no
        feature, or a name in use is a ValidationError naming the field, and nothing is
        written. See `landrelease.layering` for the fields and classes accepted.
        """
        from landrelease import layering

        return layering.add_layer(
            self, kind, path, name=name, source=source, actor=actor, progress=progress
        )

    def layers(self) -> list[dict[str, Any]]:
        """Return every reference layer: kind, name, features, source, added_at/by, ..."""
        from landrelease import layering

        return layering.layers(self)

    def remove_layer(self, name: str, *, actor: str) -> dict[str, Any]:
        """Remove a reference layer (its table and every registration); return its row."""
        from landrelease import layering

        return layering.remove_layer(self, name, actor=actor)

    def reference_layers(self) -> dict[str, ReferenceLayer | None]:
        """Return {kind: priority.inputs.ReferenceLayer or None}: each kind's layers as one."""
        from landrelease import layering

        return layering.reference_layers(self)

    # -- prioritisation --------------------------------------------------------------------
    # The use cases live in `landrelease.prioritising`; each method here is its door.

    def prioritize(
        self,
        *,
        config_text: str | None = None,
        as_of: dt.date | None = None,
        save: bool = False,
        actor: str,
        workers: int | None = None,
        scheduler: str | None = None,
        progress: Callable[[str, int, int], None] | None = None,
        out: str | Path | None = None,
        overwrite: bool = False,
    ) -> Ranking:
        """Rank the hazard areas of the configuration's `[ranking] statuses`: a
        `prioritising.Ranking` (id, as_of, config, rows by rank, warnings, saved).

        `config_text` is a TOML configuration merged over the defaults (None: the defaults;
        an error names its line); `as_of` the date accidents and the residual model are
        counted to (default today). Everything is read in one snapshot; the id hashes the
        configuration, the reference layers' contents, the records' refs and versions,
        `as_of` and the engine version, so the same inputs give the same id and rows. A
        missing reference layer makes its component 0, with a warning naming it.

        `save` keeps it in the registry (append-only; an id saved already is left as it is,
        `already_saved`). `workers` (a local dask cluster) or `scheduler` (the address of a
        running one) compute the components partition by partition, with the same values.
        `out` (.csv, .gpkg, .geojson; checked before the run, an existing file replaced only
        with `overwrite`) receives every ranked area with its outline. `progress` is called
        with (step, done, total).
        """
        from landrelease import prioritising

        return prioritising.prioritize(
            self,
            config_text=config_text,
            as_of=as_of,
            save=save,
            actor=actor,
            workers=workers,
            scheduler=scheduler,
            progress=progress,
            out=out,
            overwrite=overwrite,
        )

    def rankings(self) -> list[dict[str, Any]]:
        """Return every saved ranking, the oldest first (id, created_at, created_by, as_of,
        areas, config text, inputs)."""
        from landrelease import prioritising

        return prioritising.rankings(self)

    def ranking(
        self, ranking_id: str | None = None, *, limit: int | None = None, offset: int = 0
    ) -> dict[str, Any]:
        """Return a saved ranking (None: the latest; NotFound if none) with its rows by
        rank from `offset` (at most `limit`): rank, ref, score, components, contributions."""
        from landrelease import prioritising

        return prioritising.ranking(self, ranking_id, limit=limit, offset=offset)

    def explain_priority(self, ref: str, ranking_id: str | None = None) -> dict[str, Any]:
        """Return how an area got its score in a saved ranking (None: the latest): its rank,
        score and one line per component (raw, unit, weight, contribution, how).

        The values are the saved ranking's, under its configuration; the detail of `how`
        (people per band, road km per class...) is measured again around the area, and
        `detail_current` says whether the registry is still as the ranking read it.
        """
        from landrelease import prioritising

        return prioritising.explain(self, ref, ranking_id)

    def latest_ranks(self) -> tuple[str | None, dict[str, int]]:
        """Return the id of the latest saved ranking and each ranked area's rank by ref
        ((None, {}) if no ranking is saved)."""
        from landrelease import prioritising

        return prioritising.latest_ranks(self)

    # -- export ----------------------------------------------------------------------------

    def export(self, path: str | Path, kind: str = "hazards", *, overwrite: bool = False) -> int:
        """Write every record of a kind to a file chosen by its extension; return the count.

        The layer (sheet, Shapefile) is named after the kind's table (`hazard_areas`); dates
        are dates where the format has them (GeoPackage DATE, GeoParquet date32). An
        existing file is refused (InputFileError) unless `overwrite`.
        """
        from landrelease.io import check_writable, dates_of_text, write_features

        k = kind_named(kind)
        check_writable(Path(path), overwrite=overwrite)  # before reading every record
        gdf = _frame(k, self.store.select(k))
        for f in k.fields:
            if f.kind == "date" and f.name in gdf.columns:
                gdf[f.name] = dates_of_text(gdf[f.name])
        write_features(gdf, path, layer=k.table, overwrite=overwrite)
        return len(gdf)


def _sha256_soon(path: str | Path) -> Callable[[], str | None]:
    """Start hashing a file on a thread; return a function that waits for its SHA-256."""
    import hashlib
    import threading

    out: list[str | None] = [None]

    def work() -> None:
        try:
            digest = hashlib.sha256()
            with open(path, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
            out[0] = digest.hexdigest()
        except OSError:
            pass  # the reader says what is wrong with the file

    thread = threading.Thread(target=work, daemon=True)
    thread.start()

    def result() -> str | None:
        thread.join()
        return out[0]

    return result


def _frame(kind: RecordKind, cols: Columns) -> gpd.GeoDataFrame:
    import geopandas as gpd
    import pandas as pd

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
                # a date typed in QGIS may be any text: shown as it is (and flagged)
                with contextlib.suppress(ValueError, TypeError):
                    v = dt.date.fromisoformat(v)
            elif f.kind == "codes":
                v = tuple(p for p in v.split(";") if p)
            elif f.kind == "bool":
                v = bool(v)
        elif f.kind == "codes":
            v = ()
        values[f.name] = v
    return kind.cls(**values, geometry=rec.get("geometry"))


def _same_geometry(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    return bool(shapely.equals_exact(a, b, tolerance=0))
