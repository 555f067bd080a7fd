"""The XLSForm forms: pyxform converts them cleanly, codes come from the domain, API answers."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from enum import StrEnum
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pyxform.xls2xform import convert

from landrelease.domain import codes
from landrelease.domain.errors import ValidationError
from landrelease.field import forms, labels
from landrelease.field.forms import FORM_IDS, Question

XFORMS = "{http://www.w3.org/2002/xforms}"
OPENING = ("start", "end", "landrelease_form", "organisation", "team")
ITEM = ("item_location", "item_category", "item_description", "item_quantity", "item_state")

# Question names of each form after the opening ones, as the shared contract lists them.
CONTRACT_QUESTIONS = {
    "nts_survey": (
        "area_ref", "name", "reported_on", "hazard_type", "evidence", "contamination",
        "land_use", "admin_area", "shape_method", "area_shape", "boundary_point",
        "informant_role", "informant_sex", "informant_age_group", "informant_statement",
        "notes",
    ),
    "eod_spot_task": ("area_ref", "task_date", *ITEM, "notes"),
    "clearance": (
        "area_ref", "activity_ref", "activity_type", "activity_status", "start_date",
        "end_date", "cleared_shape", "evidence_found", *ITEM, "notes",
    ),
    "accident": (
        "occurred_on", "accident_location", "area_ref", "device_category", "victim_outcome",
        "victim_group", "victim_sex", "victim_age_group", "notes",
    ),
    "risk_education": (
        "held_on", "session_location", "admin_area", "method", "girls", "boys", "women",
        "men", "notes",
    ),
}  # fmt: skip

CONTRACT_REQUIRED = {
    "nts_survey": {
        "reported_on", "hazard_type", "evidence", "contamination", "shape_method",
        "boundary_point",
    },
    "eod_spot_task": {
        "task_date", "item_location", "item_category", "item_quantity", "item_state",
    },
    "clearance": {
        "area_ref", "activity_type", "activity_status", "start_date", "item_location",
        "item_category", "item_quantity", "item_state",
    },
    "accident": {"occurred_on", "accident_location", "victim_outcome", "victim_group"},
    "risk_education": {
        "held_on", "session_location", "method", "girls", "boys", "women", "men",
    },
}  # fmt: skip

CONTRACT_REPEATS = {
    "nts_survey": ("boundary", "informant"),
    "eod_spot_task": ("item",),
    "clearance": ("item",),
    "accident": ("victim",),
    "risk_education": (),
}


def _values(enum: type[StrEnum], *, without: tuple[str, ...] = ()) -> tuple[str, ...]:
    return tuple(m.value for m in enum if m.value not in without)


# Every choice list of the forms and the codes it must offer, read from the domain here.
EXPECTED_CHOICES = {
    "hazard_type": _values(codes.HazardType),
    "contamination": _values(codes.ContaminationCategory),
    "land_use": _values(codes.LandUse),
    "shape_method": ("polygon", "points"),
    "informant_role": ("resident", "local_authority", "police", "military", "deminer", "other"),
    "sex": _values(codes.Sex),
    "age_group": _values(codes.AgeGroup),
    "item_category": _values(codes.ItemCategory),
    "item_state": _values(codes.ItemState),
    "activity_type": ("ts", "clearance"),
    "activity_status": _values(codes.ActivityStatus),
    "yes_no": ("yes", "no"),
    "victim_outcome": ("killed", "injured"),
    "victim_group": ("civilian", "deminer"),
    "victim_sex": _values(codes.Sex, without=("mixed",)),
    "victim_age_group": _values(codes.AgeGroup, without=("mixed",)),
    "eore_method": _values(codes.EoreMethod),
}


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return forms.export_forms(tmp_path_factory.mktemp("forms"))


def _survey_row(form_id: str, name: str) -> dict[str, str]:
    return next(r for r in forms.form_sheets(form_id)["survey"] if r["name"] == name)


def test_export_writes_one_xlsx_per_form(written: list[Path]) -> None:
    assert [p.name for p in written] == [f"{form_id}.xlsx" for form_id in FORM_IDS]
    assert all(p.stat().st_size > 0 for p in written)


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_pyxform_converts_each_form_without_warnings(form_id: str, written: list[Path]) -> None:
    path = written[FORM_IDS.index(form_id)]
    warnings: list[str] = []
    result = convert(xlsform=str(path), warnings=warnings)
    assert warnings == []
    assert result.warnings == []
    root = ET.fromstring(result.xform)
    instance = root.find(f".//{XFORMS}instance/{XFORMS}data")
    assert instance is not None
    assert instance.get("id") == form_id
    assert instance.get("version") == forms.form_sheets(form_id)["settings"][0]["version"]
    languages = {t.get("lang") for t in root.iter(f"{XFORMS}translation")}
    assert languages == set(labels.LANGUAGES)


@pytest.mark.skipif(shutil.which("java") is None, reason="ODK Validate needs Java")
def test_odk_validate_accepts_every_form(written: list[Path]) -> None:
    for path in written:
        warnings: list[str] = []
        convert(xlsform=str(path), validate=True, warnings=warnings)
        assert warnings == [], path.name


def test_written_workbook_holds_the_rows_of_the_form(written: list[Path]) -> None:
    book = load_workbook(written[0])
    assert book.sheetnames == ["survey", "choices", "settings"]
    rows = list(book["survey"].iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    read = [{c: v for c, v in zip(header, row, strict=True) if v} for row in body]
    assert read == forms.form_sheets(FORM_IDS[0])["survey"]


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_every_wording_is_given_in_both_languages(form_id: str) -> None:
    sheets = forms.form_sheets(form_id)
    for row in sheets["survey"] + sheets["choices"]:
        for kind in ("label", "hint", "constraint_message"):
            texts = [row.get(f"{kind}::{lang}", "") for lang in labels.LANGUAGES]
            assert all(texts) or not any(texts), (row["name"], kind)
    unlabelled = ("start", "end", "calculate", "end_repeat")
    labelled = [r for r in sheets["survey"] if r["type"] not in unlabelled]
    assert all(r.get(f"label::{labels.UKRAINIAN}") for r in labelled)
    assert all(r[f"label::{labels.UKRAINIAN}"] for r in sheets["choices"])


def test_ukrainian_wording_is_ukrainian() -> None:
    assert labels.code_label("ItemCategory", "ap_mine").uk == "Протипіхотна міна"
    assert labels.FORM_TITLES["nts_survey"].uk == "Нетехнічне обстеження"
    assert labels.QUESTIONS["organisation"].uk != labels.QUESTIONS["organisation"].en


def test_settings_name_the_form_and_its_default_language() -> None:
    for form_id in FORM_IDS:
        settings = forms.form_sheets(form_id)["settings"]
        assert len(settings) == 1
        row = settings[0]
        assert row["form_id"] == form_id
        assert row["form_title"] == labels.FORM_TITLES[form_id].en
        assert row["default_language"] == "English (en)"
        assert "${organisation}" in row["instance_name"]


def test_version_is_stable_and_differs_between_forms() -> None:
    first = [forms.form_sheets(f)["settings"][0]["version"] for f in FORM_IDS]
    second = [forms.form_sheets(f)["settings"][0]["version"] for f in FORM_IDS]
    assert first == second
    assert len(set(first)) == len(FORM_IDS)


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_every_select_offers_exactly_the_codes_of_its_list(form_id: str) -> None:
    selects = {q.list_name for q in forms.questions(form_id).values() if q.list_name}
    assert selects <= EXPECTED_CHOICES.keys()
    for list_name in selects:
        assert forms.choices(form_id, list_name) == EXPECTED_CHOICES[list_name]


def test_a_code_added_to_the_domain_appears_in_the_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    before = forms.form_sheets("nts_survey")["settings"][0]["version"]
    wider = StrEnum(
        "LandUse", [(m.name, m.value) for m in codes.LandUse] + [("WETLAND", "wetland")]
    )
    monkeypatch.setattr(codes, "LandUse", wider)
    assert forms.choices("nts_survey", "land_use")[-1] == "wetland"
    row = next(r for r in forms.form_sheets("nts_survey")["choices"] if r["name"] == "wetland")
    assert row[f"label::{labels.ENGLISH}"] == "Wetland"
    assert row[f"label::{labels.UKRAINIAN}"] == "Wetland"
    assert forms.unlabelled_codes() == [("LandUse", "wetland")]
    assert forms.form_sheets("nts_survey")["settings"][0]["version"] != before


def test_every_code_of_the_forms_has_a_translation() -> None:
    missing = forms.unlabelled_codes()
    assert missing == [], "codes without wording in field/labels.py: " + ", ".join(
        f"{source}.{code}" for source, code in missing
    )


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_questions_follow_the_contract(form_id: str) -> None:
    found = forms.questions(form_id)
    assert tuple(found) == OPENING + CONTRACT_QUESTIONS[form_id]
    assert {n for n, q in found.items() if q.required} == {"organisation"} | CONTRACT_REQUIRED[
        form_id
    ]
    assert found["landrelease_form"] == Question("landrelease_form", "calculate", None, None, False)
    assert (found["start"].type, found["end"].type) == ("start", "end")
    assert forms.repeats(form_id) == CONTRACT_REPEATS[form_id]
    row = _survey_row(form_id, "landrelease_form")
    assert row["calculation"] == f"'{form_id}'"


def test_questions_know_their_type_list_and_repeat() -> None:
    nts = forms.questions("nts_survey")
    assert nts["contamination"] == Question(
        "contamination", "select_multiple", "contamination", None, True
    )
    assert nts["boundary_point"] == Question("boundary_point", "geopoint", None, "boundary", True)
    assert nts["informant_sex"].list_name == "sex"
    assert nts["area_shape"].type == "geoshape"
    item = forms.questions("clearance")["item_quantity"]
    assert (item.type, item.repeat, item.required) == ("integer", "item", True)
    assert forms.questions("accident")["victim_sex"].list_name == "victim_sex"
    assert forms.questions("risk_education")["method"].list_name == "eore_method"


def test_checks_the_field_team_sees() -> None:
    quantity = _survey_row("eod_spot_task", "item_quantity")
    assert (quantity["constraint"], quantity["default"]) == (". >= 1", "1")
    assert _survey_row("risk_education", "girls")["constraint"] == ". >= 0"
    assert _survey_row("accident", "occurred_on")["constraint"] == ". <= today()"
    assert "today()" in _survey_row("clearance", "end_date")["constraint"]
    assert _survey_row("clearance", "end_date")["relevant"] == "${activity_status} = 'completed'"
    assert _survey_row("nts_survey", "area_shape")["relevant"] == "${shape_method} = 'polygon'"
    assert _survey_row("nts_survey", "boundary")["relevant"] == "${shape_method} = 'points'"
    for form_id in FORM_IDS:
        for row in forms.form_sheets(form_id)["survey"]:
            if row["type"] == "geopoint":
                assert row["body::accuracyThreshold"] == "10", (form_id, row["name"])


def test_unknown_form_or_list_is_a_validation_error() -> None:
    with pytest.raises(ValidationError) as err:
        forms.form_sheets("mine_survey")
    assert err.value.field == "form_id"
    with pytest.raises(ValidationError) as err:
        forms.choices("accident", "land_use")
    assert (err.value.record, err.value.field) == ("accident", "list_name")


def test_export_refuses_a_file_and_makes_missing_folders(tmp_path: Path) -> None:
    a_file = tmp_path / "forms.xlsx"
    a_file.write_text("not a folder")
    with pytest.raises(ValidationError) as err:
        forms.export_forms(a_file)
    assert (err.value.record, err.value.field) == (None, "directory")
    written = forms.export_forms(tmp_path / "new" / "forms")
    assert all(p.parent == tmp_path / "new" / "forms" for p in written)
