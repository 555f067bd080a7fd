"""The prioritisation configuration: weights and distances read from TOML, checked line by line.

The packaged `default.toml` documents every key; a user's file names only what it changes and
is merged over it. Every error names the TOML line, as a `ValidationError` of record "config"
whose field is the setting ("people.bands_m") and whose message starts "line N: ".
"""

from __future__ import annotations

import copy
import functools
import json
import math
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from landrelease.domain.codes import Status
from landrelease.domain.errors import ValidationError
from landrelease.priority.inputs import FACILITY_KINDS, LANDUSE_CLASSES, ROAD_CLASSES

COMPONENTS = (
    "people",
    "buildings",
    "facilities",
    "roads",
    "farmland",
    "accidents",
    "residual",
    "status",
    "evidence",
)
STATUSES = tuple(s.value for s in Status)

# What each setting may hold: (kind, vocabulary of its keys or items).
_Spec = tuple[str, tuple[str, ...]]
_NUMBER: _Spec = ("number", ())
_DISTANCE: _Spec = ("distance", ())
SCHEMA: dict[str, dict[str, _Spec]] = {
    "weights": {c: _NUMBER for c in COMPONENTS},
    "people": {"bands_m": ("bands", ()), "decay": ("shares", ())},
    "buildings": {"buffer_m": _DISTANCE},
    "facilities": {"buffer_m": _DISTANCE, "kinds": ("table", FACILITY_KINDS)},
    "roads": {"buffer_m": _DISTANCE, "classes": ("table", ROAD_CLASSES)},
    "farmland": {"classes": ("choices", LANDUSE_CLASSES)},
    "accidents": {"radius_m": _DISTANCE, "window_days": ("days", ())},
    "residual": {"seed": ("seed", ()), "draws": ("draws", ())},
    "status": {s: _NUMBER for s in STATUSES},
    "ranking": {"statuses": ("choices", STATUSES)},
}
# How an unknown key of a section is called in an error.
_KEY_NOUN = {"weights": "component", "status": "status"}


@dataclass(frozen=True)
class PriorityConfig:
    """A checked configuration: the TOML text as given and every setting, defaults filled in."""

    text: str
    values: dict[str, Any]

    def canonical(self) -> str:
        """Return the settings as JSON with sorted keys: equal for equal settings, whatever the
        comments, spacing or order of the TOML (the form a ranking's id is hashed from)."""
        return json.dumps(self.values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def weight(self, component: str) -> float:
        """Return the weight of a component (score points per unit of its raw value)."""
        if component not in COMPONENTS:
            raise KeyError(f"unknown component {component!r}; known: {', '.join(COMPONENTS)}")
        return float(self.values["weights"][component])


def load_config(text: str | None = None) -> PriorityConfig:
    """Return the configuration of a TOML text merged over the defaults (None: the defaults).

    Raises `ValidationError` (record "config", field "section.key", message "line N: ...")
    when the text does not parse, names an unknown section, key or component, gives a
    negative distance, weight or count, or bands that do not increase.
    """
    if text is None:
        return PriorityConfig(default_text(), copy.deepcopy(_defaults()))
    given = _parse(text)
    return PriorityConfig(text, _merge(_defaults(), given, _Lines(text)))


def default_text() -> str:
    """Return the text of the packaged default configuration (every key documented)."""
    return _packaged_text()


@functools.cache
def _packaged_text() -> str:
    return resources.files("landrelease.priority").joinpath("default.toml").read_text("utf-8")


@functools.cache
def _defaults() -> dict[str, Any]:
    given = _parse(_packaged_text())
    missing = [f"{s}.{k}" for s, keys in SCHEMA.items() for k in keys if k not in given.get(s, {})]
    if missing:  # a packaging mistake, not a user's
        raise RuntimeError(f"priority/default.toml lacks {', '.join(missing)}")
    return given


class _Lines:
    """Where each key of a TOML text is written: the line of every (dotted) key path."""

    _HEADER = re.compile(r"^\s*\[\[?\s*(?P<name>[^\]]+?)\s*\]\]?\s*(#.*)?$")
    _BARE_OR_QUOTED = r"(?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')"
    _KEY = re.compile(rf"^\s*(?P<key>{_BARE_OR_QUOTED}(?:\s*\.\s*{_BARE_OR_QUOTED})*)\s*=")
    _STRINGS = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'[^']*'")

    def __init__(self, text: str) -> None:
        self.first: dict[tuple[str, ...], int] = {}
        self.context: dict[int, tuple[str, ...]] = {}  # line -> the key (or table) it is in
        table: tuple[str, ...] = ()
        path: tuple[str, ...] = ()
        depth = 0  # open brackets of a multi-line array or inline table
        for n, line in enumerate(text.splitlines(), 1):
            rest = line
            if depth == 0:
                header = self._HEADER.match(line)
                if header:
                    table = path = tuple(_split_key(header.group("name")))
                    self.first.setdefault(table, n)
                    self.context[n] = table
                    continue
                key = self._KEY.match(line)
                if key:
                    path = table + tuple(_split_key(key.group("key")))
                    for k in range(1, len(path) + 1):
                        self.first.setdefault(path[:k], n)
                    rest = line[key.end() :]
                else:
                    path = table
            self.context[n] = path
            bare = self._STRINGS.sub("", rest).split("#", 1)[0]
            depth = max(0, depth + bare.count("[") + bare.count("{"))
            depth = max(0, depth - bare.count("]") - bare.count("}"))

    def of(self, path: Iterable[str]) -> int:
        """Return the line where `path` (or the nearest enclosing table or key) is written."""
        path = tuple(path)
        for k in range(len(path), 0, -1):
            if path[:k] in self.first:
                return self.first[path[:k]]
        return 1


