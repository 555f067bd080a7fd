"""`landrelease residual`: the residual-hazard model of non-persistent devices and duds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from landrelease.cli.common import (
    Col,
    DbOption,
    JsonOption,
    console,
    err_console,
    print_json,
    print_table,
    resolve_db,
)
from landrelease.domain.errors import ValidationError
from landrelease.domain.records import ContaminationEvent

if TYPE_CHECKING:  # the model (numpy, scipy) loads when a residual command runs
    from landrelease.residual import DeviceProfile
    from landrelease.residual.chart import ResidualChart
    from landrelease.residual.montecarlo import Estimate

app = typer.Typer(
    help="Residual-hazard model of non-persistent devices and duds.", no_args_is_help=True
)

ThresholdOption = Annotated[
    float,
    typer.Option(help="Safe date: the first day the chance at least one is live is below this."),
]
DrawsOption = Annotated[int, typer.Option(help="Monte Carlo draws.")]
SeedOption = Annotated[int | None, typer.Option(help="Seed: the same seed reproduces a run.")]
PlotOption = Annotated[
    Path | None, typer.Option(help="Write a PNG chart of live devices and chance over time.")
]


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            "residual", option, f"{value!r} is not a date; write it as YYYY-MM-DD"
        ) from None


@app.command()
def profiles(as_json: JsonOption = False) -> None:
    """List the device profiles: category, kind of figures, live fraction forever."""
    from landrelease.residual import load_profiles

    known = load_profiles()
    if as_json:
        print_json([p.as_dict() for p in known.values()])
        return
    # Two tables, one row per profile and one per stage: ids, codes and figures stay whole
    # in 80 columns, which one row per profile with its stages beside it cannot do.
    columns = (Col("id"), Col("category"), Col("figures are"), Col("live forever", justify="right"))
    rows = [(p.id, p.category, p.basis, f"{p.floor:.3g}") for p in known.values()]
    title = "Device profiles (figures and sources: docs/residual-model.md)"
    print_table(columns, rows, title=title)
    columns = (
        Col("id"),
        Col("stage"),
        Col("day(s)", justify="right"),
        Col("fails", justify="right"),
    )
    rows = [row for p in known.values() for row in _stages(p)]
    title = "Stages that lower the live fraction (persistent profiles have none)"
    print_table(columns, rows, title=title)


def _stages(p: DeviceProfile) -> list[tuple[str, str, str, str]]:
    """Return a profile's stages as rows: id, stage, day(s) after emplacement, share failing."""
    rows = []
    if p.dud is not None:
        rows.append((p.id, "dud", "", f"{p.dud.mean:.3g}"))
    if p.self_destruct is not None:
        sd = p.self_destruct
        days = (
            f"{sd.latest_days:g}"
            if sd.earliest_days == sd.latest_days
            else f"{sd.earliest_days:g}-{sd.latest_days:g}"
        )
        rows.append((p.id, "self-destruct", days, f"{sd.fail.mean:.3g}"))
    if p.self_deactivate is not None:
        sda = p.self_deactivate
        rows.append((p.id, "self-deactivate", f"{sda.days:g}", f"{sda.fail.mean:.3g}"))
    return rows


def _render(est: Estimate, heading: str, notes: Sequence[str] = ()) -> None:
    label = f"safe date (P < {est.threshold:.2%})".replace(".00%", "%")
    rows = [
        ("expected live devices", f"{est.expected_live:.3g}"),
        ("90% range", f"{est.live_p05:.3g} to {est.live_p95:.3g}"),
        ("chance at least one is still live", f"{est.p_any_live:.2%}"),
        (label, est.safe_date.isoformat() if est.safe_date else "none"),
    ]
    columns = (Col("what", "text"), Col("value"))
    print_table(columns, rows, title=heading, show_header=False)
    console.print(f"Why: {est.safe_date_reason}.")
    for note in notes:
        console.print(f"Note: {note}.")
    console.print(f"[dim]{est.draws:,} draws, seed {est.seed} (use --seed to repeat).[/]")


def _plot(chart: ResidualChart, path: Path, title: str) -> None:
    from landrelease.residual.plot import plot_timeline

    plot_timeline(chart.line, chart.estimate, path, title=title, emplaced=chart.emplaced)
    err_console.print(f"Chart written to {path}", soft_wrap=True)


