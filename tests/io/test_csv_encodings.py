"""CSV text in encodings other than UTF-8: the row to blame, the encoding to name, reading it."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from landrelease.domain.errors import InputFileError
from landrelease.io import read_features

HEADER = "ref,name,lat,lon\r\n"
# Row 2 holds a quoted line break, so lines and rows differ from there on.
ROWS = [
    "HZ-1,Field by the road,49.2,37.26\r\n",
    'HZ-2,"Orchard,\r\nnorth side",49.3,37.27\r\n',
    "\r\n",  # a blank line: pandas skips it, and so must the row count
    "HZ-3,Ізюм – лісосмуга,49.21,37.25\r\n",
    "HZ-4,Балаклія,49.46,36.86\r\n",
]


def cp1251_csv(path: Path) -> Path:
    """Return `path` after writing a table whose 3rd data row is the first with Cyrillic."""
    path.write_bytes((HEADER + "".join(ROWS)).encode("cp1251"))
    return path


def test_cp1251_names_the_row_and_suggests_the_encoding(tmp_path: Path) -> None:
    path = cp1251_csv(tmp_path / "hazards.csv")
    with pytest.raises(InputFileError) as caught:
        read_features(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: row 3, column 'name': not UTF-8 text")
    assert "'Ізюм – лісосмуга'" in message
    assert message.endswith("import with --encoding cp1251")
    assert "\n" not in message


@pytest.mark.parametrize("name", ["cp1251", "CP1251", "windows-1251"])
def test_cp1251_reads_with_its_encoding_named(tmp_path: Path, name: str) -> None:
    read = read_features(cp1251_csv(tmp_path / "hazards.csv"), encoding=name)
    assert read["name"].tolist() == [
        "Field by the road",
        "Orchard,\r\nnorth side",
        "Ізюм – лісосмуга",
        "Балаклія",
    ]


def test_western_text_is_not_taken_for_cyrillic(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("ref,name,lat,lon\nA,Müller Straße,49.2,37.26\n".encode("latin-1"))
    with pytest.raises(InputFileError) as caught:
        read_features(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: row 1, column 'name': not UTF-8 text ('M")
    assert "cp1251" not in message
    assert "name its encoding with --encoding" in message
    assert read_features(path, encoding="latin-1")["name"][0] == "Müller Straße"


def test_utf16_is_recognised_and_read_when_named(tmp_path: Path) -> None:
    path = tmp_path / "unicode.csv"
    path.write_bytes(
        codecs.BOM_UTF16_LE + "ref\tname\tlat\tlon\nA\tІзюм\t49.2\t37.26\n".encode("utf-16-le")
    )
    with pytest.raises(InputFileError, match=r"UTF-16; import with --encoding utf-16"):
        read_features(path)
    assert read_features(path, encoding="utf-16")["name"].tolist() == ["Ізюм"]


def test_utf8_named_still_skips_the_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(codecs.BOM_UTF8 + b"ref,lat,lon\nA,49.2,37.26\n")
    assert list(read_features(path, encoding="UTF8").columns) == ["ref", "geometry"]


def test_text_that_does_not_decode_in_the_named_encoding_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "hazards.csv"
    path.write_bytes("ref,name,lat,lon\nA,Ізюм,49.2,37.26\n".encode())
    with pytest.raises(
        InputFileError,
        match=r"row 1, column 'name': not ascii text; it reads as UTF-8 \('Ізюм'\): import without",
    ):
        read_features(path, encoding="ascii")


@pytest.mark.parametrize("name", ["klingon", "base64", ""])
def test_an_unknown_encoding_is_an_input_file_error(tmp_path: Path, name: str) -> None:
    path = cp1251_csv(tmp_path / "hazards.csv")
    with pytest.raises(InputFileError, match=rf"unknown text encoding {name!r}; give one such"):
        read_features(path, encoding=name)