def _split_key(key: str) -> list[str]:
    parts = re.findall(r"\"((?:[^\"\\]|\\.)*)\"|'([^']*)'|([A-Za-z0-9_-]+)", key)
    return [a or b or c for a, b, c in parts]


def _error(lines: _Lines, path: tuple[str, ...], message: str) -> ValidationError:
    return ValidationError("config", ".".join(path) or None, f"line {lines.of(path)}: {message}")


def _parse(text: str) -> dict[str, dict[str, Any]]:
    """Return the settings a TOML text gives, checked and normalised (no defaults added)."""
    lines = _Lines(text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        at = re.search(r"at line (\d+)", str(exc))
        last = max(lines.context, default=1)
        n = int(at.group(1)) if at else last  # "at end of document": the last line
        what = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", str(exc))
        # the key being written on that line, or the one whose value runs onto it
        path = lines.context.get(min(n, last), ())
        raise ValidationError(
            "config", ".".join(path) or None, f"line {n}: not valid TOML: {what}"
        ) from None
    out: dict[str, dict[str, Any]] = {}
    for section, body in data.items():
        if section not in SCHEMA:
            raise _error(
                lines, (section,), f"unknown section [{section}]; known: {', '.join(SCHEMA)}"
            )
        if not isinstance(body, dict):
            raise _error(lines, (section,), f"{section} must be a table: write [{section}]")
        keys = SCHEMA[section]
        for key, value in body.items():
            path = (section, key)
            if key not in keys:
                noun = _KEY_NOUN.get(section, "key")
                raise _error(
                    lines, path, f"unknown {noun} {key!r} in [{section}]; known: {', '.join(keys)}"
                )
            kind, vocabulary = keys[key]
            out.setdefault(section, {})[key] = _check(lines, path, kind, vocabulary, value)
    return out


def _check(
    lines: _Lines, path: tuple[str, ...], kind: str, vocabulary: tuple[str, ...], value: Any
) -> Any:
    """Return a setting's value normalised (numbers as float, counts as int) or raise."""
    name = ".".join(path)
    if kind in ("number", "distance"):
        what = "a distance" if kind == "distance" else "a weight"
        return _non_negative(lines, path, value, what)
    if kind in ("days", "seed", "draws"):
        least = 1 if kind == "draws" else 0
        if isinstance(value, bool) or not isinstance(value, int):
            raise _error(lines, path, f"{name} must be a whole number, not {value!r}")
        if value < least:
            raise _error(lines, path, f"{name} must be at least {least}, not {value}")
        return value
    if kind in ("bands", "shares"):
        if not isinstance(value, list) or not value:
            raise _error(lines, path, f"{name} must be a list of numbers, e.g. [500, 2000]")
        what = "a distance" if kind == "bands" else "a share"
        numbers = [_non_negative(lines, path, v, what) for v in value]
        if kind == "bands":
            for before, after in zip(numbers, numbers[1:], strict=False):
                if after <= before:
                    raise _error(lines, path, f"{name} must increase: {after:g} follows {before:g}")
        return numbers
    if kind == "table":
        if not isinstance(value, dict):
            raise _error(lines, path, f"{name} must be a table: write [{name}]")
        table = {}
        for key, v in value.items():
            if key not in vocabulary:
                raise _error(
                    lines,
                    (*path, key),
                    f"unknown {key!r} in {name}; known: {', '.join(vocabulary)}",
                )
            table[key] = _non_negative(lines, (*path, key), v, "a weight")
        return table
    if kind == "choices":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _error(
                lines, path, f"{name} must be a list of names, e.g. {list(vocabulary[:2])}"
            )
        unknown = [v for v in value if v not in vocabulary]
        if unknown:
            raise _error(
                lines,
                path,
                f"unknown {', '.join(map(repr, unknown))}; known: {', '.join(vocabulary)}",
            )
        if len(set(value)) < len(value):
            raise _error(lines, path, f"{name} names a value twice")
        if path == ("ranking", "statuses") and not value:
            raise _error(lines, path, f"{name} must name at least one status")
        return list(value)
    raise AssertionError(f"unknown setting kind {kind}")  # the schema is ours


def _non_negative(lines: _Lines, path: tuple[str, ...], value: Any, what: str) -> float:
    name = ".".join(path)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _error(lines, path, f"{name} must be a number, not {value!r}")
    if not math.isfinite(value):
        raise _error(lines, path, f"{name} must be a finite number, not {value!r}")
    if value < 0:
        raise _error(lines, path, f"{name} is {what} and may not be negative ({value:g})")
    return float(value)


def _merge(
    defaults: dict[str, Any], given: dict[str, dict[str, Any]], lines: _Lines
) -> dict[str, Any]:
    """Return the defaults with the given settings put over them (tables merged key by key)."""
    values = copy.deepcopy(defaults)
    for section, body in given.items():
        for key, value in body.items():
            if isinstance(value, dict):
                values[section][key].update(value)
            else:
                values[section][key] = value
    people = values["people"]
    if len(people["decay"]) != len(people["bands_m"]):
        # Named on the line the user wrote: the decay if given, else the bands.
        key = "decay" if "decay" in given.get("people", {}) else "bands_m"
        raise _error(
            lines,
            ("people", key),
            f"{len(people['decay'])} decay values for {len(people['bands_m'])} bands; "
            "give people.decay one share per band of people.bands_m",
        )
    return values
