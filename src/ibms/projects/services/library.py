"""The library's order and the status moves budgeting makes: ranking within a department, 纳入预算 and 执行."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from ibms.core import audit
from ibms.core.errors import Conflict, NotFound, invalid
from ibms.core.scoping import CHANGE, VIEW, get_in_scope, require_perm
from ibms.core.transactions import in_callers_transaction
from ibms.masterdata.models import Unit

from ..models import Project, ReviewRecord
from ..selectors import RANKABLE
from ._common import S


def _bulk_move(project_ids: list[int], *, to: str, allowed_from: set[str], done: set[str], action: str,
               event: str, error_code: str, error_message: str) -> list[Project]:
    with transaction.atomic():
        projects = list(Project.objects.select_for_update().filter(pk__in=set(project_ids)).order_by("pk"))
        missing = set(project_ids) - {p.pk for p in projects}
        if missing:
            raise NotFound("项目")
        bad = [p for p in projects if p.status not in allowed_from | done]
        if bad:
            raise Conflict(error_code, error_message.format(codes="、".join(p.code for p in bad[:5])),
                           {"codes": [p.code for p in bad]})
        moving = [p for p in projects if p.status in allowed_from]
        if not moving:
            return []
        before = audit.snapshot_rows(Project, [p.pk for p in moving])
        from_status = {p.pk: p.status for p in moving}
        Project.objects.filter(pk__in=[p.pk for p in moving]).update(status=to, updated_at=timezone.now())
        for p in moving:
            p.status = to
        audit.record_changes(moving, "update", before)
        records = [ReviewRecord(project=p, region_code=p.region_code, action=action, from_status=from_status[p.pk],
                                to_status=to, actor_name="系统") for p in moving]
        ReviewRecord.objects.bulk_create(records)
        audit.record_changes(records, "create")
        for region in sorted({p.region_code for p in moving}):
            codes = [p.code for p in moving if p.region_code == region]
            audit.record_event(f"projects.{event}", region_code=region, message=f"{len(codes)} 个项目",
                               payload={"codes": codes[:1000], "count": len(codes)})
        return moving


@in_callers_transaction
def projects_enter_budget(*, project_ids: list[int]) -> list[Project]:
    """纳入预算: library projects move to in_budget. Runs inside the caller's transaction (savepoint);
    idempotent (projects already in the budget or executing are left as they are); a project not in the
    library refuses the whole call."""
    return _bulk_move(project_ids, to=S.IN_BUDGET, allowed_from={S.IN_LIBRARY}, done={S.IN_BUDGET, S.EXECUTING},
                      action=ReviewRecord.Action.ENTER_BUDGET, event="projects_entered_budget",
                      error_code="project_not_in_library", error_message="项目未入库，不能纳入预算：{codes}")


@in_callers_transaction
def projects_start_execution(*, project_ids: list[int]) -> list[Project]:
    """批复 → 执行: library or budgeted projects move to executing. Inside the caller's transaction; idempotent."""
    return _bulk_move(project_ids, to=S.EXECUTING, allowed_from={S.IN_LIBRARY, S.IN_BUDGET}, done={S.EXECUTING},
                      action=ReviewRecord.Action.EXECUTE, event="projects_started_execution",
                      error_code="project_not_budgetable", error_message="项目未入库或已结项，不能执行：{codes}")


def project_rank(*, actor, department_id: int, ordered_ids: list[int]) -> int:
    """排序: the given projects take priorities 1..n in that order; the department's other rankable projects
    follow in their previous order. Returns how many priorities changed."""
    require_perm(actor, "projects.rank_project")
    if len(set(ordered_ids)) != len(ordered_ids):
        raise invalid("duplicate_ids", "排序列表中有重复的项目", "ordered_ids")
    with transaction.atomic(durable=True):
        department = get_in_scope(Unit.objects, actor, VIEW, what="主管部门", pk=department_id)
        if department.parent_id is not None:
            raise invalid("not_department", "只能在主管部门内排序", "department")
        qs = (Project.objects.restrict(actor, CHANGE).select_for_update()
              .filter(department=department, status__in=RANKABLE).order_by("priority", "code"))
        rows = list(qs)
        by_id = {p.pk: p for p in rows}
        unknown = [i for i in ordered_ids if i not in by_id]
        if unknown:
            raise invalid("rank_unknown", "排序列表中有不属于本部门或不可排序的项目", "ordered_ids")
        order = [by_id[i] for i in ordered_ids] + [p for p in rows if p.pk not in set(ordered_ids)]
        changed = [p for n, p in enumerate(order, 1) if p.priority != n]
        if not changed:
            return 0
        before = audit.snapshot_rows(Project, [p.pk for p in changed])
        for n, p in enumerate(order, 1):
            if p.priority != n:
                p.priority = n
                Project.objects.filter(pk=p.pk).update(priority=n)
        audit.record_changes(changed, "update", before)
        audit.record_event("projects.projects_ranked", region_code=department.region_code, obj=department,
                           message=f"{department.name} 项目排序", payload={"order": [p.code for p in order[:500]]})
        return len(changed)
