"""The demo province's budget for the current year: library projects, 两上两下, approval, indicators.

Everything business-like goes through the services, as the people of the demo would do it: the budget division
computes every unit's 人员类/公用经费 projects, each department enters one 特定目标类 project per unit (and
教育厅 a transfer-payment project for 青山区) that its reviewer, the sector division and the budget division
take into the library; then 一上 (generated from the library, with revenue), ceilings 5% under the 特定目标类
requests, 二上 revised to fit, consolidation, the legislature's approval, the 批复 with its indicators, the
departments' replies to their units, and the transfer allotted to 青山区 and received there.

Departments without demo staff get a clerk and a reviewer here (master data, like the rest of the demo users)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction

from ibms.core import audit, clock
from ibms.iam.models import Organization, Role, User

from .users import DEMO_PASSWORD

PROVINCE = "990000000"
COUNTY = "990102000"  # 东川市青山区
# department code → (clerk, reviewer) usernames; 001 uses the existing edu_clerk / edu_reviewer
DEPT_STAFF = {"001": ("edu_clerk", "edu_reviewer"), "002": ("health_clerk", "health_reviewer"),
              "003": ("transport_clerk", "transport_reviewer"), "004": ("agri_clerk", "agri_reviewer"),
              "005": ("findept_clerk", "findept_reviewer")}
# department code → 特定目标类: (function class 项, department economic class, what)
SPECIFIC = {"001": ("2050204", "30227", "教学质量提升"), "002": ("2100401", "30218", "疾病防控能力建设"),
            "003": ("2140104", "30227", "公路建设前期工作"), "004": ("2130199", "30227", "高标准农田建设"),
            "005": ("2010602", "30227", "财政信息化运维")}
TRANSFER_FUNC, TRANSFER_ECO = "2050202", "39999"  # 小学教育 / 其他支出


def _users(names: list[str]) -> dict[str, User]:
    return {u.username: u for u in User.objects.select_related("organization", "organization__unit")
            .filter(username__in=names)}


def _ensure_department_staff(units: dict[str, object]) -> None:
    """A clerk and a reviewer for every province department that has none in the demo user list."""
    wanted = [(code, clerk, reviewer) for code, (clerk, reviewer) in DEPT_STAFF.items()
              if not User.objects.filter(username=clerk).exists()]
    if not wanted:
        return
    roles = {r.code: r for r in Role.objects.filter(code__in=["dept_clerk", "dept_reviewer"])}
    # one hash for all of them (same demo password; argon2 is deliberately slow)
    hashed = User.objects.filter(username="edu_clerk").values_list("password", flat=True).first()
    with transaction.atomic(durable=True):
        for code, clerk, reviewer in wanted:
            dept = units[code]
            org = Organization.objects.filter(region_code=PROVINCE, unit=dept, kind="department").first()
            if org is None:
                org = Organization.objects.create(region_code=PROVINCE, code=f"dept-{code}", name=dept.name,
                                                  kind="department", unit=dept)
                audit.record_change(org, "create")
            for username, role, title in ((clerk, "dept_clerk", "会计"), (reviewer, "dept_reviewer", "处长")):
                u = User(username=username, real_name=f"{dept.name}财务处 {title}", organization=org)
                if hashed:
                    u.password = hashed
                else:
                    u.set_password(DEMO_PASSWORD)
                u.save()
                audit.record_change(u, "create")
                u.groups.set([roles[role].group])


def load_demo_budget() -> dict[str, int]:
    """Idempotent: nothing happens when the province already has a round for the year."""
    from ibms.budgeting import services as bs
    from ibms.budgeting.models import BudgetLine, BudgetRound, Version
    from ibms.indicators import services as ins
    from ibms.indicators.models import Indicator
    from ibms.masterdata.models import Unit
    from ibms.projects import services as ps
    from ibms.projects.domain import CostLineData, ProjectData, TargetData

    year = clock.fiscal_year()
    if BudgetRound.objects.filter(region_code=PROVINCE, year=year).exists():
        return {}
    if not Unit.objects.filter(region_code=PROVINCE).exists():
        return {}
    units = {u.code: u for u in Unit.objects.filter(region_code=PROVINCE, is_active=True).order_by("path")}
    _ensure_department_staff(units)
    staff = _users(["fin_budget", "fin_sector", "county_budget"] + [n for pair in DEPT_STAFF.values() for n in pair])
    budget, sector = staff["fin_budget"], staff["fin_sector"]

    def clerk(unit) -> User:
        return staff[DEPT_STAFF[unit.code[:3]][0]]

    def reviewer(unit) -> User:
        return staff[DEPT_STAFF[unit.code[:3]][1]]

    # --- the project library --------------------------------------------------------------------
    projects = 0
    for unit in units.values():
        projects += len(ps.project_generate_basic(actor=budget, unit_id=unit.pk, year=year))
    specific = []
    for unit in units.values():
        func, eco, what = SPECIFIC[unit.code[:3]]
        specific.append((unit, ProjectData(
            unit_id=unit.pk, name=f"{unit.name}{what}项目", category="3", start_year=year, end_year=year + 1, year=year,
            level=1, fund_nature_code="111", exp_func_code=func, dep_eco_code=eco,
            description=f"{what}（演示）", basis="省政府工作部署（演示）",
            cost_lines=[CostLineData(year=year, item=f"{what}服务", quantity=Decimal(12), frequency=Decimal(1),
                                     unit_price=(150_000 + 10_000 * (len(specific) % 7)) * 100, measure="月",
                                     dep_eco_code=eco),
                        CostLineData(year=year + 1, item=f"{what}服务", quantity=Decimal(6), unit_price=120_000 * 100,
                                     measure="月", dep_eco_code=eco)],
            targets=[TargetData(kind="output", name="完成率", value="100", measure="%"),
                     TargetData(kind="satisfaction", name="服务对象满意度", value="90", measure="%")])))
    edu = units["001"]
    specific.append((edu, ProjectData(
        unit_id=edu.pk, name="青山区义务教育薄弱环节改善补助", category="3", start_year=year, end_year=year,
        year=year, level=1, is_transfer=True, transfer_region_code=COUNTY, fund_nature_code="111",
        exp_func_code=TRANSFER_FUNC, dep_eco_code=TRANSFER_ECO, description="对下转移支付（演示）",
        cost_lines=[CostLineData(year=year, item="薄弱学校改造补助", quantity=Decimal(4), unit_price=500_000 * 100,
                                 measure="所", dep_eco_code=TRANSFER_ECO)],
        targets=[TargetData(kind="output", name="改造学校数", value="4", measure="所")])))
    for unit, data in specific:
        p = ps.project_create(actor=clerk(unit), data=data)
        ps.project_submit(actor=clerk(unit), pk=p.pk)
        ps.project_review(actor=reviewer(unit), pk=p.pk, approve=True, reason="同意")
        ps.project_review(actor=sector, pk=p.pk, approve=True, reason="同意", score=Decimal(88))
        ps.project_review(actor=budget, pk=p.pk, approve=True, reason="同意入库")
        projects += 1

    # --- 一上: generated from the library, revenue to match -------------------------------------
    rnd = bs.round_create(actor=budget, year=year, name=f"华夏省{year}年省级部门预算")
    departments = [u for u in units.values() if u.parent_id is None]
    for dept in departments:
        bs.lines_generate(actor=clerk(dept), round_id=rnd.pk, unit_id=dept.pk)
    _balance_revenue(bs, BudgetLine, rnd, Version.FIRST_UP, units, clerk)
    for dept in departments:
        sub = bs.submission_submit(actor=clerk(dept), round_id=rnd.pk, unit_id=dept.pk)
        bs.submission_accept(actor=budget, submission_id=sub.pk, comment="同意")
    bs.round_first_up_close(actor=budget, round_id=rnd.pk)

    # --- 一下: ceilings 5% under the 特定目标类 requests; 二上 revised to fit ----------------------
    cuts: dict[int, int] = {}
    for dept in departments:
        lines = BudgetLine.objects.filter(round=rnd, version=Version.FIRST_UP, department=dept,
                                          direction=BudgetLine.Direction.EXPENDITURE)
        total = sum(ln.amount for ln in lines)
        cut = 0
        for ln in lines:
            if ln.exp_kind == BudgetLine.ExpKind.PROJECT and not ln.is_transfer:
                cuts[ln.pk] = ln.amount // 20 // 100 * 100
                cut += cuts[ln.pk]
        bs.ceiling_set(actor=budget, round_id=rnd.pk, department_id=dept.pk, fund_nature_code="1",
                       amount=total - cut, remark="一下控制数（演示）")
    bs.round_second_up_start(actor=budget, round_id=rnd.pk)
    for ln in BudgetLine.objects.filter(round=rnd, version=Version.SECOND_UP, origin_id__in=list(cuts)):
        data = bs.LineData.of(ln)
        data.amount -= cuts[ln.origin_id]
        bs.line_update(actor=clerk(ln.unit), line_id=ln.pk, data=data)
    _balance_revenue(bs, BudgetLine, rnd, Version.SECOND_UP, units, clerk)
    for dept in departments:
        sub = bs.submission_submit(actor=clerk(dept), round_id=rnd.pk, unit_id=dept.pk)
        bs.submission_accept(actor=budget, submission_id=sub.pk, comment="同意")

    # --- consolidation, the legislature, 批复, the departments' replies ---------------------------
    bs.round_consolidate(actor=budget, round_id=rnd.pk)
    bs.round_approval_record(actor=budget, round_id=rnd.pk, doc_no=f"华夏人大〔{year}〕1号",
                             approval_date=dt.date(year, 1, 18))
    bs.round_reply(actor=budget, round_id=rnd.pk, doc_no=f"华财预〔{year}〕8号",
                   title=f"关于批复{year}年省级部门预算的通知", doc_date=dt.date(year, 2, 3))
    for dept in departments:
        if units_of(units, dept):
            bs.unit_replies_record(actor=clerk(dept), round_id=rnd.pk, department_id=dept.pk,
                                   reply_date=dt.date(year, 2, 12), doc_no=f"{dept.name[:4]}〔{year}〕3号")

    # --- the transfer payment to 青山区, received there -------------------------------------------
    transfer = BudgetLine.objects.get(round=rnd, version=Version.REPLY, is_transfer=True)
    notice = ins.transfer_allot(actor=budget, indicator_id=transfer.indicator_id, rec_region_code=COUNTY,
                                amount=transfer.amount,
                                doc=ins.Doc(f"华财教〔{year}〕21号", "关于下达义务教育薄弱环节改善补助资金的通知",
                                            dt.date(year, 2, 20)))
    ins.transfer_receive(actor=staff["county_budget"], notice_id=notice.pk, doc_no=f"青财预〔{year}〕5号",
                         doc_date=dt.date(year, 2, 25))
    return {"budget_projects": projects,
            "budget_lines": BudgetLine.objects.filter(round=rnd).count(),
            "indicators": Indicator.objects.filter(year=year, region_code__in=[PROVINCE, COUNTY]).count()}


def units_of(units: dict, dept) -> list:
    return [u for u in units.values() if u.parent_id == dept.pk]


def _balance_revenue(bs, BudgetLine, rnd, version: str, units: dict, clerk) -> None:
    """Each unit's 一般公共预算拨款收入 equals its expenditure (one revenue line per unit)."""
    from django.db.models import Sum

    spend = dict(BudgetLine.objects.filter(round=rnd, version=version, direction="expenditure")
                 .values_list("unit_id").annotate(s=Sum("amount")).values_list("unit_id", "s"))
    revenue = {ln.unit_id: ln for ln in BudgetLine.objects.filter(round=rnd, version=version, direction="revenue")}
    for unit in units.values():
        amount = spend.get(unit.pk, 0)
        line = revenue.get(unit.pk)
        if line is None and amount:
            bs.line_create(actor=clerk(unit), round_id=rnd.pk, data=bs.LineData(
                direction="revenue", unit_id=unit.pk, revenue_code="11", amount=amount))
        elif line is not None and line.amount != amount:
            data = bs.LineData.of(line)
            data.amount = amount
            bs.line_update(actor=clerk(unit), line_id=line.pk, data=data)
