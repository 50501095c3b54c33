"""API schemas built from the service input types, so a field is declared once.

A service takes a dataclass (`DraftIn`, `LineIn` …) whose money fields are `Fen` (integer fen). `schema_from(DC)`
gives the django-ninja schema for it — the same fields and defaults, money as a decimal yuan string, nested
dataclasses as nested schemas — and `to_service(payload, DC)` turns a parsed payload back into the dataclass,
converting each amount with `api_fen` and naming the field (`lines[2].amount`) in the error.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Union, get_args, get_origin, get_type_hints

from ninja import Schema
from pydantic import create_model

from .money import FEN, api_fen, fen_to_str

_cache: dict[tuple[type, str], type[Schema]] = {}


def _is_fen(hint: Any) -> bool:
    return get_origin(hint) is typing.Annotated and FEN in hint.__metadata__


def _strip(hint: Any) -> tuple[Any, bool]:
    """(the inner type, whether None is allowed)."""
    if get_origin(hint) in (Union, types.UnionType):
        args = [a for a in get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return hint, False


def _api_type(hint: Any) -> Any:
    inner, optional = _strip(hint)
    if _is_fen(inner):
        out: Any = str
    elif dataclasses.is_dataclass(inner):
        out = schema_from(inner)
    elif get_origin(inner) is list:
        out = list[_api_type(get_args(inner)[0])]
    else:
        out = inner
    return out | None if optional else out


def _default(f: dataclasses.Field, hint: Any) -> Any:
    if f.default is not dataclasses.MISSING:
        value = f.default
    elif f.default_factory is not dataclasses.MISSING:
        value = f.default_factory()
    else:
        return ...
    if _is_fen(_strip(hint)[0]) and isinstance(value, int):
        return "" if value == 0 else fen_to_str(value)
    if dataclasses.is_dataclass(value):
        return schema_from(type(value))(**_api_values(value))
    return value


def _api_values(obj: Any) -> dict:
    hints = get_type_hints(type(obj), include_extras=True)
    out = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if _is_fen(_strip(hints[f.name])[0]) and isinstance(value, int):
            value = "" if value == 0 else fen_to_str(value)
        out[f.name] = value
    return out


def schema_from(dc: type, *, name: str = "", exclude: tuple[str, ...] = ()) -> type[Schema]:
    """The API schema for service input dataclass `dc` (cached per class and name)."""
    key = (dc, name)
    if key in _cache:
        return _cache[key]
    hints = get_type_hints(dc, include_extras=True)
    fields = {f.name: (_api_type(hints[f.name]), _default(f, hints[f.name]))
              for f in dataclasses.fields(dc) if f.name not in exclude and f.init}
    app = dc.__module__.removeprefix("ibms.").split(".")[0].title()  # unique across apps in the OpenAPI document
    schema = create_model(name or f"{app}{dc.__name__}", __base__=Schema, **fields)
    doc = (dc.__doc__ or "").strip()
    # a dataclass without a docstring gets its signature as __doc__: not a description for the OpenAPI document
    schema.__doc__ = None if doc.startswith(f"{dc.__name__}(") else doc or None
    _cache[key] = schema
    return schema


def _from_api(value: Any, hint: Any, path: str, f: dataclasses.Field | None) -> Any:
    inner, optional = _strip(hint)
    if value is None and optional:
        return None
    if _is_fen(inner):
        blank = f.default if f is not None and isinstance(f.default, int) else ...
        return api_fen(value, path) if blank is ... else api_fen(value, path, blank=blank)
    if dataclasses.is_dataclass(inner):
        return to_service(value, inner, path=path)
    if get_origin(inner) is list:
        item = get_args(inner)[0]
        return [_from_api(v, item, f"{path}[{n}]", None) for n, v in enumerate(value)]
    return value


def to_service(payload: Any, dc: type, *, path: str = "", **overrides: Any):
    """The service dataclass `dc` from a parsed payload (a schema instance or a dict); `overrides` win."""
    data = payload.model_dump() if hasattr(payload, "model_dump") else dict(payload)
    hints = get_type_hints(dc, include_extras=True)
    kwargs = {}
    for f in dataclasses.fields(dc):
        if not f.init or f.name not in data or f.name in overrides:
            continue
        kwargs[f.name] = _from_api(data[f.name], hints[f.name], f"{path}.{f.name}" if path else f.name, f)
    return dc(**kwargs, **overrides)
