"""The OpenAPI document matches the API: one schema per name, and every operation documents its error answers."""

from __future__ import annotations

import collections
import typing

from pydantic import BaseModel

from ibms.core.api import operations
from ibms.web.api import api

NINJA_WRAPPERS = {"QueryParams", "PathParams", "BodyParams", "FormParams", "FileParams", "CookieParams",
                  "HeaderParams", "NinjaResponseSchema"}  # ninja's own per-operation wrappers, flattened away


def _models() -> dict[str, set[type]]:
    seen: dict[str, set[type]] = collections.defaultdict(set)

    def walk(t, depth=0):
        if depth > 8 or t is None:
            return
        if isinstance(t, type) and issubclass(t, BaseModel):
            if t in seen[t.__name__]:
                return
            seen[t.__name__].add(t)
            for f in t.model_fields.values():
                walk(f.annotation, depth + 1)
        for a in typing.get_args(t):
            walk(a, depth + 1)

    for _path, op in operations(api):
        for m in op.models:
            walk(m)
        for m in (op.response_models or {}).values():
            walk(m)
    return seen


def test_schema_names_are_unique():
    clashes = {name: sorted(f"{c.__module__}.{c.__qualname__}" for c in classes)
               for name, classes in _models().items() if len(classes) > 1 and name not in NINJA_WRAPPERS}
    assert clashes == {}


def test_every_operation_documents_its_errors():
    doc = api.get_openapi_schema(path_prefix="/api/v1")
    assert doc["components"]["schemas"]["Error"]["required"] == ["code", "message"]
    missing = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            codes = set(op["responses"])
            need = {401, 403, 422} | ({400, 404, 409} if method in ("post", "put", "patch", "delete") else set())
            if not need <= codes:
                missing.append((method, path, sorted(need - codes)))
    assert missing == []
    assert len(doc["paths"]) > 100  # the whole API, not a part of it
