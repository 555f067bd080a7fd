"""`landrelease layers`: add, list and remove the reference layers that prioritisation reads."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from landrelease.cli.common import (
    Col,
    DbOption,
    JsonOption,
    actor,
    console,
    err_console,
    open_registry,
    print_json,
    print_table,
    progress_bar,
)

app = typer.Typer(
    help="Reference layers for prioritisation: settlements, buildings, roads, landuse, "
    "facilities. Each is a layer of the registry file that QGIS shows.",
    no_args_is_help=True,
)


@app.command("add")
def add(
    kind: Annotated[
        str,
        typer.Argument(
            help="settlements (points or polygons with a population field), buildings, "
            "roads (lines with 'class' or OSM 'highway'), landuse (polygons with 'class' or "
            "OSM 'landuse'), facilities ('kind' or OSM 'amenity')."
        ),
    ],
    path: Annotated[
        Path,
        typer.Argument(help="File to read (any format import reads), in any CRS."),
    ],
    db: DbOption = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Layer name (default: the kind).")
    ] = None,
    source: Annotated[
        str | None,
        typer.Option("--source", help="Where the data comes from (default: the path)."),
    ] = None,
) -> None:
    """Add a reference layer from a file, checked whole: all of it lands, or none."""
    from landrelease.layering import LAYER_STEPS

    with open_registry(db) as reg, progress_bar() as bar:
        task = bar.add_task(f"reading {path.name}", total=len(LAYER_STEPS))
        done: list[str] = []

        def step(what: str) -> None:
            done.append(what)
            bar.update(task, completed=len(done) - 1, description=f"{what} {path.name}")

        row = reg.add_layer(kind, path, name=name, source=source, actor=actor(), progress=step)
        bar.update(task, completed=len(LAYER_STEPS))
    field = f", field {row['field_from']!r}" if row.get("field_from") else ""
    console.print(
        f"Added {row['kind']} layer [bold]{row['name']}[/]: {row['features']:,} feature(s) "
        f"({row['geometry_type']}{field}) as table {row['table_name']}",
        soft_wrap=True,
    )
    for warning in row["warnings"]:
        err_console.print(f"warning: {warning}", markup=False, soft_wrap=True)


@app.command("list")
def list_(db: DbOption = None, json: JsonOption = False) -> None:
    """List the reference layers: kind, name, features, source, when added and by whom."""
    with open_registry(db) as reg:
        rows = reg.layers()
    if json:
        print_json(rows)
        return
    columns = (
        Col("kind"),
        Col("name"),
        Col("features", justify="right"),
        Col("source", "text"),
        Col("added at / by"),
    )
    cells = (
        (
            r["kind"],
            r["name"],
            f"{r['features']:,}",
            r["source"] or "",
            f"{r['added_at']}\n{r['added_by']}",
        )
        for r in rows
    )
    print_table(columns, cells, title=f"{len(rows)} reference layer(s)")


@app.command("remove")
def remove(
    name: Annotated[str, typer.Argument(help="Layer name ('layers list' shows them).")],
    db: DbOption = None,
) -> None:
    """Remove a reference layer: its table and every registration of it."""
    with open_registry(db) as reg:
        row = reg.remove_layer(name, actor=actor())
    console.print(
        f"Removed {row['kind']} layer {row['name']} ({row['features']:,} feature(s))",
        markup=False,
        soft_wrap=True,
    )
