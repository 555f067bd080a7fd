"""io.check_output: the checks before a command writes its result to a file."""

from __future__ import annotations

from pathlib import Path

import pytest

from landrelease.domain.errors import InputFileError
from landrelease.io import check_output


def _check(path: Path, overwrite: bool = False) -> None:
    check_output(path, suffixes=(".csv",), wrong_suffix="write a .csv", overwrite=overwrite)


def test_a_writable_csv_path_passes(tmp_path: Path) -> None:
    _check(tmp_path / "out.csv")
    (tmp_path / "old.csv").write_text("x\n")
    _check(tmp_path / "old.csv", overwrite=True)


@pytest.mark.parametrize(
    ("name", "said"),
    [("out.txt", "write a .csv"), ("no/such/out.csv", "does not exist"), ("old.csv", "exists")],
)
def test_each_refusal_names_the_path(tmp_path: Path, name: str, said: str) -> None:
    (tmp_path / "old.csv").write_text("x\n")
    with pytest.raises(InputFileError, match=said) as caught:
        _check(tmp_path / name)
    assert str(tmp_path / name) in str(caught.value)