@app.command()
def estimate(
    profile: Annotated[str, typer.Option(help="Device profile id (see `residual profiles`).")],
    count: Annotated[int, typer.Option(help="Best estimate of the number of devices.")],
    emplaced: Annotated[str, typer.Option(help="Emplacement date (or start of a range).")],
    at: Annotated[str, typer.Option(help="Date to estimate for.")],
    count_low: Annotated[int | None, typer.Option(help="Lowest plausible count.")] = None,
    count_high: Annotated[int | None, typer.Option(help="Highest plausible count.")] = None,
    emplaced_until: Annotated[
        str | None, typer.Option(help="End of the emplacement date range.")
    ] = None,
    threshold: ThresholdOption = 0.01,
    draws: DrawsOption = 10_000,
    seed: SeedOption = None,
    as_json: JsonOption = False,
    plot: PlotOption = None,
) -> None:
    """Estimate live devices of one profile at a date, with a 90% range and a safe date."""
    from landrelease.residual import estimate as run_estimate
    from landrelease.residual import get_profile, load_profiles
    from landrelease.residual.montecarlo import check_threshold

    known = load_profiles()
    get_profile(profile, known)
    low = count if count_low is None else count_low
    high = count if count_high is None else count_high
    for option, value in (("--count-low", low), ("--count", count), ("--count-high", high)):
        if value < 0:
            raise ValidationError("residual", option, f"must be 0 or more, got {value}")
    if not low <= count <= high:
        raise ValidationError(
            "residual",
            "--count",
            f"counts are reversed: need --count-low <= --count <= --count-high, got {low}, "
            f"{count}, {high}",
        )
    on = _date(emplaced, "--emplaced")
    until = _date(emplaced_until, "--emplaced-until")
    when = _date(at, "--at")
    assert on is not None and when is not None
    if until is not None and until < on:
        raise ValidationError(
            "residual", "--emplaced-until", f"{until} is before --emplaced {on}; swap them"
        )
    if when < on:
        raise ValidationError("residual", "--at", f"{when} is before --emplaced {on}")
    check_threshold(threshold)
    if draws < 100:
        raise ValidationError("residual", "--draws", f"use at least 100 draws, got {draws}")
    event = ContaminationEvent(
        ref="estimate",
        area_ref="estimate",
        profile_id=profile,
        quantity_low=low,
        quantity_best=count,
        quantity_high=high,
        emplaced_on=on,
        emplaced_until=until,
    )
    est = run_estimate([event], when, draws=draws, seed=seed, threshold=threshold, profiles=known)
    if plot is not None:
        title = f"{count:,} x {profile}, emplaced {on}" + (f" to {until}" if until else "")
        from landrelease.residual.chart import residual_chart

        chart = residual_chart([event], est, profiles=known, draws=draws)
        _plot(chart, plot, title)
    if as_json:
        print_json(est.as_dict())
    else:
        _render(est, f"{profile}: {count:,} devices, on {when}")


@app.command()
def area(
    ref: Annotated[str, typer.Argument(help="Hazardous area reference.")],
    db: DbOption = None,
    at: Annotated[str | None, typer.Option(help="Date to estimate for (default: today).")] = None,
    cleared_share: Annotated[
        float, typer.Option(help="Share of the area already cleared or sampled (0 to 1).")
    ] = 0.0,
    threshold: ThresholdOption = 0.01,
    draws: DrawsOption = 10_000,
    seed: SeedOption = None,
    as_json: JsonOption = False,
    plot: PlotOption = None,
) -> None:
    """Estimate live devices in a hazardous area from its contamination events and finds."""
    from landrelease.registry import Registry

    when = _date(at, "--at")
    with Registry.open(resolve_db(db)) as reg:
        res = reg.residual_estimate(
            ref, when, cleared_share=cleared_share, threshold=threshold, draws=draws, seed=seed
        )
    name = f"{ref}" + (f" ({res.area.name})" if res.area.name else "")
    if plot is not None:  # the curve of this estimate (as Registry.residual_timeline draws it)
        from landrelease.residual.chart import residual_chart

        chart = residual_chart(res.remaining, res.estimate, profiles=res.profiles, draws=draws)
        _plot(chart, plot, f"{name}: residual hazard")
    if as_json:
        print_json(res.as_dict())
    else:
        _render(res.estimate, f"{name} on {res.estimate.at}", res.notes)
