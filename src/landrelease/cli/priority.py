"""`landrelease prioritize` and `landrelease priority`: rank the hazard areas, list the saved
rankings and explain how an area got its score.

Each command parses its options, calls one `Registry` method and renders the answer. The
errors the use case raises name a field; shown here as its option (`out` as `--out`), and a
configuration's errors with the file's name and the TOML line.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from landrelease.cli.common import (
    Col,
    DbOption,
    JsonOption,
    actor,
    as_options,
    console,
    err_console,
    open_registry,
    print_json,
    print_table,
    progress_bar,
)
from landrelease.domain.errors import ValidationError

if TYPE_CHECKING:
    from landrelease.prioritising import Ranking

app = typer.Typer(
    help="Saved rankings of the hazard areas: their history, and how an area got its score.",
    no_args_is_help=True,
)

SHOWN = 20  # rows `prioritize` prints without --top
OPTIONS = ("at", "out", "workers", "scheduler")


@contextlib.contextmanager
def _as_options(fields: Sequence[str], config: Path | None = None) -> Iterator[None]:
    """Show a ValidationError of one of `fields` under its option (`out` as --out), and one
    of the configuration under the file's name."""
    try:
        with as_options(fields):
            yield
    except ValidationError as exc:
        if exc.record == "config" and config is not None:
            raise ValidationError(f"--config {config}", exc.field, exc.message) from None
        raise


def _date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationError(None, "--at", f"{value!r} is not a date; write YYYY-MM-DD") from None


def _config_text(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ValidationError(None, "--config", f"{path}: cannot be read ({why})") from None


def prioritize(
    db: DbOption = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="TOML file of weights and distances, merged over the documented defaults "
            "(src/landrelease/priority/default.toml).",
        ),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(
            "--at", help="Date to rank as of (accidents' window, residual model); default today."
        ),
    ] = None,
    top: Annotated[
        int | None,
        typer.Option(
            "--top",
            min=1,
            help=f"Print only the first N areas (the table: {SHOWN} by default; --json: "
            "all). --out writes every area.",
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help="Print a JSON array by rank: rank, ref, score, components, ranking_id."
        ),
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Write every ranked area to a .csv, .gpkg or .geojson file: rank, ref, "
            "score, one column per component, ranking_id and the outline.",
        ),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="With --out: replace the file if it exists.")
    ] = False,
    save: Annotated[
        bool,
        typer.Option(
            "--save",
            help="Keep the ranking in the registry (id, configuration, who, when, each "
            "area's rank and components); the map and the API show the latest.",
        ),
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers", min=1, help="Compute on a local dask cluster of N worker processes."
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler", help="Compute on a running dask cluster (e.g. tcp://host:8786)."
        ),
    ] = None,
) -> None:
    """Rank the open hazard areas by the people, buildings, roads and land they threaten."""
    when = _date(at)
    text = _config_text(config)
    with (
        _as_options(OPTIONS, config),
        open_registry(db) as reg,
        progress_bar() as bar,
    ):
        task = bar.add_task("ranking", total=None)

        def step(name: str, done: int, total: int) -> None:
            bar.update(task, description=name, completed=done, total=total or None)

        ranked = reg.prioritize(
            config_text=text,
            as_of=when,
            save=save,
            actor=actor(),
            workers=workers,
            scheduler=scheduler,
            progress=step,
            out=out,
            overwrite=overwrite,
        )
    for warning in ranked.warnings:
        err_console.print(f"warning: {warning}", markup=False, soft_wrap=True)
    notes = _notes(ranked, out)
    if as_json:
        print_json(ranked.json_rows(top))
        for note in notes:
            err_console.print(note, markup=False, soft_wrap=True)
        return
    _print_ranking(ranked, top or SHOWN)
    for note in notes:
        console.print(note, markup=False, soft_wrap=True)


def _notes(ranked: Ranking, out: Path | None) -> list[str]:
    notes = []
    if out is not None:
        notes.append(f"Wrote {len(ranked.rows):,} ranked area(s) to {out}")
    if ranked.already_saved:
        notes.append(
            f"Ranking {ranked.id} is already saved: the same inputs give the same ranking."
        )
    elif ranked.saved:
        notes.append(f"Saved ranking {ranked.id}; 'landrelease priority explain REF' explains it.")
    else:
        notes.append("Not saved: add --save to keep it in the registry.")
    return notes


