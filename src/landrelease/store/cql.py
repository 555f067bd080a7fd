"""CQL2 filters (OGC API Features Part 3): parsed by pygeofilter, compiled to parameterised SQL.

`parse_filter` turns a filter's text (cql2-text) or JSON (cql2-json) into pygeofilter's syntax
tree; that tree is what a read is given (`Records.select(filter=...)`), whatever the backend.
`compile_sql` makes of it one SQL condition over a record table aliased `t`: every property
name is checked against the kind's readable columns (`store.query`), every value is a bound
parameter, and nothing from the request becomes SQL text. A spatial predicate stands in the SQL
as `t.fid IN (SELECT value FROM json_each(?))`, its parameter a `SpatialTest`: the backend
replaces it with the ids of the records that pass the test, found by the R-tree first and then
by the exact predicate (shapely) on those candidates only. `compile_postgis` makes the same
condition for PostgreSQL + PostGIS, where the database does everything: a spatial predicate is
a PostGIS function of the record's geometry and the bound literal (WKB in EPSG:4326).

What is supported (the CQL2 conformance classes `CONFORMANCE` names): comparisons (= <> < > <=
>=) of a property with a literal or another property, AND / OR / NOT, LIKE (case-sensitive,
`%` and `_`, `\\` escapes), IN, BETWEEN, IS [NOT] NULL, and S_INTERSECTS, S_EQUALS,
S_DISJOINT, S_TOUCHES, S_WITHIN, S_OVERLAPS, S_CROSSES, S_CONTAINS of the geometry with a
geometry literal (WKT, GeoJSON, BBOX) in CRS84. Dates compare as ISO text, so a date field
compared with a TIMESTAMP uses the timestamp's UTC date.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import shapely

from landrelease.domain.errors import ValidationError
from landrelease.domain.records import RecordKind
from landrelease.store.query import STAMP_COLUMNS, readable_columns

LANGS = ("cql2-text", "cql2-json")
GEOMETRY = "geometry"  # the name a filter gives the geometry of a record
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"

_CQL2 = "http://www.opengis.net/spec/cql2/1.0/conf/"
# The CQL2 requirement classes this module implements (each tested in tests/test_store_cql.py).
CONFORMANCE = tuple(
    _CQL2 + c
    for c in (
        "cql2-text",
        "cql2-json",
        "basic-cql2",
        "advanced-comparison-operators",
        "basic-spatial-functions",
        "basic-spatial-functions-plus",
        "spatial-functions",
        "property-property",
    )
)

# The SQL of each comparison, and of the same comparison with its sides swapped.
_COMPARE = {"EQ": "=", "NE": "<>", "LT": "<", "LE": "<=", "GT": ">", "GE": ">="}
_SWAPPED = {"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
# Spatial predicates, by pygeofilter's operator name: ours, and ours with the sides swapped.
_SPATIAL = {
    "INTERSECTS": ("intersects", "intersects"),
    "DISJOINT": ("disjoint", "disjoint"),
    "EQUALS": ("equals", "equals"),
    "TOUCHES": ("touches", "touches"),
    "OVERLAPS": ("overlaps", "overlaps"),
    "CROSSES": ("crosses", "crosses"),
    "WITHIN": ("within", "contains"),
    "CONTAINS": ("contains", "within"),
}
# The type a literal compared with a field of each kind must have, as said in a message.
_NUMBER = (int, float)
_TEXTS = {"text": "a text", "code": "a text", "codes": "a text", "date": "a date"}


@dataclass(frozen=True)
class SpatialTest:
    """A spatial predicate of a filter: `op` (intersects, within...) of each record's geometry
    with `geometry` (a shapely geometry in EPSG:4326 lon/lat), records first, literal second."""

    op: str
    geometry: Any = field(compare=False)

    def evaluate(self, geoms: Any) -> Any:
        """Return a boolean array: whether each of `geoms` passes the test (False for None)."""
        import numpy as np

        fn = getattr(shapely, self.op)
        shapely.prepare(self.geometry)
        try:
            out = fn(geoms, self.geometry)
        except shapely.errors.GEOSException as exc:
            raise ValidationError(
                None, "filter", f"cannot test S_{self.op.upper()}: {exc}"
            ) from None
        return np.asarray(out, dtype=bool)


@dataclass(frozen=True)
class Compiled:
    """A filter as SQL: one condition over table alias `t`, and its parameters in order.

    A parameter that is a `SpatialTest` stands for the JSON array of the ids (fid) of the
    records that pass it; the backend computes them (`bind`)."""

    sql: str
    params: tuple[Any, ...]

    @property
    def spatial(self) -> list[SpatialTest]:
        """Return the spatial tests among the parameters."""
        return [p for p in self.params if isinstance(p, SpatialTest)]


def parse_filter(text: str | dict[str, Any], lang: str | None = None) -> Any:
    """Return the syntax tree (pygeofilter's) of a CQL2 filter; ValidationError if it is not one.

    `lang` is cql2-text (the default for a text) or cql2-json (the default for a dict).
    """
    if lang is None:
        lang = "cql2-json" if isinstance(text, dict) else "cql2-text"
    if lang not in LANGS:
        raise ValidationError(
            None, "filter-lang", f"unknown filter language {lang!r}; use {' or '.join(LANGS)}"
        )
    try:
        if lang == "cql2-text":
            from pygeofilter.parsers.cql2_text import parse as parse_text

            if not isinstance(text, str):
                raise ValueError("a cql2-text filter is a text")
            return parse_text(text)
        from pygeofilter.parsers.cql2_json import parse as parse_json

        data = json.loads(text) if isinstance(text, str) else text
        return parse_json(_standard_json(data))
    except ValidationError:
        raise
    except Exception as exc:  # lark's syntax errors, or the JSON parser's on a malformed tree
        first = " ".join(str(exc).split("\n")[:1]).strip() or type(exc).__name__
        raise ValidationError(
            None, "filter", f"not a valid {lang} expression: {first[:200]}"
        ) from None


def property_names(node: Any) -> set[str]:
    """Return the names of the properties a filter's syntax tree refers to."""
    from pygeofilter import ast

    out: set[str] = set()

    def walk(n: Any) -> None:
        if isinstance(n, ast.Attribute):
            out.add(n.name)
        elif isinstance(n, ast.Node):
            for sub in n.get_sub_nodes():
                walk(sub)
        elif isinstance(n, list | tuple):
            for sub in n:
                walk(sub)

    walk(node)
    return out


def compile_sql(kind: RecordKind, node: Any, *, names: Collection[str] | None = None) -> Compiled:
    """Return the SQL condition of a filter on records of `kind` (see the module's doc).

    Property names are checked against `names` if given, else against the kind's readable
    columns and "geometry"; an unknown one, an unsupported operator or a value of the wrong
    type is a ValidationError naming the parameter `filter`.
    """
    allowed = set(names) if names is not None else _filterable(kind)
    sql, params = _Compiler(kind, allowed).condition(node)
    return Compiled(sql, tuple(params))


def _filterable(kind: RecordKind) -> set[str]:
    out = set(readable_columns(kind))
    if kind.geometry:
        out.add(GEOMETRY)
    return out


class _Compiler:
    """Walks one syntax tree; returns SQL text made only of our own names and `?` marks."""

    def __init__(self, kind: RecordKind, allowed: set[str]) -> None:
        self.kind = kind
        self.allowed = allowed

    def condition(self, node: Any) -> tuple[str, list[Any]]:
        from pygeofilter import ast

        if isinstance(node, bool):
            return (self.TRUE if node else self.FALSE), []
        if isinstance(node, ast.And | ast.Or):
            left, lp = self.condition(node.lhs)
            right, rp = self.condition(node.rhs)
            return f"({left} {node.op.value} {right})", lp + rp
        if isinstance(node, ast.Not):
            sub, sp = self.condition(node.sub_node)
            return f"(NOT {sub})", sp
        if isinstance(node, ast.Include):
            return (self.FALSE if node.not_ else self.TRUE), []
        if isinstance(node, ast.Comparison):
            return self.comparison(node)
        if isinstance(node, ast.Like):
            return self.like(node)
        if isinstance(node, ast.In):
            return self.in_(node)
        if isinstance(node, ast.Between):
            col = self.column(node.lhs, scalar=True)
            low = self.value(col, node.low)
            high = self.value(col, node.high)
            neg = "NOT " if node.not_ else ""
            mark = self.mark(col)
            return f"(t.{col} {neg}BETWEEN {mark} AND {mark})", [low, high]
        if isinstance(node, ast.IsNull):
            col = self.column(node.lhs)
            target = "t.geom" if col == GEOMETRY else f"t.{col}"
            return f"({target} IS {'NOT ' if node.not_ else ''}NULL)", []
        if isinstance(node, ast.SpatialComparisonPredicate):
            return self.spatial(node)
        raise self.unsupported(node)

    # -- predicates ------------------------------------------------------------------------

    def comparison(self, node: Any) -> tuple[str, list[Any]]:
        from pygeofilter import ast

        op = _COMPARE[node.op.name]
        lhs, rhs = node.lhs, node.rhs
        if isinstance(lhs, ast.Attribute) and isinstance(rhs, ast.Attribute):
            a = self.column(lhs, scalar=True)
            b = self.column(rhs, scalar=True)
            return self.pair(a, op, b), []
        if not isinstance(lhs, ast.Attribute):
            if not isinstance(rhs, ast.Attribute):  # say which side is not a property
                raise self.unsupported(lhs if isinstance(lhs, ast.Node) else rhs)
            lhs, rhs, op = rhs, lhs, _SWAPPED[op]
        col = self.column(lhs, scalar=True)
        return f"(t.{col} {op} {self.mark(col)})", [self.value(col, rhs)]

    def like(self, node: Any) -> tuple[str, list[Any]]:
        col = self.column(node.lhs, scalar=True)
        if not isinstance(node.pattern, str):
            raise ValidationError(None, "filter", f"LIKE on {col} needs a text pattern")
        return self.like_test(col, "NOT " if node.not_ else "", node.pattern)

    def in_(self, node: Any) -> tuple[str, list[Any]]:
        col = self.column(node.lhs, scalar=True)
        if not isinstance(node.sub_nodes, list | tuple):
            raise ValidationError(None, "filter", f"IN on {col} takes a list of values")
        values = [self.value(col, v) for v in node.sub_nodes]
        neg = "NOT " if node.not_ else ""
        if not values:
            return (self.TRUE if node.not_ else self.FALSE), []
        return f"(t.{col} {neg}IN ({','.join([self.mark(col)] * len(values))}))", values

    def spatial(self, node: Any) -> tuple[str, list[Any]]:
        from pygeofilter import ast

        op = node.op.name
        lhs, rhs = node.lhs, node.rhs
        ours, swapped = _SPATIAL[op]
        if not isinstance(lhs, ast.Attribute):
            lhs, rhs, ours = rhs, lhs, swapped
        literal = not isinstance(rhs, ast.Node) or (
            isinstance(rhs, ast.Function) and rhs.name.lower() == "bbox"
        )
        if not isinstance(lhs, ast.Attribute) or not literal:
            raise ValidationError(
                None,
                "filter",
                f"S_{op} compares the geometry with a geometry literal (WKT, GeoJSON or BBOX)",
            )
        if self.column(lhs) != GEOMETRY:
            raise ValidationError(
                None, "filter", f"S_{op} applies to {GEOMETRY!r}, not {lhs.name!r}"
            )
        return self.spatial_test(ours, _geometry_of(rhs, op))

    # -- what SQLite and PostgreSQL write differently ----------------------------------------

    TRUE, FALSE = "1", "0"

    def mark(self, col: str) -> str:
        """Return the placeholder of a value compared with column `col`."""
        return "?"

    def pair(self, a: str, op: str, b: str) -> str:
        """Return the comparison of two columns."""
        return f"(t.{a} {op} t.{b})"

    def like_test(self, col: str, neg: str, pattern: str) -> tuple[str, list[Any]]:
        """Return the condition that column `col` matches (or with `neg`, does not match) a
        CQL2 LIKE pattern, case-sensitive."""
        # GLOB, unlike SQLite's LIKE, is case-sensitive, as CQL2's LIKE is.
        return f"(t.{col} {neg}GLOB ?)", [_glob_of_like(pattern)]

    def spatial_test(self, op: str, geom: Any) -> tuple[str, list[Any]]:
        """Return the condition that the geometry passes `op` with literal `geom`."""
        if op == "disjoint":  # no R-tree for what lies apart: the complement of intersects
            test = SpatialTest("intersects", geom)
            return "(t.geom IS NOT NULL AND t.fid NOT IN (SELECT value FROM json_each(?)))", [test]
        return "(t.fid IN (SELECT value FROM json_each(?)))", [SpatialTest(op, geom)]

    # -- names and values ------------------------------------------------------------------

    def column(self, node: Any, *, scalar: bool = False) -> str:
        """Return the checked name of a property node (ValidationError if it is none)."""
        from pygeofilter import ast

        if not isinstance(node, ast.Attribute):
            raise self.unsupported(node)
        name = node.name
        if name not in self.allowed:
            choices = ", ".join(sorted(self.allowed))
            raise ValidationError(
                None,
                "filter",
                f"unknown property {name!r} of {self.kind.name}; filter on one of {choices}",
            )
        if scalar and name == GEOMETRY:
            raise ValidationError(
                None, "filter", "compare the geometry with a spatial function (S_INTERSECTS...)"
            )
        return str(name)

    def value(self, col: str, value: Any) -> Any:
        """Return a literal as the parameter compared with column `col`, checking its type."""
        kind = self._field_kind(col)
        if isinstance(value, bool):
            if kind != "bool":
                raise self.wrong_type(col, kind, value)
            return self.boolean(value)
        if isinstance(value, _NUMBER):
            if kind not in ("int", "float"):
                raise self.wrong_type(col, kind, value)
            if isinstance(value, int) and not -(2**63) <= value < 2**63:
                raise ValidationError(None, "filter", f"{value} is too large a number")
            return value
        if isinstance(value, dt.datetime):
            if kind != "date" and col != "changed_at":
                raise self.wrong_type(col, kind, value)
            utc = value.astimezone(dt.UTC) if value.tzinfo else value
            if kind == "date":
                return utc.date().isoformat()
            return utc.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-4] + "Z"
        if isinstance(value, dt.date):
            if kind != "date" and col != "changed_at":
                raise self.wrong_type(col, kind, value)
            return value.isoformat()
        if isinstance(value, str):
            if kind in ("int", "float", "bool"):
                raise self.wrong_type(col, kind, value)
            return value
        raise self.unsupported(value)

    def boolean(self, value: bool) -> Any:
        """Return a true-or-false literal as bound (SQLite has no booleans: 1 or 0)."""
        return int(value)

    def _field_kind(self, col: str) -> str:
        if col in STAMP_COLUMNS:
            return "bool" if col == "needs_check" else "text"
        return self.kind.field(col).kind

    def wrong_type(self, col: str, kind: str, value: Any) -> ValidationError:
        wanted = {"int": "a number", "float": "a number", "bool": "true or false"}.get(
            kind, _TEXTS.get(kind, "a text")
        )
        return ValidationError(
            None, "filter", f"{col} is compared with {value!r}; it takes {wanted}"
        )

    def unsupported(self, node: Any) -> ValidationError:
        name = type(node).__name__
        what = getattr(node, "name", None) if name == "Function" else None
        text = f"function {what!r}" if what else f"{name}"
        return ValidationError(
            None,
            "filter",
            f"{text} is not supported here; use comparisons, AND/OR/NOT, LIKE, IN, BETWEEN, "
            "IS NULL and S_INTERSECTS (or another S_ function) with a geometry literal",
        )


