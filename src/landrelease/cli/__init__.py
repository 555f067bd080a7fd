"""The `landrelease` command line: parses arguments, calls one Registry method, renders it."""

from __future__ import annotations

import os
import sys
import traceback
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from landrelease.cli.common import (
    Col,
    DbOption,
    JsonOption,
    actor,
    console,
    open_registry,
    print_json,
    print_table,
    progress_bar,
    resolve_db,
)
from landrelease.domain.errors import LandreleaseError, ValidationError
from landrelease.domain.records import KINDS

app = typer.Typer(
    name="landrelease",
    help="Registry of explosive-ordnance hazards and land release, with full history.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
hazards_app = typer.Typer(help="List, show and change hazardous areas.", no_args_is_help=True)
app.add_typer(hazards_app, name="hazards")

KindOption = Annotated[
    str,
    typer.Option("--kind", help=f"Record kind: {'|'.join(KINDS)}.", show_default=True),
]
ReasonOption = Annotated[str | None, typer.Option("--reason", help="Why: kept in the audit trail.")]


@app.command()
def init(
    db: DbOption = None,
    country: Annotated[str, typer.Option(help="ISO code of the country checks use.")] = "UA",
    boundary: Annotated[
        Path | None,
        typer.Option(help="Polygon file of the country boundary (instead of its bounding box)."),
    ] = None,
) -> None:
    """Create an empty registry (a GeoPackage file), or migrate an existing one."""
    path = resolve_db(db)
    with _open_create(path, country) as reg:
        if boundary is not None:
            reg.set_boundary(boundary, actor=actor())
        console.print(
            f"Registry ready: [bold]{path}[/] (country {reg.country.code})", soft_wrap=True
        )


def _open_create(path: str, country: str):  # type: ignore[no-untyped-def]
    from landrelease.registry import Registry

    return Registry.open(path, create=True, country=country)


@app.command("import")
def import_(
    path: Annotated[
        Path, typer.Argument(help="File to import (.geojson, .gpkg, .zip, .csv, .xlsx, .parquet).")
    ],
    db: DbOption = None,
    kind: KindOption = "hazards",
    skip_invalid: Annotated[
        Path | None,
        typer.Option(
            "--skip-invalid",
            help="Import the good records; write each bad one, with its reason, to this file.",
        ),
    ] = None,
    repair: Annotated[
        bool, typer.Option("--repair", help="Repair invalid polygons (and report each change).")
    ] = False,
    reason: ReasonOption = None,
    keep_status: Annotated[
        bool,
        typer.Option(
            "--keep-status",
            help="Accept any status as recorded by the source (a migration or a "
            "re-import of an export); new areas otherwise start suspected or confirmed.",
        ),
    ] = False,
    layer: Annotated[str | None, typer.Option(help="Layer of a GeoPackage to read.")] = None,
    crs: Annotated[
        str | None,
        typer.Option(
            help="CRS of a file that declares none (CSV, XLSX, Shapefile without "
            ".prj), e.g. EPSG:32636; default EPSG:4326 for CSV/XLSX."
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the report as JSON: refs, rejected, repairs, every warning.",
        ),
    ] = False,
    encoding: Annotated[
        str | None,
        typer.Option(
            help="Text encoding of a CSV or of a Shapefile's .dbf, e.g. cp1251; default UTF-8."
        ),
    ] = None,
) -> None:
    """Import records from a file in one transaction: all of them, or none."""
    from landrelease.importing import IMPORT_STEPS

    with open_registry(db) as reg, progress_bar() as bar:
        task = bar.add_task(f"importing {path.name}", total=len(IMPORT_STEPS))
        done: list[str] = []

        def step(name: str) -> None:
            done.append(name)
            bar.update(task, completed=len(done) - 1, description=f"{name} {path.name}")

        report = reg.import_file(
            path,
            kind,
            actor=actor(),
            reason=reason,
            skip_invalid=skip_invalid,
            repair=repair,
            keep_status=keep_status,
            layer=layer,
            crs=crs,
            encoding=encoding,
            progress=step,
        )
        bar.update(task, completed=len(IMPORT_STEPS))
    if as_json:
        from landrelease.records_json import import_report_json

        print_json(import_report_json(report))
        return
    # One line each, never wrapped: a path, a ref or a warning stays whole for grep and copy.
    console.print(f"Imported [bold]{report.imported}[/] {kind} from {path}", soft_wrap=True)
    if report.rejected:
        console.print(
            f"[yellow]Rejected {report.rejected} record(s); reasons written to "
            f"{report.rejected_file}[/]",
            soft_wrap=True,
        )
    for title, lines in (("Repaired", report.repairs), ("Warning", report.warnings)):
        for line in lines[:20]:
            console.print(f"{title}: {line}", markup=False, soft_wrap=True)
        if len(lines) > 20:
            console.print(f"{title}: ... and {len(lines) - 20} more (--json lists them all)")


@app.command()
def export(
    path: Annotated[
        Path,
        typer.Argument(
            help="Output file; its extension picks the format "
            "(.gpkg, .geojson, .csv, .parquet, .xlsx, .zip)."
        ),
    ],
    db: DbOption = None,
    kind: KindOption = "hazards",
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace the file if it exists.")
    ] = False,
) -> None:
    """Export every record of a kind to a file (its layer named after the kind's table)."""
    with open_registry(db) as reg:
        n = reg.export(path, kind, overwrite=overwrite)
    console.print(f"Exported {n} {kind} to {path}", soft_wrap=True)


