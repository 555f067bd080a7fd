"""The prioritisation configuration: documented defaults, merging, and errors naming the line."""

from __future__ import annotations

import json
import re

import pytest

from landrelease.domain.errors import ValidationError
from landrelease.priority import COMPONENTS, default_text, load_config
from landrelease.priority.config import SCHEMA


def test_the_defaults_give_every_setting_and_document_every_key() -> None:
    config = load_config()
    assert config.text == default_text()
    for section, keys in SCHEMA.items():
        assert set(config.values[section]) == set(keys), section
    assert [config.weight(c) for c in COMPONENTS] == [
        float(config.values["weights"][c]) for c in COMPONENTS
    ]
    # every key line (and every table header) has a comment right above it or a comment
    # block of its own section
    lines = default_text().splitlines()
    for n, line in enumerate(lines):
        if re.match(r"^[a-z_]+ = ", line):
            above = lines[n - 1].strip()
            assert above.startswith("#") or re.match(r"^[a-z_]+ = ", above), line


def test_a_config_names_only_what_it_changes() -> None:
    config = load_config("[weights]\npeople = 2\n\n[facilities.kinds]\nschool = 500\n")
    defaults = load_config().values
    assert config.weight("people") == 2.0
    assert config.values["facilities"]["kinds"]["school"] == 500.0
    assert (
        config.values["facilities"]["kinds"]["clinic"] == defaults["facilities"]["kinds"]["clinic"]
    )
    assert config.values["roads"] == defaults["roads"]


def test_the_canonical_form_ignores_comments_spacing_order_and_number_style() -> None:
    a = load_config("[weights]\npeople = 2\nroads = 50\n")
    b = load_config("# mine\n[weights]\nroads   = 50.0   # per km\npeople=2.0\n")
    assert a.canonical() == b.canonical()
    assert a.text != b.text
    assert load_config("").canonical() == load_config().canonical()
    assert json.loads(a.canonical())["weights"]["people"] == 2.0
    assert load_config("[weights]\npeople = 3\n").canonical() != a.canonical()


@pytest.mark.parametrize(
    ("text", "field", "line", "says"),
    [
        ("[weights]\npeople = 1\nroads = \n", "weights.roads", 3, "not valid TOML"),
        ("[weights]\npeople = [1,\n", "weights.people", 2, "not valid TOML"),
        ("\n[wieghts]\npeople = 1\n", "wieghts", 2, "unknown section [wieghts]"),
        (
            "[weights]\npeople = 1\nschools = 3\n",
            "weights.schools",
            3,
            "unknown component 'schools'",
        ),
        ("[buildings]\n\nbuffer_m = -5\n", "buildings.buffer_m", 3, "may not be negative"),
        ("[weights]\nroads = -1\n", "weights.roads", 2, "may not be negative"),
        ("[people]\nbands_m = [500, 5000, 2000]\n", "people.bands_m", 2, "must increase"),
        ("[people]\ndecay = [1.0, 0.5]\n", "people.decay", 2, "2 decay values for 3 bands"),
        ("[people]\nbands_m = [500, 2000]\n", "people.bands_m", 2, "3 decay values for 2 bands"),
        ("[roads.classes]\nhighway = 3\n", "roads.classes.highway", 2, "unknown 'highway'"),
        (
            "[roads]\nclasses = { primary = 1, lane = 2 }\n",
            "roads.classes.lane",
            2,
            "unknown 'lane'",
        ),
        ("[roads]\nbuffer_m = 'wide'\n", "roads.buffer_m", 2, "must be a number"),
        ("[accidents]\nwindow_days = 7.5\n", "accidents.window_days", 2, "whole number"),
        ("[residual]\ndraws = 0\n", "residual.draws", 2, "at least 1"),
        ("[status]\ndisputed = 5\n", "status.disputed", 2, "unknown status 'disputed'"),
        ("[ranking]\nstatuses = ['suspected', 'open']\n", "ranking.statuses", 2, "unknown 'open'"),
        ("[ranking]\nstatuses = []\n", "ranking.statuses", 2, "at least one status"),
        ("[farmland]\nclasses = ['farmland', 'farmland']\n", "farmland.classes", 2, "twice"),
        ("weights = 3\n", "weights", 1, "must be a table"),
        ("[weights]\npeople = nan\n", "weights.people", 2, "finite number"),
    ],
)
def test_a_bad_config_names_the_setting_and_the_line(
    text: str, field: str, line: int, says: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        load_config(text)
    err = caught.value
    assert err.record == "config"
    assert err.field == field
    assert err.message.startswith(f"line {line}: ")
    assert says in err.message


def test_an_unknown_weight_name_is_refused_by_weight() -> None:
    with pytest.raises(KeyError, match="unknown component 'schools'"):
        load_config().weight("schools")
