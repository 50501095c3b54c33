"""Reads of the project library: the list pages' from `Project.objects.permitted(user)` (403 without the view
permission), one project from `get_in_scope`, the rest from `Project.objects.restrict(user, action)`."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet

from ibms.core import workflow
from ibms.core.models import ChangeLog
from ibms.core.scoping import CHANGE, VIEW, get_in_scope
from ibms.masterdata.models import ExpenditureStandard, Unit, ValueSetItem
from ibms.masterdata.selectors import region_chain

from . import domain
from .models import (
    Attachment,
    CostLine,
    PerformanceTarget,
    ProcurementNeed,
    Project,
    ProjectYearPlan,
    ReviewRecord,
)
from .setup import PROJECT_DOC

S = Project.Status
BUDGETABLE = (S.IN_LIBRARY, S.IN_BUDGET, S.EXECUTING)
RANKABLE = (S.DRAFT, S.SUBMITTED, S.DEPT_REVIEWED, S.FINANCE_REVIEWED, S.IN_LIBRARY, S.IN_BUDGET)


def budgetable_projects(user, year: int, *, strict: bool = False) -> QuerySet[Project]:
    """Library projects the user may see that can carry a budget for `year`: in the library, in the budget or
    executing, with a period covering the year. Year plans are prefetched (`plan_amount` reads them).
    `strict`: refuse (403) a user without the view permission (the endpoint); budgeting's services, reading on
    behalf of users who may lack it, get an empty list instead."""
    return ((Project.objects.permitted(user) if strict else Project.objects.restrict(user, VIEW))
            .filter(status__in=BUDGETABLE, start_year__lte=year, end_year__gte=year)
            .select_related("unit", "department")
            .prefetch_related(Prefetch("year_plans", queryset=ProjectYearPlan.objects.order_by("year")))
            .order_by("region_code", "department__code", "priority", "code"))


def project_list(user, *, status: str = "", category: str = "", department_id: int | None = None,
                 year: int | None = None, q: str = "", unit_id: int | None = None) -> QuerySet[Project]:
    qs = Project.objects.permitted(user).select_related("unit", "department")
    if status:
        qs = qs.filter(status=status)
    if category:
        qs = qs.filter(category=category)
    if department_id:
        qs = qs.filter(department_id=department_id)
    if unit_id:
        qs = qs.filter(unit_id=unit_id)
    if year:
        qs = qs.filter(start_year__lte=year, end_year__gte=year)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(code__startswith=q))
    return qs.order_by("region_code", "department__code", "priority", "code")


def project_get(user, pk: int, action: str = VIEW) -> Project:
    qs = (Project.objects.select_related("unit", "department", "parent", "submitted_by")
          .prefetch_related(
              Prefetch("year_plans", queryset=ProjectYearPlan.objects.order_by("year")),
              Prefetch("cost_lines", queryset=CostLine.objects.select_related("standard").order_by("year", "seq")),
              Prefetch("performance_targets", queryset=PerformanceTarget.objects.order_by("kind", "id")),
              Prefetch("procurement_needs", queryset=ProcurementNeed.objects.order_by("kind", "id")),
              Prefetch("attachments", queryset=Attachment.objects.order_by("id")),
              Prefetch("reviews", queryset=ReviewRecord.objects.order_by("id"))))
    return get_in_scope(qs, user, action, what="项目", pk=pk)


def project_current_step(p: Project) -> workflow.Step | None:
    """The step of the approval chain a project under review waits at."""
    if p.status not in domain.REVIEW_STATUSES or not p.review_step:
        return None
    steps = workflow.approval_steps(PROJECT_DOC, p.region_code)
    return steps[min(p.review_step, len(steps)) - 1] if steps else None


def project_can_change(user, project: Project) -> bool:
    return (user.has_perm("projects.change_project")
            and Project.objects.restrict(user, CHANGE).filter(pk=project.pk).exists())


def project_history(project: Project, limit: int = 50) -> list[ChangeLog]:
    """The project's own change log and its parts', newest first."""
    parts = Q(object_type="projects.project", object_id=str(project.pk))
    for model, rel in ((ProjectYearPlan, "year_plans"), (CostLine, "cost_lines"),
                       (PerformanceTarget, "performance_targets"), (ProcurementNeed, "procurement_needs"),
                       (Attachment, "attachments")):
        ids = [str(pk) for pk in getattr(project, rel).values_list("pk", flat=True)]
        if ids:
            parts |= Q(object_type=model._meta.label_lower, object_id__in=ids)
    return list(ChangeLog.objects.filter(parts).order_by("-id")[:limit])


def project_rank_list(user, department_id: int) -> tuple[Unit, list[Project]]:
    department = get_in_scope(Unit.objects, user, VIEW, what="主管部门", pk=department_id)
    rows = list(Project.objects.restrict(user, VIEW).filter(department=department, status__in=RANKABLE)
                .select_related("unit").order_by("priority", "code"))
    return department, rows


def department_list(user) -> QuerySet[Unit]:
    """Departments (first-level units) the user can see in their own region."""
    return (Unit.objects.restrict(user, VIEW).filter(parent__isnull=True, region_code=getattr(user, "region_code", ""))
            .order_by("code"))


def unit_writable_list(user) -> QuerySet[Unit]:
    """Units the user may enter projects for: their own unit subtree (unit and department staff)."""
    return Unit.objects.restrict(user, VIEW).filter(region_code=getattr(user, "region_code", ""), is_active=True) \
        .order_by("code")


def project_parent_candidates(user, department_id: int | None = None) -> QuerySet[Project]:
    """一级 projects a 二级 may hang under: those in scope, and for unit staff also their department's own
    一级 projects (policy projects are there for the department's units to implement)."""
    visible = Q(pk__in=Project.objects.restrict(user, VIEW).values("pk"))
    unit_path = getattr(user, "unit_path", "") or ""
    if unit_path:
        dept_path = "/" + unit_path.strip("/").split("/")[0] + "/"
        visible |= Q(region_code=getattr(user, "region_code", ""), unit_path=dept_path)
    qs = Project.objects.filter(visible, level=1).exclude(status__in=(S.CLOSED, S.TERMINATED))
    if department_id:
        qs = qs.filter(department_id=department_id)
    return qs.order_by("code")


def standard_list(region_code: str) -> QuerySet[ExpenditureStandard]:
    return ExpenditureStandard.objects.filter(region_code__in=region_chain(region_code)).order_by("code",
                                                                                                  "-fiscal_year")


def value_set_leaves(value_set: str, year: int, region_code: str = "") -> list[tuple[str, str]]:
    """(code, name) of the active leaf codes of a value set for a year, national and the region chain's."""
    regions = region_chain(region_code) if region_code else [""]
    rows = (ValueSetItem.objects.filter(value_set__code=value_set, fiscal_year=year, region_code__in=regions,
                                        is_active=True, is_leaf=True).order_by("code").values_list("code", "name"))
    return list(dict(rows).items())


def project_problems() -> list[str]:
    """`ibms verify`: every project's total equals the sum of its year plans, and its code is 21 digits that
    start with its region's 6 digits."""
    from django.db.models import F, Sum, Value
    from django.db.models.functions import Coalesce, Length, Substr

    problems = []
    bad_total = (Project._base_manager.annotate(plans=Coalesce(Sum("year_plans__amount"), Value(0)))
                 .exclude(total_amount=F("plans")).values_list("code", "total_amount", "plans")[:100])
    problems += [f"project {c}: total {t} != sum of year plans {s}" for c, t, s in bad_total]
    bad_code = (Project._base_manager.annotate(n=Length("code"), head=Substr("region_code", 1, 6))
                .filter(~Q(n=21) | ~Q(code__startswith=F("head"))).values_list("code", flat=True)[:100])
    problems += [f"project {c}: code is not 21 characters starting with its region" for c in bad_code]
    return problems