def _parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if text is None:
        return None
    try:
        parts = tuple(float(p) for p in text.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 4 or parts[0] > parts[2] or parts[1] > parts[3]:
        raise ValidationError(
            None, "--bbox", f"{text!r} is not MINX,MINY,MAXX,MAXY (lon/lat, min before max)"
        )
    return parts  # type: ignore[return-value]


LIST_COLUMNS = (
    "ref",
    "name",
    "status",
    "hazard_type",
    "contamination",
    "land_use",
    "admin_area",
    "reported_on",
    "area_m2",
    "version",
)


@hazards_app.command("list")
def hazards_list(
    db: DbOption = None,
    status: Annotated[str | None, typer.Option(help="Only areas with this status.")] = None,
    bbox: Annotated[
        str | None, typer.Option(help="Only areas meeting MINX,MINY,MAXX,MAXY (lon/lat).")
    ] = None,
    json: JsonOption = False,
) -> None:
    """List hazardous areas."""
    from landrelease.domain.records import HAZARDS
    from landrelease.records_json import STAMP, records_json

    box = _parse_bbox(bbox)
    with open_registry(db) as reg:
        cols = reg.hazard_columns(
            bbox=box, status=status, columns=[*LIST_COLUMNS, *STAMP], geometry=False
        )
    rows = records_json(HAZARDS, cols, geometry=False)
    n = len(rows)
    if json:
        print_json(rows)
        return
    columns = (
        Col("ref"),
        Col("name", "text"),
        Col("status"),
        Col("type"),
        Col("contamination", "words"),
        Col("area (ha)", justify="right"),
        Col("version", justify="right"),
    )
    cells = (
        (
            r["ref"],
            r["name"] or "",
            r["status"],
            r["hazard_type"],
            ", ".join(r["contamination"]),
            f"{(r['area_m2'] or 0) / 1e4:,.2f}",
            str(r["version"]),
        )
        for r in rows[:1000]
    )
    print_table(columns, cells, title=f"{n} hazardous area(s)")
    if n > 1000:
        console.print(f"... {n - 1000} more: use --json or 'landrelease export'")


@hazards_app.command("show")
def hazards_show(
    ref: Annotated[str, typer.Argument(help="Reference of the area.")],
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Show one hazardous area with every field."""
    from landrelease.domain.records import HAZARDS
    from landrelease.records_json import record_json

    with open_registry(db) as reg:
        data = record_json(HAZARDS, reg.stored_record(HAZARDS.name, ref))
    if json:
        print_json(data)
        return
    _show_record(data)
    if data["needs_check"]:
        console.print(
            f"{ref} was edited outside landrelease, not checked: run 'landrelease check'",
            style="yellow",
            markup=False,
        )


def _show_record(data: dict[str, Any]) -> None:
    rows = []
    for k, v in data.items():
        if k == "geometry":
            v = f"{v['type']} ({len(v['coordinates'])} part(s))" if v else ""
        elif k == "area_m2" and v is not None:
            v = f"{v:,.0f} m2 ({v / 1e4:,.2f} ha)"
        elif isinstance(v, list):
            v = ", ".join(map(str, v))
        rows.append((k, "" if v is None else str(v)))
    # values mix refs, codes and dates with free text (notes): wrap them between words
    columns = (Col("field", style="bold"), Col("value", "words"))
    print_table(columns, rows, show_header=False, title=data.get("ref"))


@hazards_app.command("set-status")
def hazards_set_status(
    ref: Annotated[str, typer.Argument(help="Reference of the area.")],
    status: Annotated[str, typer.Argument(help="New status.")],
    db: DbOption = None,
    reason: ReasonOption = None,
) -> None:
    """Change an area's land-release status (the lifecycle rules apply)."""
    with open_registry(db) as reg:
        area = reg.set_status(ref, status, actor=actor(), reason=reason)
    console.print(f"{area.ref}: status is now [bold]{area.status}[/] (version {area.version})")


@app.command()
def history(
    ref: Annotated[str, typer.Argument(help="Reference of any record.")],
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Show every version of a record: when, who, why and what changed."""
    with open_registry(db) as reg:
        rows = reg.history(ref)
    if json:
        print_json(rows)
        return
    cells = []
    for r in rows:
        changed = ", ".join(
            k if k == "geometry" or r["action"] == "create" else f"{k}: {v[0]} -> {v[1]}"
            for k, v in r["changes"].items()
        )
        if r["action"] == "create":
            changed = "created"
        # the timestamp over the actor: both whole, and room left at 80 columns for the rest
        at_by = f"{r['at']}\n{r['actor']}"
        cells.append((str(r["version"]), at_by, r["action"], r["reason"] or "", changed))
    columns = (
        Col("version"),
        Col("at / by"),
        Col("action"),
        Col("reason", "text"),
        Col("changed", "words"),
    )
    print_table(columns, cells, title=f"history of {ref}")


@app.command()
def check(
    db: DbOption = None,
    fix: Annotated[
        bool,
        typer.Option(
            "--fix",
            help="Re-measure the records that pass and clear their flag (a new version each).",
        ),
    ] = False,
    json: JsonOption = False,
) -> None:
    """Check the records changed outside landrelease (QGIS, GDAL, SQL) as an import would."""
    with open_registry(db) as reg:
        found = reg.check(fix=fix, actor=actor())
    if json:
        print_json([rc.as_dict() for rc in found])
        return
    if not found:
        console.print("No record awaits a check: nothing was changed outside landrelease.")
        return
    rows = []
    for rc in found:
        state = "fixed" if rc.fixed else ("problems" if rc.problems else "passes")
        notes = [f"{f}: {m}" for f, m in rc.problems] + [
            f"warning, {f}: {m}" for f, m in rc.warnings
        ]
        if rc.area_m2 and rc.area_m2[1] is not None and rc.area_m2[0] != rc.area_m2[1]:
            old = "none" if rc.area_m2[0] is None else f"{rc.area_m2[0]:,.0f}"
            notes.append(f"area_m2 {old} -> {rc.area_m2[1]:,.0f}")
        rows.append([rc.ref, rc.kind, str(rc.version), state, "; ".join(notes)])
    print_table(
        [
            Col("kind", "whole"),
            Col("version", "whole", justify="right"),
            Col("result", "whole"),
            Col("what was found", "text"),
        ],
        rows,
        title=f"{len(found)} record(s) changed outside landrelease",
    )
    left = sum(1 for rc in found if rc.problems)
    if not fix and any(not rc.problems for rc in found):
        console.print("Run 'landrelease check --fix' to settle the records that pass.")
    if left:
        console.print(f"{left} record(s) stay flagged: fix them, in QGIS or with landrelease.")


@app.command()
def revert(
    ref: Annotated[str, typer.Argument(help="Reference of any record.")],
    to_version: Annotated[int, typer.Option("--to-version", help="Version to restore.")],
    db: DbOption = None,
    reason: ReasonOption = None,
) -> None:
    """Restore a record to an earlier version (recorded as a new version)."""
    with open_registry(db) as reg:
        rec = reg.revert(ref, to_version, actor=actor(), reason=reason)
    console.print(f"{ref}: restored version {to_version} as version {rec.version}")


@app.command()
def demo(
    db: DbOption = None,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic scenario.")] = 20240501,
    serve: Annotated[
        bool, typer.Option("--serve", help="Then serve it (the map, the API) until Ctrl-C.")
    ] = False,
    host: Annotated[str, typer.Option(help="With --serve: address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="With --serve: port to listen on.")] = 8000,
) -> None:
    """Build the synthetic demo registry over real Ukrainian settlements, then summarise it."""
    from landrelease.demo import build_demo

    path = resolve_db(db)
    with progress_bar() as bar:
        task = bar.add_task("building synthetic demo", total=None)

        def step(name: str, done: int, total: int) -> None:
            bar.update(task, description=name, completed=done, total=total)

        summary = build_demo(path, seed=seed, progress=step)
    _print_summary(path, summary)
    if not serve:
        return
    from landrelease.cli.serve import serve as run_server

    with open_registry(path) as reg:
        token = reg.add_user("demo-editor", "editor", actor="synthetic-demo")
    console.print(
        "A synthetic editor to try an edit: sign in at "
        f"http://{host}:{port}/login as [bold]demo-editor[/] with the token\n{token}",
        soft_wrap=True,
    )
    run_server(db=path, host=host, port=port, workers=1)


def _print_summary(path: str, summary: dict[str, Any]) -> None:
    console.print(
        f"[bold]Synthetic demo registry[/] {path} (country {summary['country']}; "
        "invented data over real GeoNames settlements)",
        soft_wrap=True,
    )
    counts = [(k, str(summary[k])) for k in KINDS]
    print_table((Col("records"), Col("count", justify="right")), counts)
    by_status = [(k, str(v)) for k, v in sorted(summary["hazards_by_status"].items())]
    columns = (Col("status"), Col("areas", justify="right"))
    print_table(columns, by_status, title="hazardous areas by status")
    console.print(f"Total hazardous area: {summary['hazard_area_km2']:,.1f} km2")
    console.print(f"Try: landrelease hazards list --db {path} --status confirmed", soft_wrap=True)
    if summary.get("priority"):  # the demo's saved ranking: its top 10 with reasons
        from landrelease.cli.priority import print_top

        print_top(summary["priority"])
    queued = summary.get("submissions")
    if queued:
        console.print(
            f"Field submissions waiting for review: {queued['queued']} ({queued['flagged']} "
            f"flagged). Try: landrelease review list --db {path}",
            soft_wrap=True,
            markup=False,
        )


def _mount_optional() -> None:
    try:
        from landrelease.cli.residual import app as residual_app
    except ImportError:  # pragma: no cover - residual model not installed
        return
    app.add_typer(residual_app, name="residual")


_mount_optional()


def _mount_service() -> None:
    from landrelease.cli.serve import serve

    app.command()(serve)


_mount_service()


def _mount_users() -> None:
    from landrelease.cli.users import app as users_app

    app.add_typer(users_app, name="users")


_mount_users()


def _mount_layers() -> None:
    from landrelease.cli.layers import app as layers_app

    app.add_typer(layers_app, name="layers")


_mount_layers()


def _mount_priority() -> None:
    from landrelease.cli.priority import app as priority_app
    from landrelease.cli.priority import prioritize

    app.command()(prioritize)
    app.add_typer(priority_app, name="priority")


_mount_priority()


def _mount_field() -> None:
    from landrelease.cli.field import forms_app, review_app, submissions_app

    app.add_typer(forms_app, name="forms")
    app.add_typer(submissions_app, name="submissions")
    app.add_typer(review_app, name="review")


_mount_field()


def _mount_migrate() -> None:
    from landrelease.cli.migrate import migrate

    app.command()(migrate)


_mount_migrate()


def main(argv: Sequence[str] | None = None) -> None:
    """Run the CLI: exit 0 on success, 2 on bad usage or input, 1 on anything unexpected."""
    command = typer.main.get_command(app)
    # Library warnings (GDAL's, through pyogrio) are held back: an error is one line, and
    # what matters in them reaches the user as our own error; on success they follow it.
    with warnings.catch_warnings(record=True) as held:
        warnings.simplefilter("always")
        code = _run(command, argv)
    if code == 0:
        for message in dict.fromkeys(str(w.message) for w in held):
            sys.stderr.write(f"warning: {_one_line(message)}\n")
    sys.exit(code)


def _run(command: Any, argv: Sequence[str] | None) -> int:
    try:
        result = command.main(args=argv, prog_name="landrelease", standalone_mode=False)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        sys.stderr.write("aborted\n")
        return 1
    except typer.TyperException as exc:  # usage errors: Typer prints them, exit 2
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        else:
            sys.stderr.write(f"error: {_one_line(exc.format_message())}\n")
        return int(exc.exit_code)
    except LandreleaseError as exc:
        sys.stderr.write(f"error: {_one_line(str(exc))}\n")
        return 2
    except Exception as exc:  # noqa: BLE001 - the last guard: one line, exit 1
        if os.environ.get("LANDRELEASE_DEBUG"):
            traceback.print_exc()
        sys.stderr.write(
            f"unexpected error: {type(exc).__name__}: {_one_line(str(exc))} "
            "(set LANDRELEASE_DEBUG=1 for details)\n"
        )
        return 1
    return result if isinstance(result, int) else 0


def _one_line(text: str) -> str:
    return " ".join(text.split())