class _PostgisCompiler(_Compiler):
    """Writes the SQL of PostgreSQL + PostGIS: `%s` placeholders cast to the column's type,
    LIKE (case-sensitive there, with CQL2's wildcards and escape), and the spatial predicates
    as PostGIS functions of the literal (WKB in EPSG:4326), which use the GiST index."""

    TRUE, FALSE = "TRUE", "FALSE"

    def mark(self, col: str) -> str:
        from landrelease.store.postgis_schema import column_type

        return f"%s::{column_type(self.kind, col)}"

    def pair(self, a: str, op: str, b: str) -> str:
        from landrelease.store.postgis_schema import column_type

        numbers = ("bigint", "double precision")
        ta, tb = column_type(self.kind, a), column_type(self.kind, b)
        if ta == tb or (ta in numbers and tb in numbers):
            return super().pair(a, op, b)
        return f"({self._text(a)} {op} {self._text(b)})"  # as SQLite compares them: as text

    def like_test(self, col: str, neg: str, pattern: str) -> tuple[str, list[Any]]:
        return f"({self._text(col)} {neg}LIKE %s)", [pattern]

    def spatial_test(self, op: str, geom: Any) -> tuple[str, list[Any]]:
        literal = "ST_GeomFromWKB(%s, 4326)"
        wkb = shapely.to_wkb(geom)
        if op == "disjoint":
            return f"(t.geom IS NOT NULL AND NOT ST_Intersects(t.geom, {literal}))", [wkb]
        return f"ST_{op.capitalize()}(t.geom, {literal})", [wkb]

    def boolean(self, value: bool) -> Any:
        return value

    def _text(self, col: str) -> str:
        from landrelease.store.postgis_schema import column_type

        return f"t.{col}" if column_type(self.kind, col) == "text" else f"t.{col}::text"


