"""What every CLI command shares: the --db option, JSON output, the console and its tables."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

import orjson
import typer
from rich.cells import cell_len
from rich.console import Console, JustifyMethod, OverflowMethod
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from rich.progress import Progress

    from landrelease.registry import Registry

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


def open_registry(db: str | None, *, create: bool = False) -> Registry:
    """Return the registry at `--db` (or the default); the model loads only when a command
    runs, so that `--help` stays quick."""
    from landrelease.registry import Registry

    return Registry.open(resolve_db(db), create=create)


@contextlib.contextmanager
def as_options(fields: Sequence[str], option_of: Mapping[str, str] | None = None) -> Iterator[None]:
    """Show a ValidationError of one of `fields` (a use case's arguments) under the command's
    option: `count_low` as --count-low, or as `option_of` names it."""
    from landrelease.domain.errors import ValidationError

    try:
        yield
    except ValidationError as exc:
        if exc.field is not None and exc.field in fields:
            option = (option_of or {}).get(exc.field, "--" + exc.field.replace("_", "-"))
            raise ValidationError(exc.record, option, exc.message) from None
        raise


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
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

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


Fit = Literal["whole", "words", "text"]

# A word of a `words` column wider than this is folded rather than widening the column.
WORDS_MAX = 24
# Free text squeezed narrower than this is shortened to one line rather than wrapped.
TEXT_WRAP_MIN = 10


@dataclass(frozen=True)
class Col:
    """A table column and how it gives way when the terminal is narrow.

    `whole`: refs, dates, timestamps, statuses, codes and numbers: never cut nor wrapped.
    `words`: text made of codes or refs ("ap_mine, cmr", "status: confirmed -> in_progress"):
    wraps between words, never inside one.
    `text`: free text (names, reasons, notes): wraps, and shortens a word too long to fit.
    """

    header: str
    fit: Fit = "whole"
    justify: JustifyMethod = "left"
    style: str | None = None


def make_table(
    columns: Sequence[Col],
    rows: Iterable[Sequence[str | None]],
    *,
    title: str | None = None,
    width: int | None = None,
    **options: Any,
) -> Table:
    """Return a rich Table of `rows` in which no ref, date, status, code or number is cut.

    A `whole` column keeps the width of its widest cell (header included), a `words` column
    that of its widest word; when the table is wider than `width` (default: the console's,
    80 when output is piped) the free text columns are narrowed, the widest first. (Rich's
    own narrowing would squeeze a column below its `min_width`, then crop the line.) When
    even that is too wide the table is made wider than `width`: print it uncropped
    (`print_table`) and its lines run long instead of losing a column. Cells and title are
    plain text, never read as rich markup; None is shown empty. `options` go to `Table`.
    """
    body = [["" if c is None else c for c in r] for r in rows]
    table = Table(title=None if title is None else Text(title, "table.title"), **options)
    natural, floor = [], []
    for i, col in enumerate(columns):
        lines = [ln for c in (r[i] for r in body) for ln in c.splitlines()]
        natural.append(_widest([*col.header.splitlines(), *lines]))
        if col.fit == "whole":
            floor.append(natural[-1])
        elif col.fit == "words":
            floor.append(min(_widest(w for ln in lines for w in ln.split()), WORDS_MAX) or 1)
        else:
            floor.append(1)
    frame = _frame_width(table, len(columns))
    room = (console.width if width is None else width) - frame
    fitted = _narrow(natural, floor, room)
    if sum(fitted) > room:
        table.width = sum(fitted) + frame
    for col, wide, fit in zip(columns, natural, fitted, strict=True):
        common: dict[str, Any] = {"justify": col.justify, "style": col.style}
        if col.fit == "whole":
            table.add_column(col.header, no_wrap=True, min_width=wide, **common)
        else:
            # "fold" is the last resort, for a word wider than WORDS_MAX
            overflow: OverflowMethod = "fold" if col.fit == "words" else "ellipsis"
            table.add_column(
                col.header,
                width=fit if fit < wide else None,
                overflow=overflow,
                # free text a few wide: one shortened line (codes still wrap between words)
                no_wrap=col.fit == "text" and fit < TEXT_WRAP_MIN,
                **common,
            )
    for r in body:
        table.add_row(*(Text(c) for c in r))
    return table


def print_table(
    columns: Sequence[Col], rows: Iterable[Sequence[str | None]], **options: Any
) -> None:
    """Print `make_table(columns, rows, **options)` on stdout, never cropped at the edge."""
    console.print(make_table(columns, rows, **options), crop=False)


def _widest(texts: Iterable[str]) -> int:
    return max((cell_len(t) for t in texts), default=0)


def _frame_width(table: Table, n: int) -> int:
    """Return the width a table's borders and padding take beside its n columns' cells."""
    borders = ((2 if table.show_edge else 0) + n - 1) if table.box else 0
    _, right, _, left = table.padding
    return borders + n * (left + right) - (0 if table.pad_edge else left + right)


def _narrow(widths: Sequence[int], floors: Sequence[int], room: int) -> list[int]:
    """Return `widths` narrowed to sum to `room`: the widest first, none below its floor."""
    out = list(widths)
    excess = sum(out) - room
    while excess > 0:
        open_ = [i for i, w in enumerate(out) if w > floors[i]]
        if not open_:
            break
        top = max(out[i] for i in open_)
        for i in open_:
            if out[i] == top and excess > 0:
                out[i] -= 1
                excess -= 1
    return out
