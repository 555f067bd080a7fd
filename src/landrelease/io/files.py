"""Where files are checked before reading and replaced atomically when written."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
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


@contextlib.contextmanager
def replaced_atomically(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path` that replaces `path` once the block succeeds.

    The temporary file keeps the suffix of `path` (drivers choose by it) and lives in the
    same folder, so `os.replace` is atomic: a failed export never leaves a half-written file.
    """
    if not path.parent.is_dir():
        raise InputFileError(f"{path}: folder {path.parent} does not exist; create it first")
    temporary = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.partial{path.suffix}")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
