"""The synthetic filler answers what ODK itself would ask: the questions of each form as
pyxform converts it (the XForm's instance: names, order, repeat groups, binds' types) are
those `forms.questions` gives, from which the filler and the readers work."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from pyxform.xls2xform import convert

from landrelease.field import forms
from landrelease.field.forms import FORM_IDS

XF = "{http://www.w3.org/2002/xforms}"
# XForm bind types of each XLSForm question type (pyxform's mapping)
BIND_TYPES = {
    "text": "string",
    "integer": "int",
    "date": "date",
    "geopoint": "geopoint",
    "geoshape": "geoshape",
    "select_one": "string",
    "select_multiple": "string",
    "calculate": "string",
    "start": "dateTime",
    "end": "dateTime",
}


def _leaves(
    node: ET.Element, repeat: str | None, repeats: set[str]
) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    seen: set[str] = set()
    for child in node:
        name = child.tag.replace(XF, "")
        if name == "meta" or name in seen:  # a repeat's template and first row: once
            continue
        seen.add(name)
        if name in repeats:
            out += _leaves(child, name, repeats)
        else:
            out.append((name, repeat))
    return out


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_the_questions_are_the_xforms(form_id: str, tmp_path: Path) -> None:
    path = forms.write_form(form_id, tmp_path / f"{form_id}.xlsx")
    root = ET.fromstring(convert(xlsform=str(path), warnings=[]).xform)
    data = root.find(f".//{XF}instance/{XF}data")
    assert data is not None
    questions = forms.questions(form_id)
    repeats = set(forms.repeats(form_id))
    assert _leaves(data, None, repeats) == [(q.name, q.repeat) for q in questions.values()]
    binds = {b.get("nodeset", "").rsplit("/", 1)[-1]: b for b in root.iter(f"{XF}bind")}
    for q in questions.values():
        assert binds[q.name].get("type") == BIND_TYPES[q.type], q.name
        assert (binds[q.name].get("required") == "true()") == q.required, q.name
