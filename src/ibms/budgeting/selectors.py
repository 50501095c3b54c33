"""Reads of budget preparation: rounds, the department overview, the workbench lines, ceilings and their use,
the version comparison (一上 / 二上 / 批复), replies. A list of the pages and endpoints starts from
`Model.objects.permitted(actor)` (403 without the view permission), one row from `get_in_scope`; the round page's
panels and the workbench from `restrict(actor)` (empty instead). The unscoped helpers (`fund_totals`,
`ceiling_uses`, `code_names`) serve the services and callers that have already scoped the round and department."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db import models
from django.db.models import IntegerField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from ibms.core.errors import NotFound
from ibms.core.reports import MONEY, TEXT, ReportColumn, ReportTable
from ibms.core.scoping import VIEW, get_in_scope, scope_of
from ibms.masterdata.models import Unit, ValueSetItem
from ibms.projects.selectors import budgetable_projects

from . import domain
from .models import BudgetLine, BudgetRound, Ceiling, Reply, Submission, Version

VERSIONS = [Version.FIRST_UP, Version.SECOND_UP, Version.REPLY]


def round_list(*, actor, year: int | None = None, stage: str = ""):
    qs = BudgetRound.objects.permitted(actor)
    if year:
        qs = qs.filter(year=year)
    if stage:
        qs = qs.filter(stage=stage)
    return qs.order_by("-year", "region_code")


def round_get(*, actor, pk: int, reading: type[models.Model] | None = None) -> BudgetRound:
    """One round in scope (403 without its view permission, 404 outside scope). `reading`: the model of the round's
    rows the caller goes on to list (its lines, submissions, ceilings, replies) — a user without that model's view
    permission is refused (403) before the round is looked up, so an out-of-scope round tells them nothing."""
    if reading is not None:
        reading.objects.permitted(actor)
    return get_in_scope(BudgetRound.objects, actor, VIEW, what="预算编制", pk=pk)


def department_list(*, actor, rnd: BudgetRound) -> list[Unit]:
    """The departments of the round's region the actor may see (its own department for department/unit staff)."""
    qs = Unit.objects.restrict(actor, VIEW).filter(region_code=rnd.region_code, parent__isnull=True)
    path = scope_of(actor).unit_path
    if path:
        # a unit's staff see their department's row (their own lines inside it), never their siblings'
        top = "/" + path.strip("/").split("/")[0] + "/"
        qs = Unit.objects.filter(region_code=rnd.region_code, path=top)
    return list(qs.order_by("code"))


def version_totals(*, actor, rnd: BudgetRound) -> dict[tuple[int, str, str], int]:
    """(department id, version, direction) → amount, within the actor's scope."""
    rows = (BudgetLine.objects.restrict(actor, VIEW).filter(round=rnd)
            .values_list("department_id", "version", "direction").annotate(s=Sum("amount")))
    return {(d, v, dr): s for d, v, dr, s in rows}


@dataclass
class DepartmentRow:
    department: Unit
    submissions: dict[str, Submission | None]
    totals: dict[str, int]  # version → expenditure
    revenue: dict[str, int]
    ceiling: int
    reply: Reply | None = None


def department_overview(*, actor, rnd: BudgetRound) -> list[DepartmentRow]:
    depts = department_list(actor=actor, rnd=rnd)
    ids = [d.pk for d in depts]
    subs = {(s.unit_id, s.version): s for s in Submission.objects.filter(round=rnd, unit_id__in=ids)}
    totals = version_totals(actor=actor, rnd=rnd)
    ceilings = dict(Ceiling.objects.filter(round=rnd, department_id__in=ids).values_list("department_id")
                    .annotate(s=Sum("amount")).values_list("department_id", "s"))
    replies = {r.unit_id: r for r in Reply.objects.filter(round=rnd, level=Reply.Level.DEPARTMENT, unit_id__in=ids)}
    out = []
    for d in depts:
        out.append(DepartmentRow(
            department=d, submissions={v: subs.get((d.pk, v)) for v in (Version.FIRST_UP, Version.SECOND_UP)},
            totals={v: totals.get((d.pk, v, BudgetLine.Direction.EXPENDITURE), 0) for v in VERSIONS},
            revenue={v: totals.get((d.pk, v, BudgetLine.Direction.REVENUE), 0) for v in VERSIONS},
            ceiling=ceilings.get(d.pk, 0), reply=replies.get(d.pk)))
    return out


