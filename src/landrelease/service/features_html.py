"""HTML pages of OGC API Features (f=html): Jinja2 templates, plain pages without JavaScript."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from starlette.responses import HTMLResponse

TEMPLATES = Path(__file__).with_name("templates")


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["show"] = show
    return env


def render(name: str, **values: Any) -> str:
    """Return the template `name` of service/templates rendered with `values`."""
    return _environment().get_template(name).render(**values)


def show(value: Any) -> str:
    """Return a property's value as a table cell shows it (lists joined, None empty)."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def page(
    template: str,
    *,
    title: str,
    base: str,
    crumbs: list[tuple[str, str]],
    json_href: str | None,
    user: str | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Return a rendered page: `crumbs` are (title, path) pairs from the landing page down."""
    html = (
        _environment()
        .get_template(template)
        .render(
            title=title,
            base=base,
            crumbs=[{"title": t, "href": base + p} for t, p in crumbs],
            json_href=json_href,
            user=user,
            **context,
        )
    )
    return HTMLResponse(html, status_code=status_code)


__all__ = ["TEMPLATES", "page", "show"]
