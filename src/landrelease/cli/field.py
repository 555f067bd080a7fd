"""`landrelease forms`, `landrelease submissions` and `landrelease review`: the field forms,
the import of what field teams submitted, and the review queue."""

from __future__ import annotations

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
)
from landrelease.domain.errors import ValidationError

forms_app = typer.Typer(
    help="XLSForm forms for ODK Collect, KoboToolbox and Survey123, made from the registry's "
    "codes.",
    no_args_is_help=True,
)
submissions_app = typer.Typer(
    help="Field submissions (ODK Central, KoboToolbox) into the review queue.",
    no_args_is_help=True,
)
review_app = typer.Typer(
    help="The review queue: nothing a field team sends becomes a record before approval.",
    no_args_is_help=True,
)

IdArg = Annotated[int, typer.Argument(help="Submission id, as 'review list' shows it.")]


@forms_app.command("export")
def export(
    directory: Annotated[Path, typer.Argument(help="Folder to write the .xlsx forms into.")],
) -> None:
    """Write the field forms (one .xlsx XLSForm each), ready to upload to ODK Central or
    KoboToolbox."""
    from landrelease.registry import Registry

    paths = Registry.export_forms(directory)
    for p in paths:
        console.print(str(p), markup=False, soft_wrap=True)
    console.print(f"{len(paths)} form(s) written to {directory}", markup=False)


