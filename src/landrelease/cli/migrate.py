"""`landrelease migrate`: copy a registry between a GeoPackage file and a PostGIS database."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from landrelease.cli.common import (
    Col,
    JsonOption,
    actor,
    console,
    print_json,
    print_table,
    progress_bar,
)

if TYPE_CHECKING:
    from rich.progress import TaskID

    from landrelease.migrating import Copied


def migrate(
    source: Annotated[
        str,
        typer.Option(
            "--from",
            help="Registry to copy: a .gpkg file or a postgresql://USER@HOST:PORT/DATABASE URL.",
            show_default=False,
        ),
    ],
    target: Annotated[
        str,
        typer.Option(
            "--to",
            help="Where to make the copy: a new .gpkg file, or a database without a registry.",
            show_default=False,
        ),
    ],
    by: Annotated[
        str | None,
        typer.Option(
            "--actor",
            help="Who makes the copy (shown to others while it runs); default: env "
            "LANDRELEASE_ACTOR, else the login name.",
        ),
    ] = None,
    json: JsonOption = False,
) -> None:
    """Copy a registry with all its history into a new file or database, in one transaction.

    Every record (its fid, version, status and change stamps), every earlier version, the
    import batches, settings, users (their tokens keep working), sessions, proposals,
    reference layers and saved rankings: all of it, or nothing.
    """
    from landrelease.migrating import location
    from landrelease.migrating import migrate as copy_registry

    with progress_bar() as bar:
        tasks: dict[str, TaskID] = {}

        def step(table: str, done: int, total: int) -> None:
            if table not in tasks:
                tasks[table] = bar.add_task(table, total=total)
            bar.update(tasks[table], completed=done)

        copied = copy_registry(source, target, actor=by or actor(), progress=step)
    if json:
        print_json([{"table": c.table, "source": c.source, "target": c.target} for c in copied])
        return
    _print_copied(copied)
    console.print(f"Copied the registry into {location(target, '--to').shown}", soft_wrap=True)


def _print_copied(copied: list[Copied]) -> None:
    columns = (
        Col("table"),
        Col("rows in source", justify="right"),
        Col("rows in copy", justify="right"),
    )
    rows = [(c.table, f"{c.source:,}", f"{c.target:,}") for c in copied]
    print_table(columns, rows)