@dataclass
class UnitLines:
    unit: Unit
    lines: list[BudgetLine] = field(default_factory=list)
    submission: Submission | None = None

    @property
    def expenditure(self) -> int:
        return sum(ln.amount for ln in self.lines if ln.direction == BudgetLine.Direction.EXPENDITURE)

    @property
    def revenue(self) -> int:
        return sum(ln.amount for ln in self.lines if ln.direction == BudgetLine.Direction.REVENUE)


def workbench(*, actor, rnd: BudgetRound, department: Unit, version: str) -> list[UnitLines]:
    """The department's units (within the actor's scope) with their lines of one version."""
    units = list(Unit.objects.restrict(actor, VIEW).filter(region_code=rnd.region_code,
                                                           path__startswith=department.path).order_by("path"))
    subs = {s.unit_id: s for s in Submission.objects.filter(round=rnd, version=version, unit__in=units)}
    groups = {u.pk: UnitLines(u, submission=subs.get(u.pk)) for u in units}
    lines = (BudgetLine.objects.restrict(actor, VIEW).filter(round=rnd, version=version, department=department)
             .select_related("project", "unit").order_by("unit_path", "direction", "exp_kind", "id"))
    for ln in lines:
        if ln.unit_id in groups:
            groups[ln.unit_id].lines.append(ln)
    return list(groups.values())


def department_get(*, actor, rnd: BudgetRound, department_id: int) -> Unit:
    for d in department_list(actor=actor, rnd=rnd):
        if d.pk == department_id:
            return d
    raise NotFound("主管部门")


def department_submission(*, rnd: BudgetRound, version: str, department: Unit) -> Submission | None:
    return Submission.objects.filter(round=rnd, version=version, unit=department).first()


def submission_list(*, actor, rnd: BudgetRound, version: str = ""):
    qs = Submission.objects.permitted(actor).filter(round=rnd).select_related("unit")
    if version:
        qs = qs.filter(version=version)
    return qs.order_by("version", "unit_path")


def submission_get(*, actor, rnd: BudgetRound, pk: int) -> Submission:
    return get_in_scope(Submission.objects, actor, VIEW, what="预算报送", pk=pk, round=rnd)


def round_line_list(*, actor, rnd: BudgetRound, version: str, department_id: int | None = None,
                    unit_id: int | None = None, direction: str = ""):
    """The lines of one version of a round, filtered by department, unit and direction."""
    qs = line_list(actor=actor).filter(round=rnd, version=version)
    if department_id:
        qs = qs.filter(department_id=department_id)
    if unit_id:
        qs = qs.filter(unit_id=unit_id)
    if direction:
        qs = qs.filter(direction=direction)
    return qs


def line_get(*, actor, pk: int, action: str = VIEW) -> BudgetLine:
    return get_in_scope(BudgetLine.objects.select_related("round", "unit", "project"), actor, action,
                        what="预算明细", pk=pk)


def line_form_choices(*, actor, rnd: BudgetRound, department: Unit) -> tuple[list[Unit], QuerySet]:
    """What a line of the department may be entered for: its units in scope, the budgetable projects."""
    units = list(Unit.objects.restrict(actor, VIEW).filter(region_code=rnd.region_code,
                                                           path__startswith=department.path).order_by("path"))
    projects = (budgetable_projects(actor, rnd.year).filter(region_code=rnd.region_code,
                                                            unit_path__startswith=department.path)
                .select_related("unit").order_by("unit_path", "category", "code"))
    return units, projects


