"""`landrelease users`: add, list and revoke the users of the HTTP service."""

from __future__ import annotations

from typing import Annotated

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

app = typer.Typer(
    help="Users of the HTTP service: a name, a role (viewer, editor, validator, admin) and "
    "a token.",
    no_args_is_help=True,
)


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="User name: what the audit trail records.")],
    role: Annotated[
        str, typer.Option("--role", help="viewer, editor, validator or admin.", show_default=False)
    ],
    db: DbOption = None,
) -> None:
    """Add a user and print their token, once."""
    with open_registry(db) as reg:
        token = reg.add_user(name, role, actor=actor())
    console.print(f"Added user [bold]{name.strip()}[/] ({role.strip().lower()}). Token:")
    # the token alone on its line: whole, for copying or a script's `tail -n 2 | head -n 1`
    typer.echo(token)
    console.print(
        "The token is not stored (only a hash of it) and cannot be shown again: "
        "give it to the user now. Use it as 'Authorization: Bearer <token>' or to sign in.",
        soft_wrap=True,
    )


@app.command("list")
def list_(db: DbOption = None, json: JsonOption = False) -> None:
    """List the users: name, role, who added them and when, and any revocation."""
    with open_registry(db) as reg:
        rows = reg.users()
    if json:
        print_json(rows)
        return
    columns = (
        Col("name"),
        Col("role"),
        Col("created at / by"),
        Col("revoked at / by"),
    )
    cells = (
        (
            r["name"],
            r["role"],
            f"{r['created_at']}\n{r['created_by']}",
            f"{r['revoked_at']}\n{r['revoked_by']}" if r["revoked_at"] else "",
        )
        for r in rows
    )
    print_table(columns, cells, title=f"{len(rows)} user(s)")


@app.command("revoke")
def revoke(
    name: Annotated[str, typer.Argument(help="User name.")],
    db: DbOption = None,
) -> None:
    """Revoke a user's token and end their sessions, at once; the user stays listed."""
    with open_registry(db) as reg:
        row = reg.revoke_user(name, actor=actor())
    console.print(
        f"Revoked {row['name']} at {row['revoked_at']} (by {row['revoked_by']})",
        markup=False,
        soft_wrap=True,
    )
