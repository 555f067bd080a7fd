"""Text encodings: the one a caller names, checked, and what to suggest when bytes do not decode.

Files from Ukrainian offices are often Windows Cyrillic (cp1251): CSV saved by Excel without
"UTF-8", Shapefiles whose .dbf has no .cpg beside it. Such bytes are not UTF-8, and read as
UTF-8 they fail; read as cp1251 they are Cyrillic words. That is what `undecodable` looks for.
"""

from __future__ import annotations

import codecs
import re

from landrelease.domain.errors import InputFileError

UTF8 = "utf-8"
WINDOWS_CYRILLIC = "cp1251"
_WORD = re.compile(r"[^\W\d_]+")


def checked_encoding(name: str | None) -> str | None:
    """Return Python's name of the text encoding `name` ("windows-1251" -> "cp1251"), or None.

    Raises InputFileError for a name Python does not know as a text encoding ("base64" is a
    codec, but not one for text).
    """
    if name is None:
        return None
    try:
        "".encode(name)  # LookupError for unknown names and for bytes-to-bytes codecs
        info = codecs.lookup(name)
    except LookupError as error:
        raise InputFileError(
            f"unknown text encoding {name!r}; give one such as 'cp1251' (Windows Cyrillic) "
            "or 'utf-8'"
        ) from error
    return info.name


def is_utf8(encoding: str | None) -> bool:
    """Return whether `encoding` (a name from `checked_encoding`, or None) means UTF-8."""
    return encoding is None or encoding in (UTF8, "utf-8-sig")


def looks_like_cyrillic(raw: bytes) -> bool:
    """Return whether `raw` looks like Windows Cyrillic (cp1251) text.

    Almost any byte decodes in cp1251, so decoding alone proves nothing: Latin-1 "Müller"
    becomes "Mьller", UTF-8 "Київ" becomes "РљРёС—РІ". So the bytes must not be UTF-8, and in
    the words holding letters beyond ASCII most letters must be Cyrillic: mis-read Western
    text has one Cyrillic letter among Latin ones, while Ukrainian text often has a Latin
    "i" typed among Cyrillic ones ("Пiвнiч").
    """
    if raw.isascii() or decodes(raw, UTF8):
        return False
    try:
        text = raw.decode(WINDOWS_CYRILLIC)
    except UnicodeDecodeError:
        return False
    letters = "".join(word for word in _WORD.findall(text) if not word.isascii())
    cyrillic = sum("\u0400" <= char <= "\u04ff" for char in letters)
    return cyrillic > len(letters) / 2


def undecodable(raw: bytes, encoding: str | None) -> str:
    """Return what to say of bytes `raw` that do not decode as `encoding` (None: UTF-8).

    Says "not UTF-8 text", shows the text as it would read in the encoding to suggest,
    and says what to do: --encoding utf-16 for UTF-16; no --encoding when the bytes are UTF-8;
    --encoding cp1251 when they read as Cyrillic words in it; else name the file's encoding.
    """
    label = "UTF-8" if is_utf8(encoding) else encoding
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return f"not {label} text but UTF-16; import with --encoding utf-16"
    if not is_utf8(encoding) and decodes(raw, UTF8):
        return (
            f"not {label} text; it reads as UTF-8 ({_quoted(raw, UTF8)}): import without --encoding"
        )
    if encoding != WINDOWS_CYRILLIC and looks_like_cyrillic(raw):
        return (
            f"not {label} text; it reads as Windows Cyrillic "
            f"({_quoted(raw, WINDOWS_CYRILLIC)}): import with --encoding cp1251"
        )
    shown = _quoted(raw, UTF8 if is_utf8(encoding) else str(encoding))
    fix = "save the file as UTF-8, or name" if is_utf8(encoding) else "name"
    return f"not {label} text ({shown}); {fix} its encoding with --encoding (such as cp1252)"


def decodes(raw: bytes, encoding: str) -> bool:
    """Return whether `raw` decodes as `encoding`."""
    try:
        raw.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _quoted(raw: bytes, encoding: str, limit: int = 30) -> str:
    """Return `raw` decoded (undecodable bytes as U+FFFD), quoted and cut to `limit`."""
    text = raw.decode(encoding, errors="replace")
    return repr(text if len(text) <= limit else text[:limit] + "...")
