"""Naming an encoding, and telling Windows Cyrillic from other text that is not UTF-8."""

from __future__ import annotations

import pytest

from landrelease.domain.errors import InputFileError
from landrelease.io.encodings import checked_encoding, looks_like_cyrillic, undecodable


@pytest.mark.parametrize(
    ("name", "codec"),
    [(None, None), ("CP1251", "cp1251"), ("windows-1251", "cp1251"), ("UTF8", "utf-8")],
)
def test_encoding_names_are_checked_and_made_canonical(name: str | None, codec: str | None) -> None:
    assert checked_encoding(name) == codec


@pytest.mark.parametrize("name", ["cp9999", "rot13", "hex", "utf-8; rm -rf"])
def test_names_that_are_no_text_encoding_are_refused(name: str) -> None:
    with pytest.raises(InputFileError, match="unknown text encoding"):
        checked_encoding(name)


@pytest.mark.parametrize(
    "text", ["Київ", "Ізюм – лісосмуга, 2 км", "Харків; с. Балаклія", "Поле №3 «Пiвнiч»"]
)
def test_ukrainian_in_cp1251_looks_cyrillic(text: str) -> None:
    assert looks_like_cyrillic(text.encode("cp1251"))


@pytest.mark.parametrize(
    ("text", "encoding"),
    [("Müller Straße", "latin-1"), ("café crème", "cp1252"), ("Київ", "utf-8"), ("road", "ascii")],
)
def test_other_text_does_not_look_cyrillic(text: str, encoding: str) -> None:
    assert not looks_like_cyrillic(text.encode(encoding))


def test_what_is_said_of_undecodable_bytes_is_one_line() -> None:
    said = undecodable("Ізюм\nБалаклія".encode("cp1251"), None)
    assert said.startswith("not UTF-8 text; it reads as Windows Cyrillic ('Ізюм\\nБалаклія')")
    assert "\n" not in said
