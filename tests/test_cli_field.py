"""`landrelease forms export`, `submissions import` and `review ...`: a team's round trip from
the forms to approved records, on the recorded (synthetic) exports of tests/data/field/, and
the exit code and message of each bad input."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from conftest import RunCli
from fixtures import snapshot
from landrelease.field.forms import FORM_IDS

SAMPLES = Path(__file__).parent / "data" / "field"


@pytest.fixture
def empty_path(empty_path: str) -> str:
    """A new, empty registry (made here: the CLI opens it by path)."""
    from landrelease.registry import Registry

    Registry.open(empty_path, create=True).close()
    return empty_path


def test_forms_export_writes_one_xlsform_per_form(run_cli: RunCli, tmp_path: Path) -> None:
    code, out, err = run_cli(["forms", "export", tmp_path / "forms"])
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "forms").iterdir()) == sorted(
        f"{f}.xlsx" for f in FORM_IDS
    )
    assert "5 form(s) written" in out
    (tmp_path / "file").write_text("x")
    code, _, err = run_cli(["forms", "export", tmp_path / "file"])
    assert code == 2 and "directory" in err


@pytest.mark.parametrize("form_id", FORM_IDS)
@pytest.mark.parametrize("suffix", [".csv.zip", ".odata.json", ".kobo.json", ".kobo.xlsx"])
def test_a_recorded_export_of_each_form_lands_in_the_queue(
    run_cli: RunCli, empty_path: str, form_id: str, suffix: str
) -> None:
    sample = SAMPLES / f"{form_id}{suffix}"
    before = snapshot(empty_path)
    code, out, err = run_cli(["submissions", "import", sample, "--db", empty_path, "--json"])
    assert code == 0, err
    report = json.loads(out)
    assert report["queued"] and report["duplicates"] == []
    after = snapshot(empty_path)
    changed = {k for k in after if after[k] != before.get(k)} - {"table sqlite_sequence"}
    # only the queue's tables changed: no record reaches the registry before review
    assert changed and all("landrelease_submission" in k for k in changed), changed
    code, out, err = run_cli(["review", "list", "--db", empty_path, "--json"])
    assert code == 0, err
    rows = json.loads(out)
    assert {r["form_id"] for r in rows} == {form_id}
    assert len(rows) == len(report["queued"])
    code, out, err = run_cli(["submissions", "import", sample, "--db", empty_path, "--json"])
    assert code == 0, err
    again = json.loads(out)
    assert again["queued"] == [] and len(again["duplicates"]) == len(report["queued"])


def test_a_team_round_trip(run_cli: RunCli, empty_path: str, tmp_path: Path) -> None:
    db = ["--db", empty_path]
    assert run_cli(["forms", "export", tmp_path / "forms"])[0] == 0
    code, out, err = run_cli(["submissions", "import", SAMPLES / "risk_education.csv.zip", *db])
    assert code == 0, err
    assert "queued for review" in out
    rows = json.loads(run_cli(["review", "list", *db, "--json"])[1])
    first, second = rows[0]["id"], rows[1]["id"]
    code, out, err = run_cli(["review", "show", str(first), *db])
    assert code == 0, err
    assert "eore: new record" in out and "imported" in out
    code, out, err = run_cli(["review", "approve", str(first), *db])
    assert code == 0, err
    (ref,) = out.split("wrote ")[1].split()
    code, out, err = run_cli(["history", ref, *db, "--json"])
    assert code == 0, err
    (version,) = json.loads(out)
    assert version["actor"] == "tester" and f"submission {first}" in version["reason"]
    code, out, err = run_cli(["review", "reject", str(second), "--reason", "duplicate", *db])
    assert code == 0, err
    shown = json.loads(run_cli(["review", "show", str(second), *db, "--json"])[1])
    assert shown["state"] == "rejected" and shown["decision_reason"] == "duplicate"
    assert [e["action"] for e in shown["history"]] == ["imported", "rejected"]
    approved = json.loads(run_cli(["review", "list", "--state", "approved", *db, "--json"])[1])
    assert [r["id"] for r in approved] == [first] and approved[0]["refs"] == [ref]


def _flagged(run_cli: RunCli, db: list[str]) -> dict[str, Any]:
    code, out, err = run_cli(["submissions", "import", SAMPLES / "eod_spot_task.csv.zip", *db])
    assert code == 0, err
    rows = json.loads(run_cli(["review", "list", *db, "--json"])[1])
    return next(r for r in rows if r["flags"])


def test_a_flagged_submission_is_refused_then_overridden(run_cli: RunCli, empty_path: str) -> None:
    db = ["--db", empty_path]
    row = _flagged(run_cli, db)
    before = snapshot(empty_path)
    code, out, err = run_cli(["review", "approve", str(row["id"]), *db])
    assert code == 2
    assert row["flags"][0]["field"] in err and "--override" in err
    assert snapshot(empty_path) == before
    code, _, err = run_cli(["review", "approve", str(row["id"]), "--override", " ", *db])
    assert code == 2 and "override" in err


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["review", "show", "999"], "no field submission 999"),
        (["review", "approve", "999"], "no field submission 999"),
        (["review", "reject", "1", "--reason", ""], "reason"),
        (["review", "list", "--state", "maybe"], "unknown state"),
        (["review", "edit", "1", "--set", "novalue"], "Q=VALUE"),
        (["submissions", "import", "missing.zip"], "missing.zip"),
    ],
)
def test_bad_review_input_exits_2(
    run_cli: RunCli, empty_path: str, args: list[str], expected: str
) -> None:
    before = snapshot(empty_path)
    code, _, err = run_cli([*args, "--db", empty_path])
    assert code == 2, err
    assert expected in err
    assert snapshot(empty_path) == before


def test_a_truncated_export_exits_2_and_queues_nothing(
    run_cli: RunCli, empty_path: str, tmp_path: Path
) -> None:
    data = (SAMPLES / "accident.csv.zip").read_bytes()
    cut = tmp_path / "accident.csv.zip"
    cut.write_bytes(data[: len(data) // 2])
    before = snapshot(empty_path)
    code, _, err = run_cli(["submissions", "import", cut, "--db", empty_path])
    assert code == 2, err
    assert "accident.csv.zip" in err
    assert snapshot(empty_path) == before
    assert zipfile.is_zipfile(SAMPLES / "accident.csv.zip")


def test_a_kobo_csv_brings_no_walked_boundary_and_says_so(run_cli: RunCli, empty_path: str) -> None:
    db = ["--db", empty_path]
    code, _, err = run_cli(["submissions", "import", SAMPLES / "nts_survey.kobo.csv", *db])
    assert code == 0, err
    rows = json.loads(run_cli(["review", "list", *db, "--json"])[1])
    walked = [r for r in rows if any(f["field"] == "boundary" for f in r["flags"])]
    assert walked, rows
    (flag,) = [f for f in walked[0]["flags"] if f["field"] == "boundary"]
    assert flag["code"] == "missing_geometry" and "JSON" in flag["message"]
