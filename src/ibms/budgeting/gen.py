"""`ibms gen` stages of this app: (name, run(ctx), models written). demo/generator.py registers them in order.

Stage ``budgeting`` (after ``projects``): every generated region gets a replied round for the generation year
(legislature approval mid-January, 批复 within the 20 days), its reply-version lines from the library projects
that are budgetable that year (one expenditure line per project, amount = the year plan, classification from the
project, government economic class from the national mapping; transfer projects as BGT_TRA lines), one revenue
line per unit and fund nature (财政拨款 equal to its expenditure), and the replies to departments and units with
their deadlines. Bulk through `ctx.insert` (batches with their audit rows, progress bars).

It leaves ``ctx.data["reply"]``: the plain dict specs documented at the top of ``indicators/gen.py`` (one per reply
expenditure line, plus ``rec_region_code`` for transfer lines and ``line_id``), as a lazy sequence read from the
database in chunks, so a chongqing-sized province does not hold half a million dicts in memory at once.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

from ibms.masterdata.models import EcoMapping
from ibms.masterdata.selectors import is_sangong, sangong_eco_codes

from .domain import due_date, exp_kind_for
from .models import BudgetLine, BudgetRound, Reply, Version
from .setup import defaults, revenue_fund_natures

SPEC_FIELDS = ["id", "round_id", "region_code", "unit_id", "department_id", "project_id", "fund_nature_code",
               "exp_func_code", "gov_eco_code", "dep_eco_code", "amount", "is_gov_pur", "is_sangong", "is_transfer",
               "sub_region_code"]


class ReplySpecs(Sequence):
    """The reply lines of the generated regions as the indicators stage's plain dicts, read lazily."""

    def __init__(self, prefix: str, year: int):
        self.year = year
        self.qs = (BudgetLine.objects.filter(region_code__startswith=prefix, round__year=year, version=Version.REPLY,
                                             direction=BudgetLine.Direction.EXPENDITURE).order_by("pk"))
        self.docs = {r.pk: (r.reply_doc_no, r.reply_title, r.reply_date)
                     for r in BudgetRound.objects.filter(region_code__startswith=prefix, year=year)}
        self._len: int | None = None

    def _spec(self, row: dict) -> dict[str, Any]:
        doc_no, title, date = self.docs[row["round_id"]]
        return {"region_code": row["region_code"], "year": self.year, "unit_id": row["unit_id"],
                "department_id": row["department_id"], "project_id": row["project_id"],
                "fund_nature_code": row["fund_nature_code"], "exp_func_code": row["exp_func_code"],
                "gov_eco_code": row["gov_eco_code"], "dep_eco_code": row["dep_eco_code"], "amount": row["amount"],
                "is_executable": not row["is_transfer"], "is_gov_pur": row["is_gov_pur"],
                "is_sangong": row["is_sangong"], "rec_region_code": row["sub_region_code"] if row["is_transfer"] else "",
                "doc_no": doc_no, "doc_title": title, "doc_date": date, "line_id": row["id"]}

    def __len__(self) -> int:
        if self._len is None:
            self._len = self.qs.count()
        return self._len

    def __bool__(self) -> bool:
        return len(self) > 0

    def __getitem__(self, index):
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            rows = [self._spec(r) for r in self.qs[start:stop].values(*SPEC_FIELDS)]
            return rows[::step] if step != 1 else rows
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._spec(self.qs[index:index + 1].values(*SPEC_FIELDS)[0])

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for row in self.qs.values(*SPEC_FIELDS).iterator(chunk_size=5000):
            yield self._spec(row)


class _GovEco:
    """The national 部门经济分类 → 政府经济分类 mapping for the year, longest prefix first (as masterdata does)."""

    def __init__(self, year: int):
        self.map = {(m.dep_eco_code, m.unit_type): m.gov_eco_code
                    for m in EcoMapping.objects.filter(fiscal_year=year, region_code="")}
        self.cache: dict[tuple[str, str], str] = {}

    def __call__(self, dep: str, unit_type: str) -> str:
        key = (dep, unit_type)
        if key not in self.cache:
            self.cache[key] = next((self.map[(dep[:n], unit_type)] for n in (7, 5, 3)
                                    if (dep[:n], unit_type) in self.map), "")
        return self.cache[key]


