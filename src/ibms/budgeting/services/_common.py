"""What the budgeting services share: to-do kinds, the round and submission locks, the prepare/round to-dos,
document checks."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse

from ibms.core import audit, workflow
from ibms.core.errors import Conflict, ValidationFailed, Violation
from ibms.core.scoping import VIEW, get_in_scope, scope_of
from ibms.masterdata.models import Unit, ValueSetItem
from ibms.masterdata.selectors import region_chain

from ..models import BudgetRound, ReplyDeadline, Submission, Version
from ..setup import DEPT_SUBMISSION_DOC, UNIT_SUBMISSION_DOC

Stage = BudgetRound.Stage
PREPARE_DOC = "budget_prepare"  # to-do: a unit/department prepares (or corrects) its submission
ROUND_DOC = "budget_round"  # to-do: finance's next step on a round
UNIT_REPLY_DOC = "budget_unit_reply"  # to-do: a department replies to its units
VERSION_LABEL = dict(Version.choices)


def _step(name: str, role: str, holder: str) -> workflow.Step:
    return workflow.Step(0, name, role, holder)


def _round_url(rnd: BudgetRound) -> str:
    return reverse("budgeting:round", args=[rnd.pk])


def _workbench_url(rnd: BudgetRound, department_id: int) -> str:
    return reverse("budgeting:workbench", args=[rnd.pk, department_id])


def _department_of(unit: Unit) -> Unit:
    return unit if unit.parent_id is None else (unit.department or unit.parent)


def _is_finance(actor) -> bool:
    scope = scope_of(actor)
    return not scope.unit_path


def _lock_round(actor, round_id: int, action: str = VIEW) -> BudgetRound:
    return get_in_scope(BudgetRound.objects.select_for_update(), actor, action, what="预算编制", pk=round_id)


def _refresh_round(rnd: BudgetRound) -> BudgetRound:
    return BudgetRound.objects.get(pk=rnd.pk)


def _submission(rnd: BudgetRound, version: str, unit: Unit, *, lock: bool = False) -> Submission:
    qs = Submission.objects.select_for_update() if lock else Submission.objects
    sub = qs.filter(round=rnd, version=version, unit=unit).first()
    if sub is None:
        sub = Submission.objects.create(round=rnd, version=version, region_code=rnd.region_code, unit=unit,
                                        unit_path=unit.path, is_department=unit.parent_id is None)
        audit.record_change(sub, "create")
        if lock:
            sub = Submission.objects.select_for_update().get(pk=sub.pk)
    return sub


def _lock_all_submissions(rnd: BudgetRound) -> list[Submission]:
    return list(Submission.objects.select_for_update().filter(round=rnd).order_by("pk"))


def _departments(region_code: str) -> list[Unit]:
    return list(Unit.objects.filter(region_code=region_code, parent__isnull=True, is_active=True).order_by("code"))


def _units(region_code: str) -> list[Unit]:
    return list(Unit.objects.filter(region_code=region_code, parent__isnull=False, is_active=True).order_by("path"))


def _open_prepare_todos(rnd: BudgetRound, version: str) -> None:
    """A submission row and a to-do for every department and unit of the region."""
    label = VERSION_LABEL[version]
    for unit in [*_departments(rnd.region_code), *_units(rnd.region_code)]:
        sub = _submission(rnd, version, unit)
        dept = _department_of(unit)
        if unit.parent_id is None:
            step, title = _step("部门编报", "dept_clerk", "department"), f"{rnd.name}：汇总报送本部门{label}预算"
        else:
            step, title = _step("单位编报", "unit_clerk", "unit"), f"{rnd.name}：编报本单位{label}预算"
        workflow.todo_open(doc_type=PREPARE_DOC, obj=sub, title=title, url=_workbench_url(rnd, dept.pk), step=step,
                           region_code=rnd.region_code, unit_path=unit.path)


def _close_version_todos(rnd: BudgetRound, version: str, actor) -> None:
    """The version is closed: whatever was still to prepare or review in it is done."""
    for sub in Submission.objects.filter(round=rnd, version=version):
        for doc_type in (PREPARE_DOC, UNIT_SUBMISSION_DOC, DEPT_SUBMISSION_DOC):
            workflow.todo_close(doc_type=doc_type, obj=sub, user=actor)


def _round_todo(rnd: BudgetRound, title: str) -> None:
    workflow.todo_close(doc_type=ROUND_DOC, obj=rnd, user=None)
    workflow.todo_open(doc_type=ROUND_DOC, obj=rnd, title=f"{rnd.name}：{title}", url=_round_url(rnd),
                       step=_step("预算处", "budget_division", "finance"), region_code=rnd.region_code)


def _deadline(region_code: str, level: str) -> int | None:
    chain = region_chain(region_code)
    rows = {d.region_code: d.days for d in ReplyDeadline.objects.filter(level=level, region_code__in=chain)}
    best = max(rows, key=len, default=None)
    return rows[best] if best is not None else None


def _value_set_codes(value_set: str, year: int) -> set[str]:
    return set(ValueSetItem.objects.filter(value_set__code=value_set, fiscal_year=year, is_active=True)
               .values_list("code", flat=True))


def _require_doc(doc_no: str, doc_date: dt.date | None, *, what: str, date_field: str) -> str:
    """A document's number and date are both required; returns the stripped number."""
    doc_no = (doc_no or "").strip()
    problems = []
    if not doc_no:
        problems.append(Violation("doc_no_required", f"请填写{what}文号", "doc_no"))
    if doc_date is None:
        problems.append(Violation("date_required", f"请填写{what}日期", date_field))
    if problems:
        raise ValidationFailed(problems)
    return doc_no


def _open_version_or_fail(rnd: BudgetRound) -> str:
    version = rnd.open_version
    if version is None:
        raise Conflict("wrong_stage", f"当前阶段“{rnd.get_stage_display()}”不能编报或报送预算")
    return version
