"""`landrelease residual`: the residual-hazard model of non-persistent devices and duds.

Each command parses its options, calls one `Registry` method and renders the answer; the
checks of the arguments live behind the Registry (`landrelease.residual_cases`), whose errors
name a field, shown here as its option (`count_low` as `--count-low`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from landrelease.cli.common import (
    Col,
    DbOption,
    JsonOption,
    as_options,
    console,
    err_console,
    open_registry,
    print_json,
    print_table,
    progress_bar,
)
from landrelease.domain.errors import ValidationError

if TYPE_CHECKING:  # the model (numpy, scipy) loads when a residual command runs
    from landrelease.residual import DeviceProfile, Fraction
    from landrelease.residual.chart import ResidualChart
    from landrelease.residual.montecarlo import Estimate
    from landrelease.residual_cases import ResidualTable

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

# Fields of the use cases whose option is not "--" + the field with dashes.
OPTION_OF = {"emplaced_on": "--emplaced"}
TOP = 20  # areas `residual all` lists on screen


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            "residual", option, f"{value!r} is not a date; write it as YYYY-MM-DD"
        ) from None


def _frac(x: float) -> str:
    """Return a fraction with 3 significant digits ("0.1", "0.0128", "5e-05")."""
    return f"{x:.3g}"


# -- profiles ----------------------------------------------------------------------------------


@app.command()
def profiles(as_json: JsonOption = False) -> None:
    """List the device profiles: their stages, stated ranges, the model's, prior strengths."""
    from landrelease.registry import Registry

    known = Registry.residual_profiles()
    if as_json:
        print_json([p.as_dict() for p in known])
        return
    # One row per profile, then one per stage: ids, codes and figures stay whole in 80
    # columns, which one row per profile with its stages beside it cannot do.
    columns = (Col("id"), Col("category"), Col("figures are"), Col("live forever", justify="right"))
    rows = [(p.id, p.category, p.basis, f"{p.floor:.3g}") for p in known]
    title = "Device profiles (figures and sources: docs/residual-model.md)"
    print_table(columns, rows, title=title)
    stage_columns = (
        Col("id"),
        Col("stage"),
        Col("day(s)", justify="right"),
        Col("fails", justify="right"),
        Col("prior", justify="right"),
    )
    stages = [row for p in known for row in _stages(p)]
    title = "Stages that lower the live fraction (persistent profiles have none)"
    print_table(stage_columns, stages, title=title)
    console.print(
        "fails: the share failing at the stage (the model's median); prior: how many devices' "
        "worth of evidence the figure counts as, so how far finds can move it "
        "(reasons: --json).",
        soft_wrap=False,
    )
    range_columns = (
        Col("profile, stage"),
        Col("stated range", justify="right"),
        Col("quantiles", justify="right"),
        Col("model there", justify="right"),
    )
    ranges = [row for p in known for row in _ranges(p)]
    title = "Each stage's stated range, and the model's at the same quantiles"
    print_table(range_columns, ranges, title=title)


def _stages(p: DeviceProfile) -> list[tuple[str, str, str, str, str]]:
    """Return a profile's stages as rows: id, stage, day(s), share failing, prior strength."""
    rows = []
    for stage, days, frac in _fractions(p):
        rows.append((p.id, stage, days, _frac(frac.point), f"{frac.prior_strength:,.0f}"))
    return rows


def _fractions(p: DeviceProfile) -> list[tuple[str, str, Fraction]]:
    """Return a profile's stages: name, day(s) after emplacement, fraction failing."""
    out = []
    if p.dud is not None:
        out.append(("dud", "", p.dud))
    if p.self_destruct is not None:
        sd = p.self_destruct
        days = (
            f"{sd.latest_days:g}"
            if sd.earliest_days == sd.latest_days
            else f"{sd.earliest_days:g}-{sd.latest_days:g}"
        )
        out.append(("self-destruct", days, sd.fail))
    if p.self_deactivate is not None:
        sda = p.self_deactivate
        out.append(("self-deactivate", f"{sda.days:g}", sda.fail))
    return out


