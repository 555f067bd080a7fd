"""Copying a whole registry from one backend to another: a GeoPackage file, a PostGIS database.

`migrate(source, target)` makes a new registry at `target` and copies everything of `source`
into it in one write unit of work: every record's current row as stored (fid, version,
state, change stamp, check flag, import batch, geometry key), every earlier version, the
import batches, the settings, the ref counters, the users (their token hashes: tokens keep
working), their browser sessions, the status proposals, the reference layers and the saved
rankings with their areas. Copied rows are not edits: they keep their stamps, and no
history is written for them. A failure leaves `target` as it was: a new file is removed, a
database is left without the registry.

Each backend reads and writes the row format of `store/transfer.py`; reference layers go
through the stores' `Layers`, which make each layer's table and its registrations.
"""

from __future__ import annotations

import importlib
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from landrelease.domain.errors import ValidationError
from landrelease.store import Store, UnitOfWork, is_postgis_url, open_store
from landrelease.store.transfer import Backend, tables

# Progress of a copy: (table, rows copied so far, rows of the table).
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Copied:
    """One table of a copy: how many rows the source holds and how many the new registry."""

    table: str
    source: int
    target: int


@dataclass(frozen=True)
class Location:
    """Where a registry is: a GeoPackage file or a PostgreSQL database, as the user gave it."""

    text: str
    backend: str  # sqlite | postgis

    @property
    def shown(self) -> str:
        """Return the location as a message shows it (a database URL without its password)."""
        if self.backend == "sqlite":
            return self.text
        from landrelease.store.postgis import public_url

        return public_url(self.text)

    @property
    def same_as(self) -> str:
        """Return what two locations must share to be the same registry."""
        if self.backend == "sqlite":
            return str(Path(self.text).resolve())
        parts = urllib.parse.urlsplit(self.text)
        return f"{parts.hostname}:{parts.port or 5432}/{parts.path.lstrip('/')}"

    def transfer(self) -> Backend:
        """Return the module that reads and writes this backend in the row format."""
        module = importlib.import_module(f"landrelease.store.{self.backend}_transfer")
        return cast(Backend, module)


def location(text: str, option: str) -> Location:
    """Return the location of a registry given as a .gpkg path or a postgresql:// URL."""
    if is_postgis_url(text):
        if not urllib.parse.urlsplit(text).path.lstrip("/"):
            raise ValidationError(
                None,
                option,
                f"{text!r} names no database; write postgresql://USER@HOST:PORT/DATABASE",
            )
        return Location(text, "postgis")
    if "://" in text and not text.startswith("sqlite:///"):
        raise ValidationError(
            None,
            option,
            f"{text.split('://')[0]}:// is not a registry location; give a .gpkg file or a "
            "postgresql://USER@HOST:PORT/DATABASE URL",
        )
    return Location(text.removeprefix("sqlite:///"), "sqlite")


def migrate(
    source: str, target: str, *, actor: str, progress: Progress | None = None
) -> list[Copied]:
    """Copy the registry at `source` into a new one at `target`; return the rows per table.

    `target` must not hold a registry: a file that exists, or a database with a registry
    in it, is refused (an empty database is fine). The copy is one transaction; on any
    failure the new registry is removed again. `progress` is told of each table's rows.
    """
    src, dst = location(source, "--from"), location(target, "--to")
    if src.same_as == dst.same_as:
        raise ValidationError(None, "--to", f"{dst.shown} is the registry to copy from")
    step = progress or (lambda _table, _done, _total: None)
    source_store = open_store(src.text, readonly=True)
    try:
        claim = dst.transfer().claim(dst.text)
        if claim.taken is not None:
            raise ValidationError(
                None, "--to", f"{dst.shown} {claim.taken}; give a new file or an empty database"
            )
        try:
            target_store = open_store(dst.text, create=True)
            try:
                return _copy(source_store, src, target_store, dst, actor, step)
            finally:
                target_store.close()
        except BaseException:
            claim.undo()
            raise
    finally:
        source_store.close()


def _copy(
    source: Store, src: Location, target: Store, dst: Location, actor: str, step: Progress
) -> list[Copied]:
    """Copy every table and reference layer of `source` into `target` in one transaction."""
    reader, writer = src.transfer(), dst.transfer()
    note = f"a copy of {src.shown} by {actor}"
    copied: list[Copied] = []
    with (
        source.unit_of_work() as read,
        target.unit_of_work(write=True, bulk=True, note=note) as write,
    ):
        loader = writer.Loader(write)
        for table in tables():
            total = reader.count(read, table.name)
            done = 0
            step(table.name, done, total)
            loader.begin(table)
            for rows in reader.dump(read, table):
                loader.load(table, rows)
                done += len(rows)
                step(table.name, done, total)
            loader.end(table)
            copied.append(Copied(table.name, total, loader.count(table.name)))
        for name, features in _copy_layers(read, write, step):
            copied.append(Copied(name, features, loader.count(name)))
        loader.finish(reader.descriptions(read))
    return copied


def _copy_layers(read: UnitOfWork, write: UnitOfWork, step: Progress) -> Iterator[tuple[str, int]]:
    """Copy every reference layer through the stores' Layers (its features, its columns, its
    description: kind, source, content hash, who added it and when); yield each new table
    and the features copied into it."""
    for layer in read.layers.all():
        geoms, columns = read.layers.read(layer["name"])
        step(layer["table_name"], 0, len(geoms))
        table = write.layers.add(
            layer["name"],
            layer["kind"],
            layer["geometry_type"],
            geoms,
            columns,
            layer["source"],
            layer["content_sha256"],
            layer["added_at"],
            layer["added_by"],
        )
        step(layer["table_name"], len(geoms), len(geoms))
        yield table, len(geoms)


__all__ = ["Copied", "Location", "Progress", "location", "migrate"]
