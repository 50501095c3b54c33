"""`ibms gen` stages of this app: (name, run(ctx), models written), collected by demo/generator.py.

The `projects` stage gives every generated unit about 35 library projects (chongqing: 18,000 units → ~628,000):
its 人员类 and 公用经费 projects for the generation year (amounts from its people and per-head rates), sometimes a
其他运转类 project, and 特定目标类 projects — a department's own are 一级 policy projects, its units' are 二级
projects under them — with 1–3-year periods and year plans. Deterministic from `ctx.rng("projects")`.

Each batch inserts projects and then their year plans (plans need the project ids) with the audit rows of both
in one transaction, like `ctx.insert` does for a single model. Project codes follow the library's format and
sequences (`project-code:<region6>:<yy>`); the counters are set once the stage has written its rows (a generated
province is new, so nothing else numbers in it meanwhile).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Q, Sum

from ibms.core import audit
from ibms.core.models import Sequence
from ibms.masterdata.models import Person, Unit

from . import domain
from .models import FunctionDefault, Project, ProjectYearPlan

PROJECTS_PER_UNIT = 35  # average, over all units of a scale
POLICY_PER_DEPARTMENT = (3, 6)
CONTRIBUTION_RATE = Decimal("0.447")  # the sum of the default employer rates of data/projects/basic_rules.csv
PER_HEAD = {"organ": 1_200_000, "institution": 900_000, "other": 900_000}  # fen per head and year (GY001/GY002)
TOPICS = ["设备购置", "信息化建设", "维修改造", "专项业务", "能力提升培训", "宣传教育", "课题研究", "绩效评价",
          "安全生产", "应急保障", "环境整治", "基础设施建设", "人才培养", "公共服务提升", "监督检查", "标准化建设",
          "数据治理", "档案数字化", "服务外包", "专用材料购置"]
POLICY_TOPICS = ["重点事业发展", "基本公共服务保障", "行业能力建设", "民生保障专项", "改革发展专项", "基础设施提升"]
SPECIFIC_ECO = ["30201", "30216", "30227", "31002", "30226", "30213", "31003", "30218", "30215"]
STATUSES = [(Project.Status.IN_LIBRARY, 72), (Project.Status.DRAFT, 8), (Project.Status.SUBMITTED, 6),
            (Project.Status.DEPT_REVIEWED, 5), (Project.Status.FINANCE_REVIEWED, 4), (Project.Status.CLOSED, 3),
            (Project.Status.TERMINATED, 2)]
REVIEW_STEP = {Project.Status.SUBMITTED: 1, Project.Status.DEPT_REVIEWED: 2, Project.Status.FINANCE_REVIEWED: 3}


def _func_default(rows: list[FunctionDefault], dept_name: str, unit_type: str) -> str:
    for f in rows:
        if not f.keyword or f.keyword in dept_name:
            return f.organ_func_code if unit_type == "organ" else f.institution_func_code
    return "2019999"


def _people_by_unit(prefix: str) -> dict[int, tuple[int, int, int]]:
    """unit id → (in-service headcount, in-service monthly salary total, retiree monthly total), one query."""
    monthly = Sum("basic_salary") + Sum("allowance") + Sum("bonus") + Sum("performance_pay")
    out: dict[int, list[int]] = {}
    rows = (Person.objects.filter(region_code__startswith=prefix, is_active=True)
            .values("unit_id", "status").annotate(n=Count("id"), m=monthly).order_by())
    for r in rows:
        slot = out.setdefault(r["unit_id"], [0, 0, 0])
        if r["status"] == Person.Status.IN_SERVICE:
            slot[0], slot[1] = r["n"], r["m"] or 0
        else:
            slot[2] = r["m"] or 0
    return {k: (v[0], v[1], v[2]) for k, v in out.items()}


class _Numbers:
    """Codes in the library's format, counted per (region, year) like `core.numbering` would."""

    def __init__(self) -> None:
        self.last: dict[str, int] = {}

    def code(self, region_code: str, year: int) -> str:
        key = domain.code_sequence_key(region_code, year)
        self.last[key] = self.last.get(key, 0) + 1
        return domain.project_code(region_code, year, self.last[key])

    def save(self) -> None:
        with transaction.atomic():
            for key, value in sorted(self.last.items()):
                seq, created = Sequence.objects.select_for_update().get_or_create(key=key,
                                                                                  defaults={"last_value": value})
                if not created and seq.last_value < value:
                    Sequence.objects.filter(pk=seq.pk).update(last_value=value)