def _ranges(p: DeviceProfile) -> list[tuple[str, str, str, str]]:
    """Return per stage: profile and stage, the stated low and high, the quantiles they
    stand for, and the model's figures at those quantiles (its median is `fails`)."""
    rows = []
    for stage, _days, frac in _fractions(p):
        q_lo, q_hi = frac.range_quantiles
        if frac.low is None or frac.high is None:
            stated = "none"  # a Beta given by alpha and beta
        else:
            stated = f"{_frac(frac.low)} to {_frac(frac.high)}"
        quantiles = f"{q_lo:.3g}-{q_hi:.3g}"
        model = f"{_frac(float(frac.ppf(q_lo)))} to {_frac(float(frac.ppf(q_hi)))}"
        rows.append((f"{p.id}\n{stage}", stated, quantiles, model))
    return rows


# -- the estimate of one area or scenario ------------------------------------------------------


def _render(est: Estimate, heading: str, notes: Sequence[str] = ()) -> None:
    label = f"safe date (P < {est.threshold:.2%})".replace(".00%", "%")
    rows = [
        ("expected live devices", f"{est.expected_live:.3g}"),
        (
            "range of the expected count (90%)",
            f"{est.expected_p05:.3g} to {est.expected_p95:.3g}",
        ),
        ("actual number live (90% range)", f"{est.actual_low:,} to {est.actual_high:,}"),
        ("chance at least one is still live", f"{est.p_any_live:.2%}"),
        (label, est.safe_date.isoformat() if est.safe_date else "none"),
    ]
    columns = (Col("what", "text"), Col("value"))
    print_table(columns, rows, title=heading, show_header=False)
    console.print(
        "The expected count's range is the doubt about the profile's figures; the actual "
        "number's range adds which devices happen to survive."
    )
    console.print(f"Why: {est.safe_date_reason}.")
    for note in notes:
        console.print(f"Note: {note}.")
    console.print(f"[dim]{est.draws:,} draws, seed {est.seed} (use --seed to repeat).[/]")


def _plot(chart: ResidualChart, path: Path, title: str) -> None:
    from landrelease.residual.plot import plot_timeline

    plot_timeline(chart.line, chart.estimate, path, title=title, emplaced=chart.emplaced)
    err_console.print(f"Chart written to {path}", soft_wrap=True)


ESTIMATE_FIELDS = (
    "profile",
    "count",
    "count_low",
    "count_high",
    "emplaced_on",
    "emplaced_until",
    "at",
    "threshold",
    "draws",
    "seed",
)


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
    """Estimate live devices of one profile at a date: the expected count and its range, the
    range of the actual number live, and a safe date."""
    from landrelease.registry import Registry

    on = _date(emplaced, "--emplaced")
    assert on is not None
    scenario: dict[str, Any] = {
        "profile": profile,
        "count": count,
        "emplaced_on": on,
        "at": _date(at, "--at"),
        "count_low": count_low,
        "count_high": count_high,
        "emplaced_until": _date(emplaced_until, "--emplaced-until"),
        "threshold": threshold,
        "draws": draws,
        "seed": seed,
    }
    with as_options(ESTIMATE_FIELDS, OPTION_OF):
        if plot is not None:  # the curve and the estimate from the same draws
            chart = Registry.residual_scenario_timeline(**scenario)
            est = chart.estimate
        else:
            est = Registry.residual_scenario(**scenario)
    if plot is not None:
        until = scenario["emplaced_until"]
        title = f"{count:,} x {profile}, emplaced {on}" + (f" to {until}" if until else "")
        _plot(chart, plot, title)
    if as_json:
        print_json(est.as_dict())
    else:
        _render(est, f"{profile}: {count:,} devices, on {est.at}")


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

    when = _date(at, "--at")
    with (
        as_options(("at", "cleared_share", "threshold", "draws", "seed")),
        open_registry(db) as reg,
    ):
        res = reg.residual_estimate(
            ref, when, cleared_share=cleared_share, threshold=threshold, draws=draws, seed=seed
        )
    name = f"{ref}" + (f" ({res.area.name})" if res.area.name else "")
    if plot is not None:  # the curve of this estimate (as Registry.residual_timeline draws it)
        _plot(res.chart(), plot, f"{name}: residual hazard")
    if as_json:
        print_json(res.as_dict())
        return
    _render(res.estimate, f"{name} on {res.estimate.at}", res.notes)
    if res.shifts:
        columns = (
            Col("profile, stage"),
            Col("live", justify="right"),
            Col("inert", justify="right"),
            Col("prior", justify="right"),
            Col("before", justify="right"),
            Col("after", justify="right"),
        )
        rows = [
            (
                f"{s.profile_id}\n{s.stage.replace('_', '-')}",
                f"{s.live:,}",
                f"{s.inert:,}",
                f"{s.prior_strength:,.0f}",
                _moved(s.before, s.before_range),
                _moved(s.after, s.after_range),
            )
            for s in res.shifts
        ]
        title = "What the finds moved: each stage's share failing (median, 5-95%)"
        print_table(columns, rows, title=title)