def compile_postgis(
    kind: RecordKind, node: Any, *, names: Collection[str] | None = None
) -> Compiled:
    """Return the PostgreSQL condition of a filter on records of `kind`, as `compile_sql`
    checks it: `%s` placeholders, and every spatial predicate a PostGIS function of a bound
    WKB literal (no `SpatialTest` to bind: the database does it all)."""
    allowed = set(names) if names is not None else _filterable(kind)
    sql, params = _PostgisCompiler(kind, allowed).condition(node)
    return Compiled(sql, tuple(params))


def _geometry_of(value: Any, op: str) -> Any:
    """Return the shapely geometry of a literal (WKT or GeoJSON, BBOX), in CRS84."""
    from pygeofilter import ast, values

    try:
        if isinstance(value, values.Geometry):
            geom = shapely.geometry.shape(value.geometry)
        elif isinstance(value, values.Envelope):  # not made by our parsers (see _standard_json)
            geom = shapely.box(value.x1, value.y1, value.x2, value.y2)
        elif isinstance(value, ast.Function) and value.name.lower() == "bbox":
            args = [float(a) for a in value.arguments]
            if len(args) == 6:  # minx, miny, minz, maxx, maxy, maxz
                args = [args[0], args[1], args[3], args[4]]
            if len(args) != 4:
                raise ValueError("a BBOX has 4 (or 6) numbers")
            geom = shapely.box(*args)
        else:
            raise ValueError(f"{type(value).__name__} is not a geometry literal")
    except (ValueError, TypeError, AttributeError, shapely.errors.GEOSException) as exc:
        raise ValidationError(None, "filter", f"S_{op}: {exc}") from None
    if geom.is_empty:
        raise ValidationError(None, "filter", f"S_{op}: the geometry literal is empty")
    return geom