@submissions_app.command("import")
def import_(
    path: Annotated[
        Path,
        typer.Argument(
            help="An export: ODK Central CSV or ZIP (with repeat groups), KoboToolbox XLSX "
            "(with repeat groups) or CSV, or the JSON of their APIs."
        ),
    ],
    form: Annotated[
        str | None,
        typer.Option("--form", help="The form id, when the export does not tell it."),
    ] = None,
    accuracy_limit: Annotated[
        float | None,
        typer.Option(
            "--accuracy-limit",
            help="Flag GPS points less accurate than this (metres; default 10, what the forms "
            "ask ODK Collect for).",
        ),
    ] = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Queue the submissions of an export for review (each once, by its instance id)."""
    with open_registry(db) as reg:
        report = reg.import_submissions(
            path, actor=actor(), form_id=form, accuracy_limit_m=accuracy_limit
        )
    if json:
        print_json(report.as_dict())
        return
    console.print(
        f"{len(report.queued)} submission(s) queued for review, {len(report.flagged)} of them "
        f"flagged; {len(report.duplicates)} already queued (not added again)"
        + (f"; {len(report.replaced)} replaced by their edits" if report.replaced else ""),
        markup=False,
        soft_wrap=True,
    )
    for d in report.duplicates:
        where = f"submission {d['id']} ({d['state']})" if d["id"] else d["state"]
        console.print(
            f"  already queued: {d['instance_id']} as {where}", markup=False, soft_wrap=True
        )
    if report.queued:
        console.print("Next: landrelease review list", markup=False)


@submissions_app.command("pull")
def pull(
    form: Annotated[str, typer.Option("--form", help="The form id on ODK Central.")],
    project: Annotated[int | None, typer.Option("--project", help="ODK Central project id.")] = (
        None
    ),
    config: Annotated[
        Path | None,
        typer.Option("--config", help="pyodk's config file (default ~/.pyodk_config.toml)."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Pull the submissions of a form from a live ODK Central server (pyodk) into the queue."""
    from landrelease.field.central import pull_submissions

    subs = pull_submissions(form, project_id=project, config_path=config)
    with open_registry(db) as reg:
        report = reg.queue_submissions(subs, actor=actor(), source=f"ODK Central form {form}")
    console.print(
        f"{len(report.queued)} submission(s) queued, {len(report.flagged)} flagged, "
        f"{len(report.duplicates)} already queued",
        markup=False,
    )


@review_app.command("list")
def list_(
    state: Annotated[
        str, typer.Option("--state", help="pending, approved, rejected, or all.")
    ] = "pending",
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """List the queued submissions: form, submitter, when, flags, review."""
    with open_registry(db) as reg:
        rows = reg.submissions(None if state == "all" else state)
    if json:
        print_json(rows)
        return
    columns = (
        Col("id", justify="right"),
        Col("form"),
        Col("submitted by / at"),
        Col("state"),
        Col("flags", fit="text"),
    )
    cells = (
        (
            str(r["id"]),
            r["form_id"],
            f"{r['submitted_by'] or ''}\n{r['submitted_at'] or ''}",
            r["state"] if r["state"] == "pending" else f"{r['state']}\n{r['decided_by']}",
            "; ".join(f"{f['field']}: {f['message']}" for f in r["flags"]),
        )
        for r in rows
    )
    print_table(columns, cells, title=f"{len(rows)} {state} submission(s)")


@review_app.command("show")
def show(submission_id: IdArg, db: DbOption = None, json: JsonOption = False) -> None:
    """Show a submission: the records an approval would write, what an edit changes (field
    by field, and its geometry), its flags and its review history."""
    with open_registry(db) as reg:
        sub = reg.submission(submission_id)
    if json:
        print_json(sub)
        return
    _print_submission(sub)


def _print_submission(sub: dict[str, Any]) -> None:
    console.print(
        f"Submission {sub['id']}: {sub['form_id']} {sub['instance_id']}, by "
        f"{sub['submitted_by'] or '(unnamed)'} at {sub['submitted_at'] or '?'}: {sub['state']}",
        markup=False,
        soft_wrap=True,
    )
    for rec in sub["records"]:
        what = f"edit of {rec['ref']}" if rec["ref"] else "new record"
        console.print(f"\n{rec['kind']}: {what}", markup=False)
        if rec.get("changes") is not None:
            rows = [(c["field"], _cell(c["current"]), _cell(c["proposed"])) for c in rec["changes"]]
            print_table(
                (Col("field"), Col("current", fit="text"), Col("proposed", fit="text")), rows
            )
            g = rec.get("geometry_change")
            if g:
                console.print(
                    f"geometry: {g['current_m2']:,.0f} m2 -> {g['proposed_m2']:,.0f} m2 "
                    f"(added {g['added_m2']:,.0f} m2, removed {g['removed_m2']:,.0f} m2; "
                    f"the boundary moved up to {g['moved_m']:,.0f} m)",
                    markup=False,
                    soft_wrap=True,
                )
        else:
            values = [(k, _cell(v)) for k, v in rec["values"].items()]
            print_table((Col("field"), Col("value", fit="text")), values)
    if sub["flags"]:
        console.print("\nFlags (approve only once fixed, or with --override REASON):")
        print_table(
            (Col("code"), Col("field"), Col("message", fit="text")),
            [(f["code"], f["field"], f["message"]) for f in sub["flags"]],
        )
    console.print("\nHistory:")
    print_table(
        (Col("at"), Col("by"), Col("action"), Col("reason", fit="text")),
        [(e["at"], e["actor"], e["action"], e["reason"]) for e in sub["history"]],
    )


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


@review_app.command("approve")
def approve(
    submission_id: IdArg,
    override: Annotated[
        str | None,
        typer.Option("--override", help="Approve a flagged submission anyway, saying why."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Approve a submission: its records are written, audited, with you as the approver."""
    with open_registry(db) as reg:
        sub = reg.approve_submission(submission_id, actor=actor(), override=override)
    console.print(
        f"Approved submission {submission_id}: wrote {', '.join(sub['refs'])}",
        markup=False,
        soft_wrap=True,
    )


@review_app.command("reject")
def reject(
    submission_id: IdArg,
    reason: Annotated[str, typer.Option("--reason", help="Why (kept with the submission).")],
    db: DbOption = None,
) -> None:
    """Reject a submission; it stays in the queue with its reason."""
    with open_registry(db) as reg:
        reg.reject_submission(submission_id, actor=actor(), reason=reason)
    console.print(f"Rejected submission {submission_id}: {reason}", markup=False)


@review_app.command("edit")
def edit(
    submission_id: IdArg,
    set_: Annotated[
        list[str],
        typer.Option(
            "--set",
            help="QUESTION=VALUE (a repeat row's: item[2]/item_state=live; empty clears it).",
        ),
    ],
    reason: Annotated[str | None, typer.Option("--reason", help="Why.")] = None,
    db: DbOption = None,
) -> None:
    """Correct values of a pending submission; its flags are checked again."""
    changes: dict[str, str] = {}
    for item in set_:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValidationError(f"submission {submission_id}", "set", f"{item!r}: use Q=VALUE")
        changes[name.strip()] = value
    with open_registry(db) as reg:
        sub = reg.edit_submission(submission_id, changes, actor=actor(), reason=reason)
    flags = len(sub["flags"])
    console.print(
        f"Edited submission {submission_id}; {flags} flag(s) remain", markup=False, soft_wrap=True
    )