def value_set_choices(value_set: str, year: int, *, leaves_only: bool = True) -> list[tuple[str, str]]:
    qs = ValueSetItem.objects.filter(value_set__code=value_set, fiscal_year=year, is_active=True, region_code="")
    if leaves_only:
        qs = qs.filter(is_leaf=True)
    return [(i.code, f"{i.code} {i.name}") for i in qs.order_by("code")]


def code_names(value_set: str, year: int) -> dict[str, str]:
    return dict(ValueSetItem.objects.filter(value_set__code=value_set, fiscal_year=year)
                .values_list("code", "name"))


# --- ceilings -----------------------------------------------------------------------------------

def ceiling_list(*, actor, rnd: BudgetRound):
    return Ceiling.objects.permitted(actor).filter(round=rnd).select_related("department")


def fund_totals(rnd: BudgetRound, version: str, department: Unit) -> dict[str, int]:
    return dict(BudgetLine.objects.filter(round=rnd, version=version, department=department,
                                          direction=BudgetLine.Direction.EXPENDITURE)
                .values_list("fund_nature_code").annotate(s=Sum("amount")).values_list("fund_nature_code", "s"))


def ceiling_uses(rnd: BudgetRound, department: Unit, version: str = Version.SECOND_UP) -> list[domain.CeilingUse]:
    ceilings = dict(Ceiling.objects.filter(round=rnd, department=department)
                    .values_list("fund_nature_code", "amount"))
    return domain.ceiling_uses(fund_totals(rnd, version, department), ceilings, code_names("fund_type", rnd.year))


def ceiling_usage(*, actor, rnd: BudgetRound,
                  department_id: int | None = None) -> list[tuple[Unit, list[domain.CeilingUse]]]:
    """Per department in scope (or the one asked for), the use of each of its ceilings."""
    return [(d, ceiling_uses(rnd, d)) for d in department_list(actor=actor, rnd=rnd)
            if not department_id or d.pk == department_id]


# --- comparison ---------------------------------------------------------------------------------

KEY = ["department_id", "unit_id", "project_id", "direction", "revenue_code", "fund_nature_code", "exp_func_code",
       "dep_eco_code", "gov_eco_code", "sub_region_code"]


@dataclass
class CompareRow:
    level: str  # department | unit | line | total
    label: str
    department_id: int | None
    unit_id: int | None
    key: dict
    amounts: dict[str, int]

    @property
    def diff_second_first(self) -> int:
        return self.amounts[Version.SECOND_UP] - self.amounts[Version.FIRST_UP]

    @property
    def diff_reply_second(self) -> int:
        return self.amounts[Version.REPLY] - self.amounts[Version.SECOND_UP]


