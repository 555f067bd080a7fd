"""The five XLSForm forms field teams fill in, built as data from the registry's codes.

A form is the rows of its `survey`, `choices` and `settings` sheets. Choice lists are read
from the enums of `landrelease.domain.codes` each time a form is built, so a code added to
the domain appears in the forms with no other edit. The wording lives in `labels`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook

from landrelease.domain import codes
from landrelease.domain.errors import ValidationError
from landrelease.field import labels
from landrelease.field.labels import LANGUAGES, Text

FORM_IDS: tuple[str, ...] = (
    "nts_survey",
    "eod_spot_task",
    "clearance",
    "accident",
    "risk_education",
)

Row = dict[str, str]
Sheets = dict[str, list[Row]]

# ODK Collect keeps searching until a geopoint is at least this accurate (metres).
GPS_ACCURACY_M = "10"

_SURVEY_COLUMNS = (
    "type",
    "name",
    *(f"label::{lang}" for lang in LANGUAGES),
    *(f"hint::{lang}" for lang in LANGUAGES),
    "required",
    "relevant",
    "constraint",
    *(f"constraint_message::{lang}" for lang in LANGUAGES),
    "calculation",
    "default",
    "body::accuracyThreshold",
)
_CHOICE_COLUMNS = ("list_name", "name", *(f"label::{lang}" for lang in LANGUAGES))
_SETTINGS_COLUMNS = ("form_id", "form_title", "version", "instance_name", "default_language")


@dataclass(frozen=True)
class Question:
    """One question of a form, as the submission readers and the mapping need to know it."""

    name: str
    type: str
    list_name: str | None
    repeat: str | None
    required: bool


@dataclass(frozen=True)
class _CodeList:
    """A choice list: the codes of a domain enum, or a fixed list that is not a domain code.

    `source` names the enum in `landrelease.domain.codes` (looked up when a form is built)
    or, with `fixed`, the list itself; it is also the key of the list's wording in `labels`.
    """

    source: str
    only: tuple[str, ...] = ()
    without: tuple[str, ...] = ()
    fixed: tuple[str, ...] = ()

    def codes(self) -> tuple[str, ...]:
        """Return the list's codes, in the enum's order."""
        if self.fixed:
            return self.fixed
        values = (str(member.value) for member in getattr(codes, self.source))
        return tuple(
            v for v in values if (not self.only or v in self.only) and v not in self.without
        )


_CODE_LISTS: dict[str, _CodeList] = {
    "hazard_type": _CodeList("HazardType"),
    "contamination": _CodeList("ContaminationCategory"),
    "land_use": _CodeList("LandUse"),
    "shape_method": _CodeList("shape_method", fixed=("polygon", "points")),
    "informant_role": _CodeList(
        "informant_role",
        fixed=("resident", "local_authority", "police", "military", "deminer", "other"),
    ),
    "sex": _CodeList("Sex"),
    "age_group": _CodeList("AgeGroup"),
    "item_category": _CodeList("ItemCategory"),
    "item_state": _CodeList("ItemState"),
    "activity_type": _CodeList("ActivityType", only=("ts", "clearance")),
    "activity_status": _CodeList("ActivityStatus"),
    "yes_no": _CodeList("yes_no", fixed=("yes", "no")),
    "victim_outcome": _CodeList("victim_outcome", fixed=("killed", "injured")),
    "victim_group": _CodeList("victim_group", fixed=("civilian", "deminer")),
    "victim_sex": _CodeList("Sex", without=("mixed",)),
    "victim_age_group": _CodeList("AgeGroup", without=("mixed",)),
    "eore_method": _CodeList("EoreMethod"),
}

_NOT_FUTURE = ". <= today()"


def _wording(kind: str, text: Text | None) -> Row:
    if text is None:
        return {}
    return {f"{kind}::{lang}": value for lang, value in zip(LANGUAGES, text, strict=True)}


def _q(
    type_: str,
    name: str,
    *,
    required: bool = False,
    hint: str | None = None,
    relevant: str = "",
    constraint: str = "",
    message: str | None = None,
    default: str = "",
) -> Row:
    """Return one survey row, its wording taken from `labels` by question name.

    `hint` names a hint other than the question's own; `message` names the constraint
    message. A date may not lie in the future unless it has a constraint of its own, and a
    geopoint waits for the GPS accuracy field teams are asked for.
    """
    row: Row = {"type": type_, "name": name}
    row |= _wording("label", labels.QUESTIONS[name])
    row |= _wording("hint", labels.HINTS.get(hint or name))
    if type_ == "geopoint":
        row["body::accuracyThreshold"] = GPS_ACCURACY_M
    if type_ == "date" and not constraint:
        constraint, message = _NOT_FUTURE, "not_future"
    if required:
        row["required"] = "yes"
    if message:
        row |= _wording("constraint_message", labels.CONSTRAINT_MESSAGES[message])
    extra = {"relevant": relevant, "constraint": constraint, "default": default}
    return row | {k: v for k, v in extra.items() if v}


def _repeat(name: str, rows: Iterable[Row], *, relevant: str = "") -> list[Row]:
    begin = _q("begin_repeat", name, relevant=relevant)
    return [begin, *rows, {"type": "end_repeat", "name": name}]


def _opening(form_id: str) -> list[Row]:
    return [
        {"type": "start", "name": "start"},
        {"type": "end", "name": "end"},
        {"type": "calculate", "name": "landrelease_form", "calculation": f"'{form_id}'"},
        _q("text", "organisation", required=True),
        _q("text", "team"),
    ]


def _items() -> list[Row]:
    return _repeat(
        "item",
        [
            _q("geopoint", "item_location", required=True),
            _q("select_one item_category", "item_category", required=True),
            _q("text", "item_description"),
            _q(
                "integer",
                "item_quantity",
                required=True,
                default="1",
                constraint=". >= 1",
                message="at_least_one",
            ),
            _q("select_one item_state", "item_state", required=True),
        ],
    )


def _headcount(name: str) -> Row:
    return _q("integer", name, required=True, constraint=". >= 0", message="not_negative")


def _nts_survey() -> list[Row]:
    return [
        _q("text", "area_ref", hint="area_ref_if_known"),
        _q("text", "name"),
        _q("date", "reported_on", required=True),
        _q("select_one hazard_type", "hazard_type", required=True),
        _q("text", "evidence", required=True),
        _q("select_multiple contamination", "contamination", required=True),
        _q("select_one land_use", "land_use"),
        _q("text", "admin_area"),
        _q("select_one shape_method", "shape_method", required=True),
        _q("geoshape", "area_shape", relevant="${shape_method} = 'polygon'"),
        *_repeat(
            "boundary",
            [_q("geopoint", "boundary_point", required=True)],
            relevant="${shape_method} = 'points'",
        ),
        *_repeat(
            "informant",
            [
                _q("select_one informant_role", "informant_role"),
                _q("select_one sex", "informant_sex"),
                _q("select_one age_group", "informant_age_group"),
                _q("text", "informant_statement"),
            ],
        ),
        _q("text", "notes"),
    ]


def _eod_spot_task() -> list[Row]:
    return [
        _q("text", "area_ref", hint="area_ref_if_known"),
        _q("date", "task_date", required=True),
        *_items(),
        _q("text", "notes"),
    ]


def _clearance() -> list[Row]:
    return [
        _q("text", "area_ref", required=True),
        _q("text", "activity_ref"),
        _q("select_one activity_type", "activity_type", required=True),
        _q("select_one activity_status", "activity_status", required=True),
        _q("date", "start_date", required=True),
        _q(
            "date",
            "end_date",
            relevant="${activity_status} = 'completed'",
            constraint=". >= ${start_date} and . <= today()",
            message="end_date",
        ),
        _q("geoshape", "cleared_shape"),
        _q("select_one yes_no", "evidence_found"),
        *_items(),
        _q("text", "notes"),
    ]


def _accident() -> list[Row]:
    return [
        _q("date", "occurred_on", required=True),
        _q("geopoint", "accident_location", required=True),
        _q("text", "area_ref", hint="area_ref_if_known"),
        _q("select_one item_category", "device_category"),
        *_repeat(
            "victim",
            [
                _q("select_one victim_outcome", "victim_outcome", required=True),
                _q("select_one victim_group", "victim_group", required=True),
                _q("select_one victim_sex", "victim_sex"),
                _q("select_one victim_age_group", "victim_age_group"),
            ],
        ),
        _q("text", "notes"),
    ]


def _risk_education() -> list[Row]:
    return [
        _q("date", "held_on", required=True),
        _q("geopoint", "session_location", required=True),
        _q("text", "admin_area"),
        _q("select_one eore_method", "method", required=True),
        *(_headcount(name) for name in ("girls", "boys", "women", "men")),
        _q("text", "notes"),
    ]


_BODIES = {
    "nts_survey": (_nts_survey, "reported_on"),
    "eod_spot_task": (_eod_spot_task, "task_date"),
    "clearance": (_clearance, "start_date"),
    "accident": (_accident, "occurred_on"),
    "risk_education": (_risk_education, "held_on"),
}


def _check_form(form_id: str) -> None:
    if form_id not in FORM_IDS:
        raise ValidationError(
            None, "form_id", f"unknown form {form_id!r}; the forms are {', '.join(FORM_IDS)}"
        )


def _list_names(survey: list[Row]) -> list[str]:
    names: list[str] = []
    for row in survey:
        word, _, list_name = row["type"].partition(" ")
        if word in ("select_one", "select_multiple") and list_name not in names:
            names.append(list_name)
    return names


def _choice_rows(list_name: str) -> list[Row]:
    code_list = _CODE_LISTS[list_name]
    return [
        {"list_name": list_name, "name": code}
        | _wording("label", labels.code_label(code_list.source, code))
        for code in code_list.codes()
    ]


def form_sheets(form_id: str) -> Sheets:
    """Return the XLSForm of `form_id` as rows of its survey, choices and settings sheets.

    The version is a digest of the form's content: it changes when a question, a code or
    any wording changes, and stays the same between runs otherwise.
    """
    _check_form(form_id)
    body, date_question = _BODIES[form_id]
    survey = _opening(form_id) + body()
    choice_rows = [row for name in _list_names(survey) for row in _choice_rows(name)]
    settings: Row = {
        "form_id": form_id,
        "form_title": labels.FORM_TITLES[form_id].en,
        "instance_name": (
            f"concat(${{organisation}}, ' ', ${{{date_question}}}, ' ', ${{landrelease_form}})"
        ),
        "default_language": labels.ENGLISH,
    }
    content = json.dumps([survey, choice_rows, settings], sort_keys=True, ensure_ascii=False)
    settings["version"] = hashlib.sha256(content.encode("utf-8")).hexdigest()[:12]
    return {"survey": survey, "choices": choice_rows, "settings": [settings]}


def write_form(form_id: str, path: str | Path) -> Path:
    """Write the XLSForm of `form_id` to an .xlsx file at `path` and return the path."""
    sheets = form_sheets(form_id)
    workbook = Workbook(write_only=True)
    columns = {
        "survey": _SURVEY_COLUMNS,
        "choices": _CHOICE_COLUMNS,
        "settings": _SETTINGS_COLUMNS,
    }
    for sheet_name, header in columns.items():
        sheet = workbook.create_sheet(sheet_name)
        sheet.append(header)
        for row in sheets[sheet_name]:
            sheet.append([row.get(column, "") for column in header])
    target = Path(path)
    workbook.save(target)
    return target


def export_forms(directory: str | Path) -> list[Path]:
    """Write every form as `<form_id>.xlsx` into `directory` (made if missing)."""
    folder = Path(directory)
    if folder.exists() and not folder.is_dir():
        raise ValidationError(
            None, "directory", f"{folder} is a file; give a folder to write the forms into"
        )
    folder.mkdir(parents=True, exist_ok=True)
    return [write_form(form_id, folder / f"{form_id}.xlsx") for form_id in FORM_IDS]


def questions(form_id: str) -> dict[str, Question]:
    """Return the questions of `form_id` by name, with the repeat each one sits in."""
    repeat: str | None = None
    found: dict[str, Question] = {}
    for row in form_sheets(form_id)["survey"]:
        word, _, list_name = row["type"].partition(" ")
        if word == "begin_repeat":
            repeat = row["name"]
        elif word == "end_repeat":
            repeat = None
        else:
            found[row["name"]] = Question(
                name=row["name"],
                type=word,
                list_name=list_name or None,
                repeat=repeat,
                required=row.get("required") == "yes",
            )
    return found


def repeats(form_id: str) -> tuple[str, ...]:
    """Return the names of the repeats of `form_id`, in form order."""
    survey = form_sheets(form_id)["survey"]
    return tuple(row["name"] for row in survey if row["type"] == "begin_repeat")


def choices(form_id: str, list_name: str) -> tuple[str, ...]:
    """Return the codes of the choice list `list_name` of `form_id`, in form order."""
    rows = form_sheets(form_id)["choices"]
    found = tuple(row["name"] for row in rows if row["list_name"] == list_name)
    if not found:
        raise ValidationError(form_id, "list_name", f"the form has no choice list {list_name!r}")
    return found


def unlabelled_codes() -> list[tuple[str, str]]:
    """Return (list source, code) for every code of the forms without wording in `labels`."""
    missing: list[tuple[str, str]] = []
    for code_list in _CODE_LISTS.values():
        known = labels.CODES.get(code_list.source, {})
        missing += [
            (code_list.source, code)
            for code in code_list.codes()
            if code not in known and (code_list.source, code) not in missing
        ]
    return missing
