"""The generic writers of resource rows: permission, scope, form validation, full_clean, save and audit in
one durable transaction. Every entity declared as a `Resource` is created, edited and imported here."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django import forms
from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction

from . import audit
from .errors import PermissionDenied, ValidationFailed, Violation
from .resources import Resource
from .scoping import CHANGE, check_write_scope, get_in_scope, require_perm
from .transactions import in_callers_transaction


def form_violations(form: forms.BaseForm) -> list[Violation]:
    out = []
    for name, errors in form.errors.get_json_data().items():
        label = form.fields[name].label if name in form.fields else ""
        for e in errors:
            msg = f"{label}：{e['message']}" if label else e["message"]
            out.append(Violation(e.get("code") or "invalid", msg, "" if name == "__all__" else name))
    return out


def build_form(resource: Resource, user, data: dict | None, instance=None, files=None) -> forms.ModelForm:
    return resource.form(data=data, files=files, instance=instance, user=user)


def _save(resource: Resource, user, form: forms.ModelForm, *, creating: bool):
    if not form.is_valid():
        raise ValidationFailed(form_violations(form))
    obj = form.save(commit=False)
    before = None if creating else audit.snapshot(obj)
    if resource.prepare:
        resource.prepare(obj, user)
    spec = getattr(resource.model, "scope_spec", None)
    unit = getattr(obj, "unit", None) if hasattr(obj, "unit_id") else None
    unit_path = unit.path if unit is not None else (getattr(obj, "path", None) if creating else None)
    region_code = getattr(obj, "write_region_code", None) or getattr(obj, "region_code", "")
    check_write_scope(user, region_code=region_code, unit_path=unit_path, spec=spec)
    try:
        obj.full_clean()
    except DjangoValidationError as exc:
        raise ValidationFailed([Violation(m.code or "invalid", m.message % (m.params or {}),
                                          "" if f == "__all__" else f)
                                for f, msgs in exc.error_dict.items() for m in msgs]) from exc
    obj.save()
    form.save_m2m()
    audit.record_change(obj, "create" if creating else "update", before)
    if resource.after_save:
        resource.after_save(obj, user, creating)
    return obj


def resource_create(*, actor, resource: Resource, data: dict, files=None):
    require_perm(actor, resource.perm("add"))
    with transaction.atomic(durable=True):
        return _save(resource, actor, build_form(resource, actor, data, files=files), creating=True)


def resource_update(*, actor, resource: Resource, pk, data: dict, files=None):
    require_perm(actor, resource.perm("change"))
    with transaction.atomic(durable=True):
        obj = get_in_scope(resource.model.objects.select_for_update(), actor, CHANGE, what=resource.title, pk=pk)
        return _save(resource, actor, build_form(resource, actor, data, instance=obj, files=files), creating=False)


@dataclass
class RowProblem:
    row: int
    column: str
    message: str
    code: str = "import_row"  # import_too_slow: the time budget ran out (nothing saved)


class ImportFailed(ValidationFailed):
    def __init__(self, problems: list[RowProblem]):
        super().__init__([Violation(p.code, f"第{p.row}行 {p.column}：{p.message}", p.column)
                          for p in problems[:50]], message="导入失败，未保存任何数据")
        self.code = "import_rejected"
        self.problems = problems
        self.detail = [{"row": p.row, "column": p.column, "message": p.message} for p in problems]


def _fill_blanks(resource: Resource, data: dict, instance) -> None:
    """A blank cell for a field with a default means the default (new row) or the current value (update), so a
    blank 启用 does not switch a row off and blank amounts are 0, not 'required'."""
    for key, value in data.items():
        if value != "":
            continue
        try:
            f = resource.model._meta.get_field(key)
        except FieldDoesNotExist:
            continue
        if not f.concrete or f.is_relation or not f.has_default():
            continue
        data[key] = f.value_from_object(instance) if instance is not None else f.get_default()


def import_headers(resource: Resource) -> dict[str, str]:
    return {c.key: c.header for c in resource.excel}


@in_callers_transaction
def import_row(actor, resource: Resource, row: dict, headers: dict[str, str]) -> tuple[str, list[RowProblem]]:
    """Save one parsed row (upsert on the natural key) in a savepoint of the caller's transaction:
    ("created" | "updated", []) or ("", its problems, the savepoint rolled back)."""
    data = {k: ("" if v is None else v) for k, v in row.items() if not k.startswith("_")}
    instance = None
    if resource.natural_key:
        key = {k: data.get(k) for k in resource.natural_key}
        instance = resource.model.objects.restrict(actor, CHANGE).filter(**key).first() if all(key.values()) else None
    _fill_blanks(resource, data, instance)
    at = row.get("_row", 0)
    try:
        with transaction.atomic():
            _save(resource, actor, build_form(resource, actor, data, instance=instance), creating=instance is None)
    except ValidationFailed as exc:
        return "", [RowProblem(at, headers.get(v.field, v.field or "整行"), v.message.split("：", 1)[-1])
                    for v in exc.violations]
    except PermissionDenied as exc:
        return "", [RowProblem(at, "整行", exc.message)]
    return ("updated" if instance else "created"), []


def resource_import(*, actor, resource: Resource, rows: list[dict], deadline: float | None = None) -> dict[str, int]:
    """All or nothing: every row is validated (and saved in order, so later rows may refer to earlier ones);
    any problem rolls the whole file back and reports every bad row and column. Past `deadline` (a
    `time.monotonic()` value) the file is rolled back and refused (`import_too_slow`), so a web worker never
    holds the database past its timeout. Large files go to a background job instead (`core.imports`)."""
    require_perm(actor, resource.perm("add"))
    headers = import_headers(resource)
    problems: list[RowProblem] = []
    counts = {"created": 0, "updated": 0}
    with transaction.atomic(durable=True):
        for done, row in enumerate(rows):
            if deadline is not None and time.monotonic() > deadline:
                raise ImportFailed([RowProblem(row.get("_row", 0), "整行", (
                    f"导入用时超过上限，已全部撤销（共 {len(rows)} 行，限时内只处理了 {done} 行），"
                    "请拆分为较小的文件分批导入"), "import_too_slow")])
            kind, bad = import_row(actor, resource, row, headers)
            if kind:
                counts[kind] += 1
            problems += bad
        if problems:
            raise ImportFailed(problems)
    return counts
