"""The residual model's use cases: the device profiles, a scenario, and every recorded area at
once; the `Registry.residual_*` methods call them, so that the CLI and the service serve the
same numbers.

`estimates` reads the registry in bulk (the events, the items, the areas: three reads in one
unit of work), accounts for the finds only of the areas that have items, and runs the
vectorised Monte Carlo (`residual.estimate_batch`) over all areas at once: no query and no
model run per area.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from landrelease.domain.errors import InputFileError, ValidationError
from landrelease.domain.records import EVENTS, HAZARDS, ITEMS, ContaminationEvent, Item

if TYPE_CHECKING:  # the model (numpy, scipy) loads when a residual use case runs
    import geopandas as gpd

    from landrelease.registry import Registry
    from landrelease.residual import DeviceProfile, Estimate, EventArrays
    from landrelease.residual.chart import ResidualChart

Progress = Callable[[int, int], None]  # (areas done, areas in all), called from worker threads

RECORD = "residual"  # the record named by errors of a scenario or of a run over every area
SCENARIO_DRAWS = (100, 1_000_000)
BATCH_DRAWS = (100, 100_000)  # per area and chunk: 100 areas x draws x 8 bytes x a few arrays
OUT_SUFFIXES = (".gpkg", ".csv")
OUT_LAYER = "residual"
_EPOCH = dt.date(1970, 1, 1).toordinal()  # datetime64[D] counts days from here


# -- the profiles ------------------------------------------------------------------------------


def profiles() -> list[DeviceProfile]:
    """Return the device profiles the model knows, in the order of the profiles file."""
    from landrelease.residual import load_profiles

    return list(load_profiles().values())


# -- a scenario: one profile, a count, an emplacement date -------------------------------------


def check_run(threshold: float, draws: int, seed: int | None, limits: tuple[int, int]) -> None:
    """Raise a ValidationError naming `threshold`, `draws` or `seed` if one is out of range."""
    if not 0.0 < threshold < 1.0:
        raise ValidationError(
            RECORD, "threshold", f"must lie strictly between 0 and 1, got {threshold}"
        )
    low, high = limits
    if not low <= draws <= high:
        raise ValidationError(
            RECORD, "draws", f"use between {low:,} and {high:,} draws, got {draws:,}"
        )
    if seed is not None and not 0 <= seed < 2**63:
        raise ValidationError(RECORD, "seed", f"must be 0 or more and below 2**63, got {seed}")


@dataclass(frozen=True)
class Scenario:
    """A scenario: `count` devices of `profile` emplaced on `emplaced_on` (to
    `emplaced_until`), estimated at `at`; the arguments of `Registry.residual_scenario`."""

    profile: str
    count: int
    emplaced_on: dt.date
    at: dt.date
    count_low: int | None = None
    count_high: int | None = None
    emplaced_until: dt.date | None = None
    threshold: float = 0.01
    draws: int = 10_000
    seed: int | None = None

    def checked(self) -> tuple[ContaminationEvent, dict[str, DeviceProfile]]:
        """Return the scenario as one contamination event, and the known profiles.

        Each check names the argument the caller gave wrongly: a negative count names
        `count`; a low count above the count names `count_low` (the count alone is never
        blamed on it).
        """
        from landrelease.residual import load_profiles

        known = load_profiles()
        if self.profile not in known:
            raise ValidationError(
                RECORD,
                "profile",
                f"unknown device profile {self.profile!r}; use one of "
                f"{', '.join(sorted(known))} (see `landrelease residual profiles`)",
            )
        count, low, high = self.count, self.count_low, self.count_high
        if count < 0:
            raise ValidationError(RECORD, "count", f"must be 0 or more, got {count}")
        if low is not None:
            if low < 0:
                raise ValidationError(RECORD, "count_low", f"must be 0 or more, got {low}")
            if low > count:
                raise ValidationError(
                    RECORD, "count_low", f"{low} is above the best count {count}; lower it"
                )
        if high is not None and high < count:
            raise ValidationError(
                RECORD, "count_high", f"{high} is below the best count {count}; raise it"
            )
        on, until = self.emplaced_on, self.emplaced_until
        if until is not None and until < on:
            raise ValidationError(
                RECORD, "emplaced_until", f"{until} is before the emplacement date {on}; swap them"
            )
        if self.at < on:
            raise ValidationError(
                RECORD,
                "at",
                f"{self.at} is before the emplacement date {on}; ask for a later date",
            )
        check_run(self.threshold, self.draws, self.seed, SCENARIO_DRAWS)
        event = ContaminationEvent(
            ref="scenario",
            area_ref="scenario",
            profile_id=self.profile,
            quantity_low=count if low is None else low,
            quantity_best=count,
            quantity_high=count if high is None else high,
            emplaced_on=on,
            emplaced_until=until,
        )
        return event, known


def scenario(s: Scenario) -> Estimate:
    """Return the estimate of a scenario: expected live devices and the range of that
    expected count, the 90% range of the actual number live, P(any live), the safe date."""
    from landrelease.residual import estimate

    event, known = s.checked()
    return estimate(
        [event], s.at, draws=s.draws, seed=s.seed, threshold=s.threshold, profiles=known
    )


def scenario_chart(s: Scenario) -> ResidualChart:
    """Return the curve of a scenario beside its estimate (the same draws and seed)."""
    from landrelease.residual.chart import residual_chart

    event, known = s.checked()
    return residual_chart([event], scenario(s), profiles=known, draws=s.draws)


# -- every area at once ------------------------------------------------------------------------


@dataclass
class ResidualTable:
    """The residual estimate of every hazard area with contamination events, from one run.

    One entry per area in each column, areas by ref: `expected` (the Monte Carlo mean of the
    live devices) with `expected_p05`..`expected_p95`, the range of the expected count over
    the profiles' uncertainty; `actual_low`..`actual_high`, the 90% range of the number
    actually live; `p_any_live`; `safe_date` (None: never below the threshold). `finds_used`
    says whether the area's finds updated a profile; `geometry` holds the outlines when they
    were asked for.
    """

    at: dt.date
    draws: int
    seed: int
    threshold: float
    ref: list[str]
    name: list[str | None]
    status: list[str | None]
    expected: NDArray[np.float64]
    expected_p05: NDArray[np.float64]
    expected_p95: NDArray[np.float64]
    actual_low: NDArray[np.int64]
    actual_high: NDArray[np.int64]
    p_any_live: NDArray[np.float64]
    safe_date: list[dt.date | None]
    finds_used: NDArray[np.bool_]
    geometry: NDArray[Any] | None = None

    def __len__(self) -> int:
        return len(self.ref)

    def rows(self) -> list[dict[str, Any]]:
        """Return one JSON-ready dict per area (dates as YYYY-MM-DD)."""
        cols = {
            "ref": self.ref,
            "name": self.name,
            "status": self.status,
            "expected": self.expected.tolist(),
            "expected_p05": self.expected_p05.tolist(),
            "expected_p95": self.expected_p95.tolist(),
            "actual_low": self.actual_low.tolist(),
            "actual_high": self.actual_high.tolist(),
            "p_any_live": self.p_any_live.tolist(),
            "safe_date": [d.isoformat() if d else None for d in self.safe_date],
            "finds_used": self.finds_used.tolist(),
        }
        return [dict(zip(cols, values, strict=True)) for values in zip(*cols.values(), strict=True)]

    def frame(self) -> gpd.GeoDataFrame:
        """Return the table as a GeoDataFrame (EPSG:4326; dates as dates), with the run's
        date, threshold, draws and seed on every row so that a file read alone says them."""
        import geopandas as gpd
        import pandas as pd

        n = len(self)
        data = pd.DataFrame(
            {
                "ref": pd.array(self.ref, dtype=object),
                "name": pd.array(self.name, dtype=object),
                "status": pd.array(self.status, dtype=object),
                "expected": self.expected,
                "expected_p05": self.expected_p05,
                "expected_p95": self.expected_p95,
                "actual_low": self.actual_low,
                "actual_high": self.actual_high,
                "p_any_live": self.p_any_live,
                "safe_date": pd.array(self.safe_date, dtype=object),
                "finds_used": self.finds_used,
                "at": pd.array([self.at] * n, dtype=object),
                "threshold": np.full(n, self.threshold),
                "draws": np.full(n, self.draws, dtype=np.int64),
                "seed": np.full(n, self.seed, dtype=np.int64),
            }
        )
        geometry = self.geometry if self.geometry is not None else np.full(n, None, dtype=object)
        return gpd.GeoDataFrame(data, geometry=geometry, crs="EPSG:4326")


def estimates(
    reg: Registry,
    at: dt.date | None = None,
    *,
    threshold: float = 0.01,
    draws: int = 2000,
    seed: int | None = None,
    progress: Progress | None = None,
    outlines: bool = False,
    expected_only: bool = False,
) -> ResidualTable:
    """Return the residual estimate of every hazard area with contamination events at `at`
    (default today), from one Monte Carlo run (`residual.estimate_batch`).

    Each area's finds are accounted as `Registry.residual_estimate` does with nothing cleared;
    an area whose finds update a profile gets its own copy of that profile. Devices whose
    emplacement date is still to come on `at` are not live then (an area emplaced later has
    zeros). `outlines` adds each area's geometry. `expected_only` leaves out the range of
    the actual count (zeros) and the safe date (None), about three times faster: for a
    caller that needs only the expected count (prioritisation).
    """
    from landrelease.residual import estimate_batch, load_profiles

    check_run(threshold, draws, seed, BATCH_DRAWS)
    when = at or dt.date.today()
    with reg.store.unit_of_work() as uow:
        events = uow.records(EVENTS).select(
            columns=[
                "ref",
                "area_ref",
                "profile_id",
                "quantity_low",
                "quantity_best",
                "quantity_high",
                "emplaced_on",
                "emplaced_until",
            ],
            geometry=False,
        )
        with_events = sorted({a for a in events["area_ref"] if a})
        areas = uow.records(HAZARDS).select(
            columns=["ref", "name", "status"],
            where={"ref": with_events},
            geometry=outlines,
        )
        items = uow.records(ITEMS).select(
            columns=["ref", "area_ref", "category", "state", "quantity", "found_on"],
            where={"area_ref": with_events},
            geometry=False,
        )
    known = load_profiles()
    ev, finds_used = _event_arrays(events, areas["ref"], items, known)
    batch = estimate_batch(
        ev,
        float(when.toordinal()),
        draws=draws,
        seed=seed,
        threshold=None if expected_only else threshold,
        progress=progress,
        actual=not expected_only,
    )
    order = np.argsort(np.asarray(areas["ref"], dtype=object), kind="stable").tolist()
    refs = [areas["ref"][i] for i in order]
    return ResidualTable(
        at=when,
        draws=batch.draws,
        seed=batch.seed,
        threshold=threshold,
        ref=refs,
        name=[areas["name"][i] for i in order],
        status=[areas["status"][i] for i in order],
        expected=np.asarray(batch.mean, dtype=np.float64),
        expected_p05=np.asarray(batch.p05, dtype=np.float64),
        expected_p95=np.asarray(batch.p95, dtype=np.float64),
        actual_low=np.asarray(batch.actual_low, dtype=np.int64),
        actual_high=np.asarray(batch.actual_high, dtype=np.int64),
        p_any_live=np.asarray(batch.p_any, dtype=np.float64),
        safe_date=_dates(np.asarray(batch.safe_day, dtype=np.float64)),
        finds_used=finds_used,
        geometry=np.asarray(areas["geometry"], dtype=object)[order] if outlines else None,
    )


def _event_arrays(
    events: Mapping[str, Sequence[Any]],
    area_refs: Sequence[str],
    items: Mapping[str, Sequence[Any]],
    known: dict[str, DeviceProfile],
) -> tuple[EventArrays, NDArray[np.bool_]]:
    """Return the events of the areas `area_refs` as EventArrays, area k being the k-th ref
    in sorted order, and per area whether its finds updated a profile.

    Checked in bulk; a row the bulk checks flag is checked again as a record by
    `residual.model.check_event`, whose error names it and the field.
    """
    from landrelease.residual import EventArrays

    refs = np.asarray(sorted(area_refs), dtype=object)
    area_of = {r: i for i, r in enumerate(refs)}
    keep = np.fromiter((a in area_of for a in events["area_ref"]), bool, len(events["area_ref"]))
    rows = np.flatnonzero(keep).tolist()
    ev = {k: [v[i] for i in rows] for k, v in events.items()}
    area = np.fromiter((area_of[a] for a in ev["area_ref"]), np.int64, len(rows))
    best = np.asarray(ev["quantity_best"], dtype=np.float64)  # None becomes NaN
    low = _or(np.asarray(ev["quantity_low"], dtype=np.float64), best)
    high = _or(np.asarray(ev["quantity_high"], dtype=np.float64), best)
    start = _days(ev, "emplaced_on")
    end = _days(ev, "emplaced_until")
    end = np.where(np.isnan(end), start, end)
    used = sorted({p for p in ev["profile_id"] if p in known})
    index = {pid: i for i, pid in enumerate(used)}
    profile = np.fromiter((index.get(p, -1) for p in ev["profile_id"]), np.int64, len(rows))
    bad = (
        (profile < 0)
        | np.isnan(best)
        | np.isnan(start)
        | (low < 0)
        | (low > best)
        | (best > high)
        | (end < start)
    )
    for i in np.flatnonzero(bad):
        _check_row(ev, int(i), known)
    profiles = [known[pid] for pid in used]
    finds_used = np.zeros(len(refs), dtype=bool)
    order = np.argsort(area, kind="stable")  # the events grouped by area, in row order
    bounds = np.searchsorted(area[order], np.arange(len(refs) + 1))
    # Finds are accounted only where an area has items, one area at a time, each given its
    # own events and items (grouped once: a scan per area would cost areas x rows).
    item_rows: dict[str, list[int]] = {}
    for j, a in enumerate(items["area_ref"]):
        if a in area_of:
            item_rows.setdefault(a, []).append(j)
    for ref in sorted(item_rows):
        k = area_of[ref]
        mine = order[bounds[k] : bounds[k + 1]]
        own = {c: [v[j] for j in item_rows[ref]] for c, v in items.items()}
        updated = _finds_update(ev, mine, own, ref, known)
        for pid, new in updated.items():
            profiles.append(new)
            profile[mine[profile[mine] == index[pid]]] = len(profiles) - 1
            finds_used[k] = True
    arrays = EventArrays(
        area=area[order],
        profile=profile[order],
        count_low=low[order],
        count_best=best[order],
        count_high=high[order],
        start_day=start[order],
        end_day=end[order],
        profiles=tuple(profiles),
        n_areas=len(refs),
    )
    return arrays, finds_used


def _or(values: NDArray[np.float64], default: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.where(np.isnan(values), default, values)


def _days(ev: Mapping[str, Sequence[Any]], column: str) -> NDArray[np.float64]:
    """Return a date column as ordinal day numbers (NaN where empty); a value that is no
    date is a ValidationError naming its event."""
    try:
        days = np.asarray(ev[column], dtype="datetime64[D]")
    except ValueError:
        for i, value in enumerate(ev[column]):
            try:
                np.datetime64(value, "D")
            except ValueError:
                raise ValidationError(
                    ev["ref"][i], column, f"{value!r} is not a date; write it as YYYY-MM-DD"
                ) from None
        raise
    out = days.astype(np.int64).astype(np.float64) + _EPOCH
    out[np.isnat(days)] = np.nan
    return out


def _event(ev: Mapping[str, Sequence[Any]], i: int) -> ContaminationEvent:
    """Return row `i` of the event columns as a record (dates as dates)."""
    values = {k: ev[k][i] for k in ev}
    for name in ("emplaced_on", "emplaced_until"):
        values[name] = _date(values[name], values["ref"], name)
    return ContaminationEvent(**values)


def _date(value: str | None, record: str | None, field: str) -> dt.date | None:
    """Return a stored date (None if empty), read as the bulk path reads it (numpy)."""
    if value is None or value == "":
        return None
    try:
        day: dt.date = np.datetime64(value, "D").astype(object)
    except ValueError:
        raise ValidationError(
            record, field, f"{value!r} is not a date; write it as YYYY-MM-DD"
        ) from None
    return day


def _check_row(ev: Mapping[str, Sequence[Any]], i: int, known: Mapping[str, Any]) -> None:
    from landrelease.residual.model import check_event

    event = _event(ev, i)
    try:
        check_event(event, known)
    except ValidationError as exc:
        if exc.field is None:  # an unknown profile: named by the model, here by its event
            raise ValidationError(event.ref, "profile_id", exc.message) from None
        raise


def _finds_update(
    ev: Mapping[str, Sequence[Any]],
    rows: NDArray[np.int64],
    items: Mapping[str, Sequence[Any]],
    ref: str,
    known: dict[str, DeviceProfile],
) -> dict[str, DeviceProfile]:
    """Return the profiles that an area's finds update, by id (nothing cleared)."""
    from landrelease.residual.finds import account_for_finds

    events = [_event(ev, int(i)) for i in rows]
    found = [
        Item(
            area_ref=ref,
            category=items["category"][j],
            state=items["state"][j],
            quantity=items["quantity"][j] or 0,
            found_on=_date(items["found_on"][j], items["ref"][j], "found_on"),
        )
        for j, a in enumerate(items["area_ref"])
        if a == ref
    ]
    account = account_for_finds(events, found, cleared_share=0.0, profiles=known)
    return {pid: p for pid, p in account.profiles.items() if p is not known[pid]}