def _moved(point: float, range_: tuple[float, float]) -> str:
    return f"{_frac(point)}\n({_frac(range_[0])}-{_frac(range_[1])})"


# -- every area at once ------------------------------------------------------------------------


@app.command(name="all")
def all_areas(
    db: DbOption = None,
    at: Annotated[str | None, typer.Option(help="Date to estimate for (default: today).")] = None,
    threshold: ThresholdOption = 0.01,
    draws: DrawsOption = 2000,
    seed: SeedOption = None,
    as_json: JsonOption = False,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Write every area's estimate to a file: .gpkg (a layer 'residual' with "
            "each area's outline) or .csv."
        ),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="With --out: replace the file if it exists.")
    ] = False,
) -> None:
    """Estimate live devices in every hazardous area with contamination events, in one run."""

    if as_json and out is not None:
        raise ValidationError("residual", "--out", "give --json or --out, not both")
    when = _date(at, "--at")
    with (
        as_options(("at", "threshold", "draws", "seed", "out")),
        open_registry(db) as reg,
        progress_bar() as bar,
    ):
        task = bar.add_task("estimating every area", total=None)

        def step(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        if out is not None:
            table = reg.residual_export(
                out,
                when,
                threshold=threshold,
                draws=draws,
                seed=seed,
                progress=step,
                overwrite=overwrite,
            )
        else:
            table = reg.residual_estimates(
                when, threshold=threshold, draws=draws, seed=seed, progress=step
            )
    if as_json:
        print_json(
            {
                "at": table.at.isoformat(),
                "threshold": table.threshold,
                "draws": table.draws,
                "seed": table.seed,
                "areas": table.rows(),
            }
        )
        return
    if not len(table):
        console.print(
            "No hazardous area has contamination events, so there is nothing to estimate; "
            "add them with `landrelease import --kind events`."
            + (f" Wrote an empty table to {out}." if out is not None else ""),
            soft_wrap=True,
        )
        return
    if out is not None:
        console.print(f"Wrote the estimate of {len(table):,} areas to {out}", soft_wrap=True)
        _totals(table)
        return
    _render_table(table)


def _render_table(table: ResidualTable) -> None:
    import numpy as np

    order = np.argsort(-table.expected, kind="stable")[:TOP]
    columns = (
        Col("ref"),
        Col("expected", justify="right"),
        Col("its range", justify="right"),
        Col("actual", justify="right"),
        Col("P(any)", justify="right"),
        Col("safe date"),
    )
    rows = []
    for i in order:
        safe = table.safe_date[i]
        rows.append(
            (
                table.ref[i],
                f"{table.expected[i]:.3g}",
                f"{table.expected_p05[i]:.3g}-{table.expected_p95[i]:.3g}",
                f"{table.actual_low[i]:,}-{table.actual_high[i]:,}",
                f"{table.p_any_live[i]:.0%}" if table.p_any_live[i] >= 0.01 else "<1%",
                safe.isoformat() if safe else "never",
            )
        )
    shown = "all" if len(table) <= TOP else f"the {TOP} of {len(table):,}"
    title = f"Live devices on {table.at}: {shown} areas with the most expected"
    print_table(columns, rows, title=title)
    console.print(
        "expected: expected live devices, with the 90% range of that expected count; actual: "
        "the 90% range of the number actually live; P(any): the chance at least one is."
    )
    _totals(table)


def _totals(table: ResidualTable) -> None:
    live = int((table.p_any_live >= table.threshold).sum())
    never = sum(1 for d in table.safe_date if d is None)
    pct = f"{table.threshold:.2%}".replace(".00%", "%")
    console.print(
        f"{len(table):,} areas with events: {table.expected.sum():,.1f} expected live devices "
        f"in all; {live:,} areas with a chance of {pct} or more that one is live on "
        f"{table.at}; {never:,} that never fall below it.",
        soft_wrap=False,
    )
    console.print(f"[dim]{table.draws:,} draws, seed {table.seed} (use --seed to repeat).[/]")
