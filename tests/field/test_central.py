"""Pulling from ODK Central: the OData table pyodk returns is read as a downloaded one, and
what cannot be pulled is a clear error. No server is contacted: pyodk's client is replaced by
one answering the recorded (synthetic) OData export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from landrelease.domain.errors import ValidationError
from landrelease.field.central import pull_submissions
from landrelease.field.submissions import read_submissions

SAMPLE = Path(__file__).parent.parent / "data" / "field" / "eod_spot_task.odata.json"


class _Submissions:
    def __init__(self, asked: dict[str, Any]) -> None:
        self.asked = asked

    def get_table(self, **kwargs: Any) -> dict[str, Any]:
        self.asked.update(kwargs)
        return json.loads(SAMPLE.read_text())


class _Client:
    asked: dict[str, Any] = {}

    def __init__(self, **kwargs: Any) -> None:
        self.asked.clear()
        self.asked.update(kwargs)
        self.submissions = _Submissions(self.asked)

    def __enter__(self) -> _Client:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def test_a_pull_reads_the_odata_table_with_its_repeats(monkeypatch: pytest.MonkeyPatch) -> None:
    import pyodk.client

    monkeypatch.setattr(pyodk.client, "Client", _Client)
    subs = pull_submissions("eod_spot_task", project_id=3)
    assert _Client.asked["project_id"] == 3
    assert (_Client.asked["form_id"], _Client.asked["expand"]) == ("eod_spot_task", "*")
    from_file = read_submissions(SAMPLE)
    assert [(s.instance_id, s.values, s.repeats) for s in subs] == [
        (s.instance_id, s.values, s.repeats) for s in from_file
    ]


def test_a_missing_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as err:
        pull_submissions("eod_spot_task", config_path=tmp_path / "none.toml")
    assert err.value.field == "config"


def test_a_server_error_is_a_validation_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import pyodk.client
    from pyodk.errors import PyODKError

    class Refusing(_Client):
        def __enter__(self) -> _Client:
            raise PyODKError("401 Unauthorized")

    monkeypatch.setattr(pyodk.client, "Client", Refusing)
    with pytest.raises(ValidationError, match="401") as err:
        pull_submissions("eod_spot_task")
    assert err.value.field == "server"