def _plans(rng: random.Random, start: int, end: int, low: int, high: int) -> list[tuple[int, int]]:
    base = rng.randint(low, high)
    return [(y, base * rng.randint(70, 130) // 100 // 100 * 100) for y in range(start, end + 1)]


def _insert(ctx, batches: Iterator[list[tuple[Project, list[tuple[int, int]]]]], total: int) -> None:
    """Projects and their year plans, each batch with its audit rows in one transaction."""
    with ctx.bar("项目", total) as bar:
        for batch in batches:
            with transaction.atomic():
                projects = [p for p, _ in batch]
                Project.objects.bulk_create(projects)
                plans = [ProjectYearPlan(project_id=p.pk, region_code=p.region_code, year=y, amount=a)
                         for p, pl in batch for y, a in pl]
                ProjectYearPlan.objects.bulk_create(plans)
                audit.record_changes(projects, "create")
                audit.record_changes(plans, "create")
            bar.update(len(projects))
            ctx.counts["project"] = ctx.counts.get("project", 0) + len(projects)
            ctx.counts["projectyearplan"] = ctx.counts.get("projectyearplan", 0) + len(plans)


def stage_projects(ctx) -> None:
    rng = ctx.rng("projects")
    year = ctx.year
    numbers = _Numbers()
    func_rows = sorted(FunctionDefault.objects.filter(region_code=""), key=lambda f: f.seq)
    people = _people_by_unit(ctx.prefix)
    units: list[Unit] = ctx.units
    depts = {u.pk: u for u in units if u.parent_id is None}
    children: dict[str, list[str]] = {}
    for r in ctx.regions:
        if r.parent_id:
            children.setdefault(r.path.strip("/").split("/")[-2], []).append(r.code)
    priority: dict[int, int] = {}
    status_values, status_weights = zip(*STATUSES, strict=True)
    summary: dict[int, dict[str, int]] = {}

    def new(unit: Unit, dept: Unit, **kw) -> Project:
        priority[dept.pk] = priority.get(dept.pk, 0) + 1
        start = kw.pop("start", year)
        p = Project(region_code=unit.region_code, code=numbers.code(unit.region_code, start), year=start, unit=unit,
                    department=dept, unit_path=unit.path, start_year=start, priority=priority[dept.pk], **kw)
        if p.status in (Project.Status.IN_LIBRARY, Project.Status.CLOSED, Project.Status.TERMINATED):
            p.admitted_at = dt.datetime(start - 1, 11, 30, tzinfo=dt.UTC)  # 储备 the autumn before (deterministic)
        p.review_step = REVIEW_STEP.get(p.status, 0)
        return p

    # 1. the departments' 一级 policy projects (kept: their ids are the 二级 projects' parents)
    policy: dict[int, list[int]] = {}
    first: list[tuple[Project, list[tuple[int, int]]]] = []
    for dept in depts.values():
        func = _func_default(func_rows, dept.name, "institution")
        for _ in range(rng.randint(*POLICY_PER_DEPARTMENT)):
            start = rng.choice((year - 1, year, year, year + 1))
            end = start + rng.randint(1, 2)
            plans = _plans(rng, start, end, 5_000_000_00, 50_000_000_00)
            p = new(dept, dept, start=start, name=f"{dept.name}{rng.choice(POLICY_TOPICS)}", category=domain.SPECIFIC,
                    level=1, end_year=end, fund_nature_code="111", exp_func_code=func, dep_eco_code="30227",
                    status=Project.Status.IN_LIBRARY, total_amount=sum(a for _, a in plans))
            first.append((p, plans))
    _insert(ctx, iter([first[i:i + ctx.batch_size] for i in range(0, len(first), ctx.batch_size)]), len(first))
    for p, _ in first:
        policy.setdefault(p.department_id, []).append(p.pk)

    # 2. every unit's basic and specific projects
    n_units = len(units)
    remaining = ctx.scale.units * PROJECTS_PER_UNIT - len(first)
    per_unit = [remaining // n_units + (1 if i < remaining % n_units else 0) for i in range(n_units)]

    def rows() -> Iterator[tuple[Project, list[tuple[int, int]]]]:
        for unit, n in zip(units, per_unit, strict=True):
            dept = depts.get(unit.department_id) or unit
            func = _func_default(func_rows, dept.name, unit.unit_type)
            head, monthly, retiree = people.get(unit.pk, (0, 0, 0))
            made = 0
            personnel = monthly * 12
            personnel += int((Decimal(personnel) * CONTRIBUTION_RATE).quantize(Decimal(1))) + retiree * 12
            operating = PER_HEAD.get(unit.unit_type, PER_HEAD["other"]) * head
            sums = summary.setdefault(unit.pk, {})
            for category, label, amount, eco in ((domain.PERSONNEL, "人员经费", personnel, "30101"),
                                                 (domain.PUBLIC, "公用经费", operating, "30299")):
                if amount <= 0 or made >= n:
                    continue
                made += 1
                sums[category] = sums.get(category, 0) + amount
                yield new(unit, dept, name=f"{unit.name}{year}年{label}", category=category, level=1, end_year=year,
                          fund_nature_code="111", exp_func_code=func, dep_eco_code=eco,
                          status=Project.Status.IN_LIBRARY, total_amount=amount,
                          origin=Project.Origin.GENERATED), [(year, amount)]
            if made < n and rng.random() < 0.3:
                made += 1
                plans = [(year, rng.randint(50_000, 800_000) * 100)]
                sums[domain.OTHER_OPERATING] = sums.get(domain.OTHER_OPERATING, 0) + plans[0][1]
                yield new(unit, dept, name=f"{unit.name}设施设备运行维护", category=domain.OTHER_OPERATING, level=1,
                          end_year=year, fund_nature_code="111", exp_func_code=func, dep_eco_code="30213",
                          status=Project.Status.IN_LIBRARY, total_amount=plans[0][1],
                          origin=Project.Origin.GENERATED), plans
            parents = policy.get(dept.pk, [])
            for _ in range(n - made):
                start = rng.choice((year - 2, year - 1, year - 1, year, year, year, year + 1))
                end = min(start + rng.choice((0, 0, 1, 1, 2)), year + 3)
                plans = _plans(rng, start, end, 20_000_00, rng.choice((300_000_00, 1_000_000_00, 5_000_000_00)))
                status = rng.choices(status_values, weights=status_weights)[0]
                eco = rng.choice(SPECIFIC_ECO)
                level2 = unit.pk != dept.pk and bool(parents)
                transfer = (unit.region_code in children and unit.pk == dept.pk and rng.random() < 0.05)
                if status in (Project.Status.IN_LIBRARY,) and start <= year <= end:
                    sums[domain.SPECIFIC] = sums.get(domain.SPECIFIC, 0) + dict(plans).get(year, 0)
                yield new(unit, dept, start=start, name=f"{unit.name}{rng.choice(TOPICS)}项目",
                          category=domain.SPECIFIC, level=2 if level2 else 1,
                          parent_id=rng.choice(parents) if level2 else None, end_year=end,
                          fund_nature_code="121" if rng.random() < 0.05 else "111", exp_func_code=func,
                          dep_eco_code=eco, is_gov_pur=eco.startswith("310") or rng.random() < 0.15,
                          is_transfer=transfer,
                          transfer_region_code=rng.choice(children[unit.region_code]) if transfer else "",
                          status=status, total_amount=sum(a for _, a in plans)), plans

    def batches() -> Iterator[list]:
        chunk: list = []
        for item in rows():
            chunk.append(item)
            if len(chunk) >= ctx.batch_size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    _insert(ctx, batches(), sum(per_unit))
    numbers.save()
    ctx.data["projects"] = {
        "year": ctx.year,
        # unit id → {category: amount planned for ctx.year by its library projects, fen}
        "by_unit": summary,
        "count": ctx.counts.get("project", 0),
        "budgetable": Q(region_code__startswith=ctx.prefix, status=Project.Status.IN_LIBRARY,
                        start_year__lte=year, end_year__gte=year),
    }


GEN_STAGES: list = [("projects", stage_projects, (Project, ProjectYearPlan))]