def comparison(*, actor, rnd: BudgetRound, department_id: int | None = None, unit_id: int | None = None,
               direction: str = BudgetLine.Direction.EXPENDITURE) -> list[CompareRow]:
    """Side by side 一上 / 二上 / 批复 on the same key (department → unit → project and classification), with
    subtotals per unit and department and a grand total. Differences are 二上−一上 and 批复−二上."""
    qs = BudgetLine.objects.permitted(actor).filter(round=rnd)
    if direction:
        qs = qs.filter(direction=direction)
    if department_id:
        qs = qs.filter(department_id=department_id)
    if unit_id:
        qs = qs.filter(unit_id=unit_id)
    zero = Value(0, output_field=IntegerField())
    sums = {v: Coalesce(Sum("amount", filter=Q(version=v)), zero) for v in VERSIONS}
    rows = list(qs.values(*KEY).annotate(**sums).order_by(*KEY))
    units = {u.pk: u for u in Unit.objects.filter(pk__in={r["unit_id"] for r in rows} | {r["department_id"]
                                                                                      for r in rows})}
    from ibms.projects.models import Project

    projects = {p.pk: p for p in Project.objects.filter(pk__in={r["project_id"] for r in rows if r["project_id"]})}
    by_dept: dict[int, dict[int, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        by_dept[r["department_id"]][r["unit_id"]].append(r)

    def amounts(items: list[dict]) -> dict[str, int]:
        return {v: sum(i[v] for i in items) for v in VERSIONS}

    out: list[CompareRow] = []
    for dept_id in sorted(by_dept, key=lambda i: units[i].path):
        dept_rows = [r for lst in by_dept[dept_id].values() for r in lst]
        d = units[dept_id]
        out.append(CompareRow("department", f"{d.code} {d.name}", dept_id, None, {}, amounts(dept_rows)))
        for unit_pk in sorted(by_dept[dept_id], key=lambda i: units[i].path):
            u = units[unit_pk]
            items = by_dept[dept_id][unit_pk]
            out.append(CompareRow("unit", f"{u.code} {u.name}", dept_id, unit_pk, {}, amounts(items)))
            for r in items:
                p = projects.get(r["project_id"])
                label = f"{p.code} {p.name}" if p else f"收入来源 {r['revenue_code']}"
                key = {k: r[k] for k in KEY}
                out.append(CompareRow("line", label, dept_id, unit_pk, key, {v: r[v] for v in VERSIONS}))
    out.append(CompareRow("total", "合计", None, None, {}, amounts(rows)))
    return out


def comparison_table(rows: list[CompareRow], *, title: str, subtitle: str = "") -> ReportTable:
    cols = [ReportColumn("部门 / 单位 / 项目", TEXT, 2.6), ReportColumn("资金性质", TEXT, 0.6),
            ReportColumn("功能分类", TEXT, 0.7), ReportColumn("部门经济分类", TEXT, 0.7),
            ReportColumn("政府经济分类", TEXT, 0.7), ReportColumn("一上", MONEY), ReportColumn("二上", MONEY),
            ReportColumn("批复", MONEY), ReportColumn("二上−一上", MONEY), ReportColumn("批复−二上", MONEY)]
    table = ReportTable(title, cols, subtitle=subtitle)
    for r in rows:
        indent = {"department": "", "unit": "　", "line": "　　", "total": ""}[r.level]
        k = r.key
        table.rows.append([indent + r.label, k.get("fund_nature_code", ""), k.get("exp_func_code", ""),
                           k.get("dep_eco_code", ""), k.get("gov_eco_code", ""), r.amounts[Version.FIRST_UP],
                           r.amounts[Version.SECOND_UP], r.amounts[Version.REPLY], r.diff_second_first,
                           r.diff_reply_second])
        if r.level in ("department", "total"):
            table.bold_rows.add(len(table.rows) - 1)
    return table


def line_list(*, actor):
    return (BudgetLine.objects.permitted(actor).select_related("round", "unit", "department", "project")
            .order_by("-round__year", "round", "version", "unit_path", "id"))


def reply_list(*, actor, rnd: BudgetRound | None = None, strict: bool = True):
    """Replies in scope, of one round or all. `strict=False` for the round page's panel: empty instead of 403."""
    qs = Reply.objects.permitted(actor) if strict else Reply.objects.restrict(actor, VIEW)
    if rnd is not None:
        qs = qs.filter(round=rnd)
    return (qs.select_related("round", "unit", "department")
            .order_by("-round__year", "round", "level", "unit_path"))


def verify_reply_indicators() -> list[str]:
    """`ibms verify`: every reply line linked to an indicator was created with exactly that line's amount, unit
    and project (later movements change the indicator, never its creation entry)."""
    from ibms.indicators.models import IndicatorEntry

    created = {e["indicator_id"]: e for e in IndicatorEntry.objects.filter(kind="create").values(
        "indicator_id", "d_amount", "indicator__unit_id", "indicator__project_id")}
    problems = []
    for ln in (BudgetLine.objects.filter(version=Version.REPLY, indicator__isnull=False)
               .values("id", "indicator_id", "amount", "unit_id", "project_id").iterator(chunk_size=5000)):
        e = created.get(ln["indicator_id"])
        if e is None or (e["d_amount"], e["indicator__unit_id"], e["indicator__project_id"]) != (
                ln["amount"], ln["unit_id"], ln["project_id"]):
            problems.append(f"budgeting_budgetline id={ln['id']}: indicator id={ln['indicator_id']} was not created "
                            f"from this reply line (amount, unit or project differ)")
    return problems