def _glob_of_like(pattern: str) -> str:
    """Return the GLOB pattern of a CQL2 LIKE pattern (% any, _ one, \\ escapes the next)."""
    out: list[str] = []
    chars = iter(pattern)
    for ch in chars:
        if ch == "\\":
            ch = next(chars, "\\")
            out.append(f"[{ch}]" if ch in "*?[" else ch)
        elif ch == "%":
            out.append("*")
        elif ch == "_":
            out.append("?")
        elif ch in "*?[":
            out.append(f"[{ch}]")
        else:
            out.append(ch)
    return "".join(out)


def _standard_json(node: Any) -> Any:
    """Return cql2-json as the installed pygeofilter reads it: a `bbox` literal as its
    GeoJSON polygon, and `between` of CQL2 1.0 (three arguments) in its two-argument form."""
    if isinstance(node, list):
        return [_standard_json(n) for n in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"bbox"} and isinstance(node["bbox"], list):
        box = node["bbox"]
        if len(box) == 6:
            box = [box[0], box[1], box[3], box[4]]
        if len(box) != 4 or not all(isinstance(v, int | float) for v in box):
            raise ValidationError(None, "filter", "a bbox literal has 4 (or 6) numbers")
        return shapely.geometry.mapping(shapely.box(*box))
    out = {k: _standard_json(v) for k, v in node.items()}
    args = out.get("args")
    if out.get("op") == "between" and isinstance(args, list) and len(args) == 3:
        out["args"] = [args[0], [args[1], args[2]]]
    return out


def bind(compiled: Compiled, ids_of: Any) -> list[Any]:
    """Return the parameters of `compiled` with each SpatialTest replaced by the JSON array
    of the ids `ids_of(test)` gives (a list of ints)."""
    import orjson

    out: list[Any] = []
    for p in compiled.params:
        out.append(orjson.dumps(list(ids_of(p))).decode() if isinstance(p, SpatialTest) else p)
    return out


__all__ = [
    "CONFORMANCE",
    "CRS84",
    "GEOMETRY",
    "LANGS",
    "Compiled",
    "SpatialTest",
    "bind",
    "compile_postgis",
    "compile_sql",
    "parse_filter",
    "property_names",
]