def stage_budgeting(ctx) -> None:
    from ibms.projects.models import Project

    info = ctx.data.get("projects")
    if not info:
        return
    rng = ctx.rng("budgeting")
    year = ctx.year
    # one round per region: approved mid-January, replied within the 20 days
    rounds: dict[str, BudgetRound] = {}
    for region in ctx.regions:
        short = ctx.region_names.get(region.code, region.name)
        approved = dt.date(year, 1, rng.randint(10, 20))
        rounds[region.code] = BudgetRound(
            region_code=region.code, year=year, name=f"{region.name}{year}年预算编制", stage=BudgetRound.Stage.REPLIED,
            approval_doc_no=f"{short}人大〔{year}〕{rng.randint(1, 9)}号", approval_date=approved,
            reply_doc_no=f"{short}财预〔{year}〕{rng.randint(1, 30)}号", reply_title=f"关于批复{year}年部门预算的通知",
            reply_date=approved + dt.timedelta(days=rng.randint(5, 19)))
    ctx.insert(BudgetRound, rounds.values(), total=len(rounds), desc="预算编制")

    unit_type = {u.pk: u.unit_type for u in ctx.units}
    gov_eco = _GovEco(year)
    transfer_gov = defaults().get("transfer_gov_eco_code", "")
    transfer_type = defaults().get("transfer_type_code", "")
    sangong = sangong_eco_codes(fiscal_year=year)  # the national classes (generated regions have no local ones)
    revenue_code: dict[str, str] = {}  # fund nature → 收入来源: 财政拨款 codes first (上年结转 is also 111)
    for code, fund in sorted(revenue_fund_natures().items(), key=lambda kv: (not kv[0].startswith("1"), kv[0])):
        revenue_code.setdefault(fund, code)
    projects = (Project.objects.filter(info["budgetable"], year_plans__year=year, year_plans__amount__gt=0)
                .order_by("pk").values_list("pk", "region_code", "unit_id", "department_id", "unit_path", "category",
                                            "fund_nature_code", "exp_func_code", "dep_eco_code", "is_gov_pur",
                                            "is_transfer", "transfer_region_code", "year_plans__amount"))
    total = projects.count()
    spend: dict[tuple[str, int, int, str, str], int] = defaultdict(int)  # (region, unit, dept, path, fund) → fen

    def lines() -> Iterator[BudgetLine]:
        for (pk, region, unit_id, dept_id, path, category, fund, func, dep, gov_pur, transfer, sub,
             amount) in projects.iterator(chunk_size=5000):
            spend[(region, unit_id, dept_id, path, fund)] += amount
            kind = unit_type.get(unit_id, "institution")
            yield BudgetLine(
                round=rounds[region], version=Version.REPLY, region_code=region, unit_id=unit_id,
                department_id=dept_id, unit_path=path, project_id=pk, direction=BudgetLine.Direction.EXPENDITURE,
                exp_kind=exp_kind_for(category) or "", fund_nature_code=fund, exp_func_code=func, dep_eco_code=dep,
                gov_eco_code=transfer_gov if transfer else gov_eco(dep, kind), amount=amount, is_gov_pur=gov_pur,
                is_sangong=is_sangong(dep, fiscal_year=year, codes=sangong), is_transfer=transfer, sub_region_code=sub if transfer else "",
                transfer_type_code=transfer_type if transfer else "")

    ctx.insert(BudgetLine, lines(), total=total, desc="预算明细（批复）")

    def revenue() -> Iterator[BudgetLine]:
        for (region, unit_id, dept_id, path, fund), amount in sorted(spend.items()):
            yield BudgetLine(
                round=rounds[region], version=Version.REPLY, region_code=region, unit_id=unit_id,
                department_id=dept_id, unit_path=path, direction=BudgetLine.Direction.REVENUE,
                revenue_code=revenue_code.get(fund, "11"), fund_nature_code=fund, amount=amount)

    ctx.insert(BudgetLine, revenue(), total=len(spend), desc="预算明细（收入）")

    # replies: finance → departments on the reply date; departments → units within (mostly) their 15 days
    by_dept: dict[tuple[str, int, str], int] = defaultdict(int)
    by_unit: dict[tuple[str, int, int, str], int] = defaultdict(int)
    for (region, unit_id, dept_id, path, _), amount in spend.items():
        by_dept[(region, dept_id, "/" + path.strip("/").split("/")[0] + "/")] += amount
        if unit_id != dept_id:
            by_unit[(region, unit_id, dept_id, path)] += amount

    def replies() -> Iterator[Reply]:
        for (region, dept_id, path), amount in sorted(by_dept.items()):
            r = rounds[region]
            due = due_date(r.approval_date, r.dept_reply_days)
            yield Reply(round=r, region_code=region, level=Reply.Level.DEPARTMENT, unit_id=dept_id,
                        department_id=dept_id, unit_path=path, amount=amount, due_date=due, reply_date=r.reply_date,
                        doc_no=r.reply_doc_no, is_late=r.reply_date > due)
        for (region, unit_id, dept_id, path), amount in sorted(by_unit.items()):
            r = rounds[region]
            due = due_date(r.reply_date, r.unit_reply_days)
            replied = r.reply_date + dt.timedelta(days=rng.randint(2, 17))
            yield Reply(round=r, region_code=region, level=Reply.Level.UNIT, unit_id=unit_id, department_id=dept_id,
                        unit_path=path, amount=amount, due_date=due, reply_date=replied, doc_no=r.reply_doc_no,
                        is_late=replied > due)

    ctx.insert(Reply, replies(), total=len(by_dept) + len(by_unit), desc="预算批复")
    ctx.data["reply"] = ReplySpecs(ctx.prefix, year)


GEN_STAGES: list = [("budgeting", stage_budgeting, (BudgetRound, BudgetLine, Reply))]
