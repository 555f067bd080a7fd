"""What every CLI command shares: the --db option, JSON output and the console."""

from __future__ import annotations

import os
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

console = Console()
err_console = Console(stderr=True)

DEFAULT_DB = "landrelease.gpkg"


def default_db() -> str:
    """Return the registry path: env LANDRELEASE_DB, else ./landrelease.gpkg."""
    return os.environ.get("LANDRELEASE_DB") or DEFAULT_DB


DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Registry file (GeoPackage) or database URL; default: env LANDRELEASE_DB, "
        "else ./landrelease.gpkg.",
        show_default=False,
    ),
]

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def resolve_db(db: str | None) -> str:
    return db or default_db()


def actor() -> str:
    """Return who is making a change: env LANDRELEASE_ACTOR, else the login name."""
    try:
        login = os.getlogin()
    except OSError:
        login = os.environ.get("USER", "unknown")
    return os.environ.get("LANDRELEASE_ACTOR") or login


def print_json(value: Any) -> None:
    """Write `value` as indented JSON to stdout (dates as ISO strings, numpy values as numbers)."""
    data = orjson.dumps(
        value,
        option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS,
        default=str,
    )
    typer.echo(data.decode())


def progress_bar() -> Progress:
    """Return the progress bar of long commands: on stderr, shown only on a terminal."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    )
