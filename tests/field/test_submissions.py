"""The readers of ODK Central and KoboToolbox exports: samples read back, quirks, bad files."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from field import filler
from field.make_samples import KOBO_CSV_FORM, PER_FILE, SAMPLES, SEED, write_samples
from fixtures import make_workbook
from landrelease.domain.errors import ValidationError
from landrelease.field.forms import FORM_IDS
from landrelease.field.submission import Submission
from landrelease.field.submissions import geo_text, read_submissions

JSON_FORMATS = ("odata.json", "kobo.json")


def _as_filled(subs: list[Submission]) -> list[Submission]:
    """Return submissions as the filler makes them: `source` is where they were read."""
    return [dataclasses.replace(sub, source="synthetic") for sub in subs]


def _bad(path: Path, **kwargs: Any) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        read_submissions(path, **kwargs)
    return caught.value


@pytest.fixture
def eod() -> list[Submission]:
    """Three synthetic EOD spot tasks: items in a repeat, geopoints, integers."""
    return filler.fill("eod_spot_task", 7, 3)


# -- the committed samples --------------------------------------------------------------------


@pytest.mark.parametrize("form_id", FORM_IDS)
@pytest.mark.parametrize("kind", ("csv.zip", *JSON_FORMATS, "kobo.xlsx"))
def test_sample_reads_back_to_the_filled_submissions(form_id: str, kind: str) -> None:
    got = read_submissions(SAMPLES / f"{form_id}.{kind}")
    assert _as_filled(got) == filler.fill(form_id, SEED, PER_FILE)


def test_kobo_csv_sample_reads_back_without_its_repeats() -> None:
    got = read_submissions(SAMPLES / f"{KOBO_CSV_FORM}.kobo.csv")
    filled = filler.fill(KOBO_CSV_FORM, SEED, PER_FILE)
    assert any(sub.repeats for sub in filled)
    assert _as_filled(got) == [dataclasses.replace(sub, repeats={}) for sub in filled]


def test_samples_are_what_make_samples_writes(tmp_path: Path) -> None:
    for written in write_samples(tmp_path):
        assert written.read_bytes() == (SAMPLES / written.name).read_bytes(), written.name


def test_source_names_file_table_and_row() -> None:
    assert [s.source for s in read_submissions(SAMPLES / "accident.csv.zip")][:2] == [
        "accident.csv.zip:accident.csv row 2",
        "accident.csv.zip:accident.csv row 3",
    ]
    assert read_submissions(SAMPLES / "accident.odata.json")[1].source == (
        "accident.odata.json value[1]"
    )
    assert read_submissions(SAMPLES / "accident.kobo.json")[0].source == (
        "accident.kobo.json results[0]"
    )


# -- ODK Central CSV --------------------------------------------------------------------------


def _zip(path: Path, tables: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in tables.items():
            archive.writestr(name, text)
    return path


def _tables(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name).decode() for name in archive.namelist()}


def test_odk_geopoint_is_rebuilt_from_its_four_columns(
    tmp_path: Path, eod: list[Submission]
) -> None:
    path = filler.write_odk_zip("eod_spot_task", eod, tmp_path / "eod.zip")
    assert "item_location-Latitude" in _tables(path)["eod_spot_task-item.csv"]
    got = read_submissions(path)
    for sub, filled in zip(got, eod, strict=True):
        assert [row["item_location"] for row in sub.repeats["item"]] == [
            row["item_location"] for row in filled.repeats["item"]
        ]
        assert not any("-" in name for row in sub.repeats["item"] for name in row)


def test_odk_geopoint_without_altitude_and_accuracy(tmp_path: Path) -> None:
    header = "SubmissionDate,occurred_on,accident_location-Latitude,accident_location-Longitude,"
    header += "accident_location-Altitude,accident_location-Accuracy,meta-instanceID,KEY"
    row = "2026-11-02T10:00:00.000Z,2026-11-01,48.5,35.1,,,uuid:a,uuid:a"
    path = tmp_path / "accident.csv"
    path.write_text(f"{header}\n{row}\n")
    assert read_submissions(path)[0].values["accident_location"] == "48.5 35.1"


def test_odk_select_multiple_keeps_its_codes_not_its_choice_columns(tmp_path: Path) -> None:
    subs = filler.fill("nts_survey", 3, 2)
    path = filler.write_odk_zip("nts_survey", subs, tmp_path / "nts.zip")
    assert "contamination/ap_mine" in _tables(path)["nts_survey.csv"].splitlines()[0]
    got = read_submissions(path)
    assert [s.values["contamination"] for s in got] == [s.values["contamination"] for s in subs]
    assert not any("/" in name for s in got for name in s.values)


def test_odk_group_paths_are_left_out_of_question_names(tmp_path: Path) -> None:
    header = "SubmissionDate,where-when-occurred_on,where-accident_location-Latitude,"
    header += "where-accident_location-Longitude,where-accident_location-Altitude,"
    header += "where-accident_location-Accuracy,meta-instanceID,KEY,SubmitterName"
    row = "2026-11-02T10:00:00.000Z,2026-11-01,48.5,35.1,120.0,4.0,uuid:a,uuid:a,"
    path = tmp_path / "accident.csv"
    path.write_text(f"{header}\n{row}\n")
    sub = read_submissions(path)[0]
    assert sub.values == {"occurred_on": "2026-11-01", "accident_location": "48.5 35.1 120.0 4.0"}
    assert (sub.form_id, sub.instance_id, sub.submitted_by) == ("accident", "uuid:a", None)


def test_odk_metadata_without_group_paths_is_not_an_answer(tmp_path: Path) -> None:
    header = "SubmissionDate,occurred_on,instanceID,instanceName,deprecatedID,KEY"
    row = "2026-11-02T10:00:00.000Z,2026-11-01,uuid:b,Accident 1,uuid:a,uuid:b"
    path = tmp_path / "accident.csv"
    path.write_text(f"{header}\n{row}\n")
    (sub,) = read_submissions(path)
    assert sub.values == {"occurred_on": "2026-11-01"}
    assert (sub.instance_id, sub.deprecated_id) == ("uuid:b", "uuid:a")


def test_odk_repeat_rows_follow_their_parent_key_in_order(
    tmp_path: Path, eod: list[Submission]
) -> None:
    path = filler.write_odk_zip("eod_spot_task", eod, tmp_path / "eod.zip")
    tables = _tables(path)
    header, *rows = tables["eod_spot_task-item.csv"].splitlines()
    tables["eod_spot_task-item.csv"] = "\n".join([header, *reversed(rows)]) + "\n"
    got = read_submissions(_zip(tmp_path / "shuffled.zip", tables))
    assert [s.repeats for s in got] == [{"item": list(reversed(s.repeats["item"]))} for s in eod]
    assert [s.instance_id for s in got] == [s.instance_id for s in eod]


def test_odk_main_csv_alone_has_no_repeat_rows(tmp_path: Path, eod: list[Submission]) -> None:
    got = read_submissions(filler.write_odk_csv("eod_spot_task", eod, tmp_path / "x.csv"))
    assert _as_filled(got) == [dataclasses.replace(s, repeats={}) for s in eod]
    assert got[0].source == "x.csv row 2"


def test_odk_form_is_told_by_the_csv_name_when_not_answered(
    tmp_path: Path, eod: list[Submission]
) -> None:
    unnamed = [dataclasses.replace(s, values=dict(s.values)) for s in eod]
    for sub in unnamed:
        del sub.values["landrelease_form"]
    named = filler.write_odk_csv("eod_spot_task", unnamed, tmp_path / "eod_spot_task.csv")
    assert {s.form_id for s in read_submissions(named)} == {"eod_spot_task"}
    renamed = filler.write_odk_csv("eod_spot_task", unnamed, tmp_path / "export (1).csv")
    error = _bad(renamed)
    assert (error.record, error.field) == ("export (1).csv row 2", "landrelease_form")
    assert "eod_spot_task" in error.message  # the forms it could be
    assert {s.form_id for s in read_submissions(renamed, "eod_spot_task")} == {"eod_spot_task"}


def test_odk_repeat_csv_alone_is_refused(tmp_path: Path, eod: list[Submission]) -> None:
    path = filler.write_odk_repeat_csv("eod_spot_task", "item", eod, tmp_path / "item.csv")
    error = _bad(path)
    assert (error.record, error.field) == ("item.csv", "PARENT_KEY")
    assert "ZIP" in error.message


def test_odk_repeat_row_of_no_submission_is_refused(tmp_path: Path, eod: list[Submission]) -> None:
    tables = _tables(filler.write_odk_zip("eod_spot_task", eod, tmp_path / "eod.zip"))
    tables["eod_spot_task.csv"] = "\n".join(tables["eod_spot_task.csv"].splitlines()[:2]) + "\n"
    error = _bad(_zip(tmp_path / "cut.zip", tables))
    assert error.field == "PARENT_KEY"
    assert str(error.record).startswith("cut.zip:eod_spot_task-item.csv row ")


def test_odk_submission_central_could_not_decrypt_is_refused(
    tmp_path: Path, eod: list[Submission]
) -> None:
    written = filler.write_odk_csv("eod_spot_task", eod, tmp_path / "a.csv")
    header, *rows = csv.reader(written.read_text().splitlines())
    rows[0][header.index("Status")] = "not decrypted"
    path = tmp_path / "eod_spot_task.csv"
    with path.open("w", newline="") as out:
        csv.writer(out).writerows([header, *rows])
    error = _bad(path)
    assert (error.record, error.field) == ("eod_spot_task.csv row 2", "Status")


# -- ODK Central OData ------------------------------------------------------------------------


def test_odata_geojson_becomes_odk_text(eod: list[Submission], tmp_path: Path) -> None:
    path = filler.write_odata_json("eod_spot_task", eod, tmp_path / "eod.json")
    entry = json.loads(path.read_text())["value"][0]
    assert entry["item"][0]["item_location"]["type"] == "Point"
    assert isinstance(entry["item"][0]["item_quantity"], int)
    got = read_submissions(path)
    assert got[0].repeats["item"] == eod[0].repeats["item"]


def test_odata_groups_meta_and_edits(tmp_path: Path) -> None:
    entry = {
        "__id": "uuid:b",
        "__system": {"submissionDate": "2026-11-02T12:00:00.5+02:00", "submitterName": "Ann"},
        "occurred_on": "2026-11-01",
        "where": {"accident_location": {"type": "Point", "coordinates": [35.1, 48.5, 120]}},
        "victim@odata.navigationLink": "Submissions('uuid:b')/victim",
        "victim": [
            {"__id": "f00", "victim_outcome": "injured", "details": {"victim_group": "civilian"}},
            {"__id": "f01", "victim_outcome": "killed", "victim_sex": None},
        ],
        "meta": {"instanceID": "uuid:b", "deprecatedID": "uuid:a", "instanceName": "x"},
    }
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"value": [entry]}))
    (sub,) = read_submissions(path, "accident")
    assert sub.values == {"occurred_on": "2026-11-01", "accident_location": "48.5 35.1 120.0"}
    assert sub.repeats == {
        "victim": [
            {"victim_outcome": "injured", "victim_group": "civilian"},
            {"victim_outcome": "killed"},
        ]
    }
    assert (sub.instance_id, sub.deprecated_id) == ("uuid:b", "uuid:a")
    assert (sub.submitted_by, sub.submitted_at) == ("Ann", "2026-11-02T10:00:00Z")


def test_odata_bad_geometry_names_its_field(tmp_path: Path) -> None:
    entry = {
        "__id": "uuid:b",
        "landrelease_form": "accident",
        "where": {"spot": {"type": "Point", "coordinates": [35.1]}},
    }
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"value": [entry]}))
    error = _bad(path)
    assert (error.record, error.field) == ("a.json value[0]", "where/spot")


# -- KoboToolbox ------------------------------------------------------------------------------


def test_kobo_json_group_paths_repeats_and_bare_list(tmp_path: Path) -> None:
    entry = {
        "_id": 5,
        "formhub/uuid": "abc",
        "landrelease_form": "accident",
        "where/accident_location": "48.5 35.1 120.0 4.0",
        "victim": [
            {"victim/victim_outcome": "injured", "victim/more/victim_group": "deminer"},
            {"victim/victim_outcome": "killed"},
        ],
        "_uuid": "c0ffee",
        "_geolocation": [48.5, 35.1],
        "_submission_time": "2026-11-02T10:00:00",
        "_submitted_by": None,
        "_attachments": [],
        "_tags": [],
    }
    path = tmp_path / "k.json"
    path.write_text(json.dumps([entry]))
    (sub,) = read_submissions(path)
    assert sub.values == {
        "landrelease_form": "accident",
        "accident_location": "48.5 35.1 120.0 4.0",
    }
    assert sub.repeats == {
        "victim": [
            {"victim_outcome": "injured", "victim_group": "deminer"},
            {"victim_outcome": "killed"},
        ]
    }
    assert (sub.instance_id, sub.submitted_by, sub.submitted_at) == (
        "uuid:c0ffee",
        None,
        "2026-11-02T10:00:00Z",
    )
    assert sub.source == "k.json [0]"


@pytest.mark.parametrize("delimiter", (";", ","))
def test_kobo_csv_either_separator(tmp_path: Path, delimiter: str) -> None:
    subs = filler.fill("risk_education", 4, 3)
    path = filler.write_kobo_csv("risk_education", subs, tmp_path / "k.csv", delimiter)
    assert _as_filled(read_submissions(path)) == subs


def _kobo_csv(path: Path, header: list[str], row: list[str]) -> Path:
    line = ";".join(f'"{cell}"' for cell in header) + "\n" + ";".join(f'"{c}"' for c in row)
    path.write_text(line + "\n")
    return path


def test_kobo_csv_geopoint_comes_from_its_combined_column(tmp_path: Path) -> None:
    header = ["landrelease_form", "grp/session_location", "grp/_session_location_latitude"]
    header += ["grp/_session_location_longitude", "grp/_session_location_altitude"]
    header += ["grp/_session_location_precision", "_uuid", "_submission_time"]
    row = ["risk_education", "48.5 35.1 120.0 4.0", "1", "2", "3", "4", "u1", "2026-11-02T10:00:00"]
    (sub,) = read_submissions(_kobo_csv(tmp_path / "k.csv", header, row))
    assert sub.values == {
        "landrelease_form": "risk_education",
        "session_location": "48.5 35.1 120.0 4.0",
    }
    row[1] = ""
    (sub,) = read_submissions(_kobo_csv(tmp_path / "k.csv", header, row))
    assert sub.values["session_location"] == "1 2 3 4"  # rebuilt from its parts


def test_kobo_csv_select_multiple_in_a_group(tmp_path: Path) -> None:
    header = ["landrelease_form", "g/contamination", "g/contamination/uxo", "g/contamination/cmr"]
    header += ["meta/instanceID", "_uuid", "_submission_time"]
    row = ["nts_survey", "uxo cmr", "1", "1", "uuid:k1", "k1", "2026-11-02T10:00:00"]
    (sub,) = read_submissions(_kobo_csv(tmp_path / "k.csv", header, row))
    assert sub.values == {"landrelease_form": "nts_survey", "contamination": "uxo cmr"}
    assert sub.instance_id == "uuid:k1"


# -- bad files --------------------------------------------------------------------------------


def test_truncated_zip(tmp_path: Path) -> None:
    data = (SAMPLES / "clearance.csv.zip").read_bytes()
    path = tmp_path / "clearance.csv.zip"
    path.write_bytes(data[: len(data) // 2])
    error = _bad(path)
    assert (error.record, error.field) == ("clearance.csv.zip", None)
    assert "ZIP" in error.message


def test_not_utf8_names_row_and_column(tmp_path: Path, eod: list[Submission]) -> None:
    text = filler.write_odk_csv("eod_spot_task", eod, tmp_path / "a.csv").read_text()
    lines = text.splitlines()
    path = tmp_path / "eod_spot_task.csv"
    data = "\n".join(lines).encode().replace(b"SYNTHETIC team", b"SYNTHETIC \xe9quipe", 1)
    path.write_bytes(data)
    error = _bad(path)
    assert error.field == "team"
    assert str(error.record).startswith("eod_spot_task.csv row ")
    assert "UTF-8" in error.message


@pytest.mark.parametrize("kind", ("csv.zip", *JSON_FORMATS, "kobo.csv", "kobo.xlsx"))
def test_missing_instance_id(tmp_path: Path, kind: str) -> None:
    subs = [dataclasses.replace(s, instance_id="") for s in filler.fill("nts_survey", 5, 1)]
    writer = {
        "csv.zip": filler.write_odk_zip,
        "odata.json": filler.write_odata_json,
        "kobo.json": filler.write_kobo_json,
        "kobo.csv": filler.write_kobo_csv,
        "kobo.xlsx": filler.write_kobo_xlsx,
    }[kind]
    error = _bad(writer("nts_survey", subs, tmp_path / f"x.{kind}"))
    assert error.field in ("meta-instanceID", "meta/instanceID")
    assert "instance id" in error.message
    assert str(error.record).startswith("x.")


@pytest.mark.parametrize(
    ("content", "message"),
    (
        ('{"status": "ok"}', "not a submissions export"),
        ('{"value": [{"name": "x"}]}', "not a submission"),
        ('{"value": [', "not valid JSON"),
        ("name,age\nx,3\n", "unknown format"),
        ("   \n", "empty"),
    ),
)
def test_files_that_are_not_exports(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "thing.txt"
    path.write_text(content)
    error = _bad(path)
    assert str(error.record).startswith("thing.txt")
    assert message in error.message


def test_a_zip_of_neither_csv_nor_a_workbook_says_what_is_read(tmp_path: Path) -> None:
    path = _zip(tmp_path / "thing.zip", {"[Content_Types].xml": "<Types/>"})
    error = _bad(path)
    assert (error.record, error.field) == ("thing.zip", None)
    assert "no CSV file and is no XLSX workbook" in error.message


# -- KoboToolbox XLSX -------------------------------------------------------------------------


def test_kobo_xlsx_repeat_rows_follow_their_parent() -> None:
    (sub,) = read_submissions(SAMPLES / "eod_spot_task.kobo.xlsx", form_id="eod_spot_task")[1:2]
    filled = filler.fill("eod_spot_task", SEED, PER_FILE)[1]
    assert sub.repeats["item"] == filled.repeats["item"] and len(sub.repeats["item"]) > 0
    assert sub.source == "eod_spot_task.kobo.xlsx:eod_spot_task row 3"


def test_kobo_xlsx_cells_excel_typed_are_read_as_odk_text(tmp_path: Path) -> None:
    # a workbook saved again in Excel: numbers and dates are typed cells, no longer text
    path = make_workbook(
        tmp_path / "k.xlsx",
        {
            "risk_education": [
                ["held_on", "girls", "accuracy", "_uuid", "_submission_time", "_index"],
                [dt.datetime(2026, 10, 20), 12, 4.5, "abc", dt.datetime(2026, 10, 21, 9, 5), 1],
            ]
        },
    )
    (sub,) = read_submissions(path, form_id="risk_education")
    assert sub.values == {"held_on": "2026-10-20", "girls": "12", "accuracy": "4.5"}
    assert (sub.instance_id, sub.submitted_at) == ("uuid:abc", "2026-10-21T09:05:00Z")


def test_kobo_xlsx_nested_repeat_joins_the_submission(tmp_path: Path) -> None:
    path = make_workbook(
        tmp_path / "k.xlsx",
        {
            "clearance": [["organisation", "_uuid", "_index"], ["A", "u1", 1], ["B", "u2", 2]],
            "lane": [
                ["lane/lane_no", "_index", "_parent_table_name", "_parent_index"],
                ["1", 1, "clearance", 2],
            ],
            "item": [
                ["lane/item/item_category", "_parent_table_name", "_parent_index"],
                ["uxo", "lane", 1],
            ],
        },
    )
    first, second = read_submissions(path, form_id="clearance")
    assert first.repeats == {}
    assert second.repeats == {"lane": [{"lane_no": "1"}], "item": [{"item_category": "uxo"}]}


def test_kobo_xlsx_repeat_row_of_no_parent_is_refused(tmp_path: Path) -> None:
    path = make_workbook(
        tmp_path / "k.xlsx",
        {
            "eod": [["organisation", "_uuid", "_index"], ["A", "u1", 1]],
            "item": [
                ["item/item_category", "_parent_table_name", "_parent_index"],
                ["uxo", "eod", 7],
            ],
        },
    )
    error = _bad(path, form_id="eod_spot_task")
    assert (error.record, error.field) == ("k.xlsx:item row 2", "_parent_index")
    assert "'7'" in error.message


def test_kobo_xlsx_sheet_that_is_no_repeat_is_refused(tmp_path: Path) -> None:
    path = make_workbook(
        tmp_path / "k.xlsx",
        {"eod": [["organisation", "_uuid", "_index"], ["A", "u1", 1]], "notes": [["x"], ["y"]]},
    )
    error = _bad(path, form_id="eod_spot_task")
    assert (error.record, error.field) == ("k.xlsx:notes", "_parent_table_name")


def test_an_xlsform_is_not_taken_for_an_export(tmp_path: Path) -> None:
    from landrelease.field.forms import write_form

    error = _bad(write_form("eod_spot_task", tmp_path / "eod_spot_task.xlsx"))
    assert "XLSForm" in error.message and "not an export" in error.message


def test_a_workbook_of_something_else_says_what_is_read(tmp_path: Path) -> None:
    path = make_workbook(tmp_path / "k.xlsx", {"Sheet": [["name", "age"], ["x", 3]]})
    error = _bad(path)
    assert (error.record, error.field) == ("k.xlsx:Sheet", "_uuid")
    assert "XML values and headers" in error.message


def test_truncatedmake_workbook(tmp_path: Path) -> None:
    data = (SAMPLES / "eod_spot_task.kobo.xlsx").read_bytes()
    path = tmp_path / "eod.xlsx"
    path.write_bytes(data[: len(data) // 2])
    error = _bad(path)
    assert error.record == "eod.xlsx" and "truncated or damaged" in error.message


def test_missing_file(tmp_path: Path) -> None:
    assert _bad(tmp_path / "gone.zip").record == "gone.zip"


def test_ragged_row_names_the_first_missing_column(tmp_path: Path, eod: list[Submission]) -> None:
    text = filler.write_odk_csv("eod_spot_task", eod, tmp_path / "a.csv").read_text()
    header, first, *_ = text.splitlines()
    path = tmp_path / "eod_spot_task.csv"
    path.write_text(f"{header}\n{first[: first.index(',uuid:')]}\n")
    error = _bad(path)
    assert (error.record, error.field) == ("eod_spot_task.csv row 2", "meta-instanceID")


def test_form_asked_for_must_be_the_one_answered() -> None:
    error = _bad(SAMPLES / "accident.kobo.json", form_id="clearance")
    assert (error.record, error.field) == ("accident.kobo.json results[0]", "landrelease_form")


def test_unknown_form(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    path.write_text(json.dumps([{"_uuid": "u", "landrelease_form": "census"}]))
    error = _bad(path)
    assert error.field == "landrelease_form"
    assert "'census' is not one of the forms" in error.message


def test_unreadable_submission_time(tmp_path: Path) -> None:
    entry = {"_uuid": "u", "landrelease_form": "accident", "_submission_time": "yesterday"}
    path = tmp_path / "k.json"
    path.write_text(json.dumps({"results": [entry]}))
    error = _bad(path)
    assert (error.record, error.field) == ("k.json results[0]", "_submission_time")


# -- the GeoJSON codec ------------------------------------------------------------------------

_coordinate = st.floats(-180, 180, allow_nan=False).map(lambda x: round(x, 7) + 0.0)
_metres = st.floats(0, 9000, allow_nan=False).map(lambda x: round(x, 2) + 0.0)
_fix = st.tuples(_coordinate.map(lambda x: x / 2), _coordinate, _metres, _metres).map(
    lambda p: " ".join(repr(float(part)) for part in p)
)


def _through_json(geometry: dict[str, Any]) -> dict[str, Any]:
    return json.load(io.StringIO(json.dumps(geometry)))


@given(_fix)
def test_geopoint_text_survives_odata_geojson(text: str) -> None:
    assert geo_text(_through_json(filler.odata_geo("geopoint", text)), "s", "f") == text


@given(st.lists(_fix, min_size=3, max_size=8))
def test_geoshape_text_survives_odata_geojson(fixes: list[str]) -> None:
    text = ";".join([*fixes, fixes[0]])
    geometry = _through_json(filler.odata_geo("geoshape", text))
    assert geometry["type"] == "Polygon"
    assert geo_text(geometry, "s", "f") == text


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_a_kobo_export_with_labels_for_headers_says_how_to_export(
    tmp_path: Path, kind: str
) -> None:
    # Kobo's export offers labels instead of XML names: no column then names a question
    header = ["Organisation", "Date of the session", "Girls", "_uuid", "_index"]
    row = ["SYNTHETIC NGO", "2026-10-20", "4", "abc", "1"]
    if kind == "xlsx":
        path = make_workbook(tmp_path / "k.xlsx", {"risk_education": [header, row]})
    else:
        path = _kobo_csv(tmp_path / "k.csv", header, row)
    error = _bad(path, form_id="risk_education")
    assert str(error.record).startswith(f"k.{kind}")
    assert "XML values and headers" in error.message
