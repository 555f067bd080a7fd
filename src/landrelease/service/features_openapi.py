"""The API definition as OpenAPI 3.0 (what OGC API Features and GDAL read at /api).

FastAPI writes OpenAPI 3.1 (`app.openapi()`, served at /openapi.json), whose schemas are JSON
Schema 2020-12. This module rewrites the constructs that OpenAPI 3.0 lacks: `anyOf [X, null]`
and `type: [X, "null"]` become `nullable`, `const` an `enum`, numeric `exclusiveMinimum` a
flag beside `minimum`, `examples` in a schema its first `example`, an upload's
`contentMediaType` `format: binary`; keywords 3.0 does not know are dropped.
"""

from __future__ import annotations

import copy
from typing import Any

# Schema keywords of JSON Schema 2020-12 that OpenAPI 3.0's schema object does not have.
_DROP = frozenset(
    {
        "$schema",
        "$id",
        "$defs",
        "$comment",
        "$anchor",
        "$dynamicRef",
        "$dynamicAnchor",
        "contentEncoding",
        "contentSchema",
        "dependentRequired",
        "dependentSchemas",
        "if",
        "then",
        "else",
        "patternProperties",
        "prefixItems",
        "propertyNames",
        "unevaluatedItems",
        "unevaluatedProperties",
        "contains",
        "minContains",
        "maxContains",
    }
)


def openapi_30(doc: dict[str, Any]) -> dict[str, Any]:
    """Return an OpenAPI 3.0.3 document of an OpenAPI 3.1 one (which is left unchanged)."""
    out = copy.deepcopy(doc)
    out["openapi"] = "3.0.3"
    out.pop("webhooks", None)
    out.pop("jsonSchemaDialect", None)
    info = out.get("info", {})
    info.pop("summary", None)
    if isinstance(info.get("license"), dict):
        info["license"].pop("identifier", None)
    schemas = out.get("components", {}).get("schemas", {})
    for name in list(schemas):
        schemas[name] = schema_30(schemas[name])
    for item in out.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict):
                _operation(operation)
    return out


def _operation(op: dict[str, Any]) -> None:
    for param in op.get("parameters", []):
        if "schema" in param:
            param["schema"] = schema_30(param["schema"])
    body = op.get("requestBody", {})
    for media in body.get("content", {}).values():
        _media(media)
    for response in op.get("responses", {}).values():
        for media in response.get("content", {}).values():
            _media(media)
        for header in response.get("headers", {}).values():
            if "schema" in header:
                header["schema"] = schema_30(header["schema"])


def _media(media: dict[str, Any]) -> None:
    if "schema" in media:
        media["schema"] = schema_30(media["schema"])
    for prop in media.get("encoding", {}).values():
        for header in prop.get("headers", {}).values():
            if "schema" in header:
                header["schema"] = schema_30(header["schema"])


def schema_30(schema: Any) -> Any:
    """Return a JSON Schema 2020-12 schema as an OpenAPI 3.0 schema object."""
    if not isinstance(schema, dict):
        return schema
    s = {k: v for k, v in schema.items() if k not in _DROP}
    for key in ("anyOf", "oneOf"):
        if key in s:
            members = [m for m in s[key] if not _is_null(m)]
            if len(members) < len(s[key]):
                s["nullable"] = True
            if len(members) == 1:
                s.pop(key)
                only = schema_30(members[0])
                if "$ref" in only:  # a $ref has no siblings in 3.0: wrap it
                    s["allOf"] = [only]
                else:
                    s = {**only, **s}
            elif members:
                s[key] = [schema_30(m) for m in members]
            else:
                s.pop(key)
    if "allOf" in s and isinstance(s["allOf"], list):
        s["allOf"] = [schema_30(m) for m in s["allOf"]]
    kind = s.get("type")
    if isinstance(kind, list):
        types = [t for t in kind if t != "null"]
        if len(types) < len(kind):
            s["nullable"] = True
        if len(types) == 1:
            s["type"] = types[0]
        elif types:
            s.pop("type")
            s["anyOf"] = [{"type": t} for t in types]
        else:
            s.pop("type")
    elif kind == "null":
        s.pop("type")
        s["nullable"] = True
    if "const" in s:
        s["enum"] = [s.pop("const")]
    if "examples" in s:
        examples = s.pop("examples")
        if isinstance(examples, list) and examples and "example" not in s:
            s["example"] = examples[0]
    for bound, flag in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = s.get(bound)
        if isinstance(value, int | float) and not isinstance(value, bool):
            s[flag] = value
            s[bound] = True
    if "contentMediaType" in s:
        s.pop("contentMediaType")
        s.setdefault("type", "string")
        s.setdefault("format", "binary")
    if "$ref" in s and len(s) > 1:  # 3.0 ignores a $ref's siblings: keep them beside it
        ref = {"$ref": s.pop("$ref")}
        s["allOf"] = [ref, *s.get("allOf", [])]
    for key in ("properties",):
        if isinstance(s.get(key), dict):
            s[key] = {k: schema_30(v) for k, v in s[key].items()}
    for key in ("items", "additionalProperties", "not"):
        if isinstance(s.get(key), dict):
            s[key] = schema_30(s[key])
    return s


def _is_null(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "null" and len(schema) == 1


__all__ = ["openapi_30", "schema_30"]
