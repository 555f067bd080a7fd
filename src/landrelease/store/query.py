"""What a read may ask for, checked before any backend makes SQL of it.

Column names (the columns to read, the keys of `where`, the sort keys of `order_by`) may come
from a request; each is checked against the record kind's fields and the change stamp
columns, so that only names of our own data model ever reach SQL as identifiers. Values are
never identifiers: the backends bind them as parameters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from landrelease.domain.errors import ValidationError
from landrelease.domain.records import RecordKind
from landrelease.store.base import OrderBy

# The change stamp of every record, readable beside its fields (`version` is a field).
STAMP_COLUMNS = ("changed_at", "changed_by", "change_action", "needs_check")

_SCALARS = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class Query:
    """A read of one kind with every name checked: columns, filters, order, page."""

    columns: tuple[str, ...]
    where: tuple[tuple[str, Any], ...]  # (column, value | list of values); None: empty
    order: tuple[tuple[str, bool], ...]  # (column, descending)
    limit: int | None
    offset: int


def readable_columns(kind: RecordKind) -> tuple[str, ...]:
    """Return every column a read of `kind` may name: its fields, then the change stamp."""
    return kind.field_names + STAMP_COLUMNS


def writable_columns(kind: RecordKind) -> frozenset[str]:
    """Return the columns an update may set: the fields but ref and version, and the
    geometry key of a polygon kind (the store keeps it beside the geometry)."""
    names = set(kind.field_names) - {"ref", "version"}
    if kind.geometry == "polygon":
        names.add("geom_key")
    return frozenset(names)


def checked_column(kind: RecordKind, name: Any, parameter: str) -> str:
    """Return `name` if it is a column of `kind` a read may name; else a ValidationError
    naming it (and `parameter`, the part of the request it came in)."""
    if isinstance(name, str) and name in readable_columns(kind):
        return name
    raise ValidationError(
        None,
        parameter,
        f"unknown column {name!r} of {kind.name}; choose among "
        + ", ".join(readable_columns(kind)),
    )


def checked_writes(kind: RecordKind, names: Iterable[str]) -> list[str]:
    """Return `names` if an update of `kind` may set each; else a ValidationError naming it."""
    allowed = writable_columns(kind)
    out = list(names)
    for name in out:
        if name not in allowed:
            raise ValidationError(
                None,
                "values",
                f"{kind.name} have no column {name!r} an update may set; choose among "
                + ", ".join(sorted(allowed)),
            )
    return out


def read_query(
    kind: RecordKind,
    *,
    columns: Sequence[str] | None = None,
    where: dict[str, Any] | None = None,
    order_by: OrderBy | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> Query:
    """Return the read asked for, every name checked (ValidationError names a bad one).

    `columns` default to the kind's fields. `order_by` is a column, "-column" for
    descending, or a sequence of them. `limit` and `offset` are counts of rows (0 or more).
    """
    if isinstance(columns, str):
        columns = [columns]  # one name given bare: not a sequence of its letters
    cols = (
        kind.field_names
        if columns is None
        else tuple(checked_column(kind, c, "columns") for c in columns)
    )
    filters = tuple(
        (checked_column(kind, name, "where"), _checked_value(kind, name, value))
        for name, value in (where or {}).items()
    )
    return Query(cols, filters, _order(kind, order_by), _count(limit, "limit"), _offset(offset))


def _checked_value(kind: RecordKind, name: str, value: Any) -> Any:
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, list | tuple | set | frozenset) and all(
        isinstance(v, _SCALARS) for v in value
    ):
        return list(value)
    raise ValidationError(
        None,
        name,
        f"a filter of {kind.name} takes a text, a number or a list of them, "
        f"not {type(value).__name__}",
    )


def _order(kind: RecordKind, order_by: OrderBy | None) -> tuple[tuple[str, bool], ...]:
    if order_by is None:
        return ()
    keys = [order_by] if isinstance(order_by, str) else list(order_by)
    out = []
    for key in keys:
        descending = isinstance(key, str) and key.startswith("-")
        name = key[1:] if descending else key
        out.append((checked_column(kind, name, "order_by"), descending))
    return tuple(out)


def _count(value: Any, parameter: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(None, parameter, f"{value!r} is not a number of rows (0 or more)")
    return value


def _offset(value: Any) -> int:
    return _count(value, "offset") or 0


__all__ = [
    "STAMP_COLUMNS",
    "Query",
    "checked_column",
    "checked_writes",
    "read_query",
    "readable_columns",
    "writable_columns",
]
