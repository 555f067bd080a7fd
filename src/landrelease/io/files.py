"""Where files are checked before reading and replaced atomically when written."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Collection, Iterator
from pathlib import Path

from landrelease.domain.errors import InputFileError


def check_readable(path: Path) -> None:
    """Return nothing if `path` is a non-empty file; raise InputFileError saying what is wrong."""
    if not path.exists():
        raise InputFileError(f"{path}: file not found; check the path and the file name")
    if path.is_dir():
        raise InputFileError(f"{path}: is a folder, not a file; give the path of a file in it")
    if path.stat().st_size == 0:
        raise InputFileError(f"{path}: file is empty (0 bytes); export it again from its source")


def check_writable(path: Path, *, overwrite: bool) -> None:
    """Return nothing if a file may be written at `path`; raise InputFileError saying why not.

    Without `overwrite`, an existing file is refused (an export never replaces a file the
    user did not name for replacing).
    """
    if path.is_dir():
        raise InputFileError(f"{path}: is a folder; give the path of a file to write")
    if not path.parent.is_dir():
        raise InputFileError(f"{path}: folder {path.parent} does not exist; create it first")
    if not overwrite and path.exists():
        raise InputFileError(_exists(path))


def check_output(
    path: Path, *, suffixes: Collection[str], wrong_suffix: str, overwrite: bool
) -> None:
    """Return nothing if a file of one of `suffixes` may be written at `path` now (also: the
    folder and an existing file are writable); raise InputFileError saying why not, with
    `wrong_suffix` the advice for a name of another type."""
    if path.suffix.lower() not in suffixes:
        raise InputFileError(f"{path}: {wrong_suffix}")
    check_writable(path, overwrite=overwrite)
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise InputFileError(f"{path}: cannot be written here (no permission)")


def _exists(path: Path) -> str:
    return f"{path}: the file already exists; choose another name, or replace it with --overwrite"


@contextlib.contextmanager
def replaced_atomically(path: Path, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside `path` that becomes `path` once the block succeeds.

    The temporary file keeps the suffix of `path` (drivers choose by it) and lives in the
    same folder, so `os.replace` is atomic: a failed export never leaves a half-written file.
    Without `overwrite` the file is linked into place, which fails if another program made
    a file of that name meanwhile (InputFileError); where the file system has no hard links
    (FAT, say), it is looked for just before.
    """
    check_writable(path, overwrite=overwrite)
    temporary = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.partial{path.suffix}")
    try:
        yield temporary
        if overwrite:
            os.replace(temporary, path)
        else:
            _link_new(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def _link_new(temporary: Path, path: Path) -> None:
    """Give the complete `temporary` file the name `path`, which must not exist yet."""
    try:
        os.link(temporary, path)
    except FileExistsError:
        raise InputFileError(_exists(path)) from None
    except OSError:  # no hard links here
        if path.exists():
            raise InputFileError(_exists(path)) from None
        os.replace(temporary, path)