def _dates(days: NDArray[np.float64]) -> list[dt.date | None]:
    """Return ordinal day numbers as dates, None where NaN."""
    out = np.full(len(days), np.datetime64("NaT"), dtype="datetime64[D]")
    ok = ~np.isnan(days)
    out[ok] = (days[ok] - _EPOCH).astype(np.int64).astype("datetime64[D]")
    dates: list[dt.date | None] = out.tolist()
    return dates


# -- every area, to a file ---------------------------------------------------------------------


def check_out(path: Path, *, overwrite: bool) -> None:
    """Raise a ValidationError naming `out` unless a .gpkg or .csv file may be written there."""
    from landrelease.io import check_output

    try:
        check_output(
            path,
            suffixes=OUT_SUFFIXES,
            wrong_suffix=f"write the table as {' or '.join(OUT_SUFFIXES)} (a GeoPackage layer "
            f"{OUT_LAYER!r} of the areas' outlines, or a CSV table)",
            overwrite=overwrite,
        )
    except InputFileError as exc:
        raise ValidationError(RECORD, "out", str(exc)) from None


def export(
    reg: Registry,
    path: str | Path,
    at: dt.date | None = None,
    *,
    threshold: float = 0.01,
    draws: int = 2000,
    seed: int | None = None,
    progress: Progress | None = None,
    overwrite: bool = False,
) -> ResidualTable:
    """Write the estimate of every area with events to `path` and return it: a .gpkg holds
    a layer "residual" of the areas' outlines, a .csv the table without geometry.

    The path is checked before the run; an existing file is replaced only with `overwrite`.
    """
    from landrelease.io import write_features

    out = Path(path)
    check_out(out, overwrite=overwrite)
    check_run(threshold, draws, seed, BATCH_DRAWS)
    gpkg = out.suffix.lower() == ".gpkg"
    table = estimates(
        reg, at, threshold=threshold, draws=draws, seed=seed, progress=progress, outlines=gpkg
    )
    frame = table.frame()
    if not gpkg:
        frame = frame.drop(columns="geometry")
    write_features(frame, out, layer=OUT_LAYER, overwrite=overwrite)
    return table