def _print_ranking(ranked: Ranking, top: int) -> None:
    from landrelease.ranking_reasons import reasons

    rows = [
        (
            str(r["rank"]),
            r["ref"],
            f"{r['score']:,.1f}",
            reasons(r, ranked.config),
        )
        for r in ranked.rows[:top]
    ]
    columns = (
        Col("rank", justify="right"),
        Col("ref"),
        Col("score", justify="right"),
        Col("largest parts of the score", "text"),
    )
    title = f"Ranking {ranked.id} as of {ranked.as_of.isoformat()}: {len(ranked.rows):,} area(s)"
    print_table(columns, rows, title=title)
    if len(ranked.rows) > top:
        console.print(f"... {len(ranked.rows) - top:,} more: use --top, --json or --out")


def print_top(priority: dict[str, Any]) -> None:
    """Print the demo's ranking: its first areas, each with its reasons on one line."""
    console.print(
        f"[bold]Priority[/]: ranking {priority['ranking_id']} as of {priority['as_of']} "
        f"({priority['areas']:,} open areas), saved; the first {len(priority['top'])}:",
        soft_wrap=True,
    )
    for r in priority["top"]:
        name = f" {r['name']}" if r.get("name") else ""
        console.print(
            f"{r['rank']:>2}. {r['ref']} ({r['status']}){name}, score {r['score']:,.0f}: "
            f"{r['reasons']}",
            markup=False,
            soft_wrap=True,
        )
    for warning in priority.get("warnings", []):
        err_console.print(f"warning: {warning}", markup=False, soft_wrap=True)


@app.command("history")
def history(db: DbOption = None, json: JsonOption = False) -> None:
    """List the saved rankings: id, when and by whom, the date ranked as of, areas."""
    with open_registry(db) as reg:
        rows = reg.rankings()
    if json:
        print_json(rows)
        return
    columns = (
        Col("id"),
        Col("saved at / by"),
        Col("as of"),
        Col("areas", justify="right"),
        Col("layers", "words"),
    )
    cells = (
        (
            r["id"],
            f"{r['created_at']}\n{r['created_by']}",
            str(r["as_of"]),
            f"{r['areas']:,}",
            " ".join(layer["name"] for layer in r["inputs"].get("layers", [])) or "none",
        )
        for r in rows
    )
    print_table(columns, cells, title=f"{len(rows)} saved ranking(s), the oldest first")


@app.command("explain")
def explain(
    ref: Annotated[str, typer.Argument(help="Reference of the hazardous area.")],
    db: DbOption = None,
    ranking: Annotated[
        str | None,
        typer.Option("--ranking", help="Id of a saved ranking (default: the latest)."),
    ] = None,
    json: JsonOption = False,
) -> None:
    """Explain an area's score in a saved ranking: each component's raw value, unit,
    weight, points and how it was measured."""
    with open_registry(db) as reg:
        got = reg.explain_priority(ref, ranking)
    if json:
        print_json(got)
        return
    title = (
        f"{got['ref']}: rank {got['rank']:,} of {got['areas']:,}, score {got['score']:,.1f} "
        f"(ranking {got['ranking_id']} as of {got['as_of']})"
    )
    columns = (
        Col("component"),
        Col("raw", justify="right"),
        Col("unit", "words"),
        Col("weight", justify="right"),
        Col("points", justify="right"),
    )
    rows = [
        (
            ln["component"],
            f"{ln['raw']:,.6g}",
            ln["unit"],
            f"{ln['weight']:g}",
            f"{ln['contribution']:,.1f}",
        )
        for ln in got["lines"]
    ]
    print_table(columns, rows, title=title)
    # one sentence each, below the table: a sentence squeezed into a column is hard to read
    for ln in got["lines"]:
        console.print(f"{ln['component']}: {ln['how']}", markup=False, soft_wrap=True)
    if got["note"]:
        console.print(f"Note: {got['note']}.", markup=False, soft_wrap=True)


__all__ = ["app", "print_top", "prioritize"]
