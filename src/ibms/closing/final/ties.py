"""The 决算 ties (`ibms verify`) and the checklist step that generates the tables (`final_accounts`).

`final_problems()` — for every region-year whose `final_accounts` step is done, or that is closing or closed —
recomputes every table of every unit, department and the region and proves: each table's own checks; the unit
tables equal the trial balances of their sets (支出决算表 total = the year's 7xxx debit flows, 收入决算表 = 6xxx
credit flows, 财政拨款 expenditure = 7101.01/7201.01 flows, all without closing vouchers); a department's figure
is the sum of its units'; 财政拨款 expenditure per unit = the indicator ledger's spent (支付核销 − 退回恢复) of the
unit's fiscal indicators of the year; once every set of a scope is closed, 年末结转和结余 = the
8101/8102/8201/8202 year-end balances; 总决算 expenditure = the 总预算会计 set's 5xxx flows; and the generated
tables still have the digests the step stored.
"""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Q, Sum
from django.db.models.functions import Coalesce

from ibms.accounting.models import Voucher, VoucherLine
from ibms.closing.models import YearStep
from ibms.closing.services.lifecycle import StepContext, runner
from ibms.core.money import format_fen
from ibms.masterdata.models import FiscalYear

from .compute import CLOSING_Q, FinalTable, final_compute_all
from .layouts import layout_problems
from .scopes import Scope, region_scopes

STEP = "final_accounts"


def _system():
    from ibms.iam.services import system_user

    return system_user()


def _flows(set_ids, prefix_q: Q, basis: str | None = "budget") -> int:
    qs = VoucherLine.objects.filter(account_set_id__in=set_ids, voucher__status="posted").filter(prefix_q)
    if basis:
        qs = qs.filter(basis=basis)
    r = qs.exclude(voucher__source="opening").exclude(CLOSING_Q).aggregate(d=Coalesce(Sum("debit"), 0),
                                                                          c=Coalesce(Sum("credit"), 0))
    return r["d"] - r["c"]


def _acc(*codes: str) -> Q:
    q = Q(pk__in=[])
    for c in codes:
        q |= Q(account_code=c) | Q(account_code__startswith=c + ".") if "." in c else Q(account_code__startswith=c)
    return q


def _indicator_spent(scope: Scope) -> int:
    from ibms.indicators.models import IndicatorEntry

    qs = IndicatorEntry.objects.filter(indicator__year=scope.year, indicator__region_code=scope.region_code,
                                       indicator__fund_nature_code__startswith="1")
    if scope.kind == "unit":
        qs = qs.filter(indicator__unit_id=int(scope.ident))
    else:
        qs = qs.filter(indicator__unit__path__startswith=scope.unit_path)
    return (qs
            .aggregate(s=Coalesce(Sum("d_spent"), 0))["s"])


def scope_problems(scope: Scope, tables: list[FinalTable]) -> list[str]:
    where = f"{scope.year} {scope.region_code} {scope.label}{scope.name}"
    by = {t.definition.code: t for t in tables}
    out = [f"决算 {where}：{p}" for t in tables for p in t.problems]

    def tie(label: str, figure: int, books: int) -> None:
        if figure != books:
            out.append(f"决算 {where}：{label}不符（{format_fen(figure)} ≠ {format_fen(books)}）")

    if scope.kind == "region":
        if "region_summary" in by:
            tie("总决算支出合计与总预算会计 5xxx", by["region_summary"].value(20), _flows(scope.set_ids, _acc("5"), None))
            tie("总决算收入合计与总预算会计 4xxx", by["region_summary"].value(10), -_flows(scope.set_ids, _acc("4"), None))
        if "region_general_expenditure" in by:
            tie("一般公共预算支出与5001", by["region_general_expenditure"].value(1),
                _flows(scope.set_ids, _acc("5001"), None))
        return out
    ids = scope.set_ids
    tie("支出决算表合计与7xxx 借方发生", by["expenditure"].value(1), _flows(ids, _acc("7")))
    tie("收入决算表合计与6xxx 贷方发生", by["revenue"].value(1), -_flows(ids, _acc("6")))
    tie("收支总表本年支出与支出决算表", by["income_expense_summary"].value(19), by["expenditure"].value(1))
    fiscal = _flows(ids, _acc("7101.01", "7201.01"))
    tie("财政拨款支出与7101.01/7201.01", by["fiscal_summary"].value(4, 3), fiscal)
    tie("财政拨款支出与指标账已支付", fiscal, _indicator_spent(scope))
    tie("一般公共预算财政拨款支出与财政拨款总表", by["general_expenditure"].value(1),
        by["fiscal_summary"].value(1, 3))
    tie("基本支出决算表与一般公共预算基本支出", by["general_basic"].value(1), by["general_expenditure"].value(1, 2))
    tie("政府性基金支出与财政拨款总表", by["fund_budget"].value(1, 3), by["fiscal_summary"].value(2, 3))
    tie("项目支出决算表与支出决算表项目支出", by["project_expenditure"].value(1), by["expenditure"].value(1, 3))
    tie("结转结余情况表年末与收支总表", by["carryover_balance"].value(6, 5), by["income_expense_summary"].value(20))
    closed = (Voucher.objects.filter(account_set_id__in=ids, source=Voucher.Source.CLOSING)
              .values("account_set_id").distinct().count())
    if ids and closed == len(ids):  # after the closing entries the year's result sits in 8101/8102/8201/8202
        cb = by["carryover_balance"]
        tie("结转结余情况表年末与8101/8102/8201/8202 年末余额", cb.value(6, 5), cb.value(6, 6) + cb.value(6, 7))
    return out


def _dept_sums(scopes: list[Scope], computed: dict[str, list[FinalTable]]) -> list[str]:
    """A department's figures are the sums of its units' (by unit path)."""
    out = []
    units = [s for s in scopes if s.kind == "unit"]
    for dept in (s for s in scopes if s.kind == "dept"):
        members = [u for u in units if u.unit_path.startswith(dept.unit_path)]
        for t in computed[dept.token]:
            want: dict[tuple, int] = defaultdict(int)
            for u in members:
                ut = next(x for x in computed[u.token] if x.definition.code == t.definition.code)
                for r in ut.rows:
                    if r.key is None:
                        for i, v in enumerate(r.values):
                            want[(r.row_no, i)] += v or 0
            for r in t.rows:
                if r.key is None and any((v or 0) != want[(r.row_no, i)] for i, v in enumerate(r.values)):
                    out.append(f"决算 {dept.year} {dept.region_code} 部门{dept.name}：{t.title}「{r.name}」"
                               f"不等于所属各单位之和")
    return out


def region_year_problems(region_code: str, year: int, actor=None) -> tuple[list[str], dict[str, dict[str, str]]]:
    """(problems, {scope token: {table code: digest}}) of one region-year."""
    actor = actor or _system()
    scopes = region_scopes(region_code, year)
    computed = {s.token: final_compute_all(actor=actor, scope=s) for s in scopes}
    problems = [p for s in scopes for p in scope_problems(s, computed[s.token])]
    problems += _dept_sums(scopes, computed)
    digests = {tok: {t.definition.code: t.digest() for t in ts} for tok, ts in computed.items()}
    return problems, digests


def final_problems() -> list[str]:
    """`ibms verify`: the 决算 ties of every region-year that generated its final accounts or is closing."""
    problems = [f"final layouts: {p}" for p in layout_problems()]
    done = set(YearStep.objects.filter(step=STEP, status=YearStep.Status.DONE).values_list("region_code", "year"))
    closing = set(FiscalYear.objects.filter(status__in=[FiscalYear.Status.CLOSING, FiscalYear.Status.CLOSED])
                  .values_list("region_code", "year"))
    stored = {(r.region_code, r.year): r.result.get("digests", {})
              for r in YearStep.objects.filter(step=STEP, status=YearStep.Status.DONE)}
    for region_code, year in sorted(done | closing):
        found, digests = region_year_problems(region_code, year)
        problems += found
        for tok, tables in stored.get((region_code, year), {}).items():
            for code, digest in tables.items():
                if digests.get(tok, {}).get(code) != digest:
                    problems.append(f"决算 {year} {region_code} {tok} {code}：生成后数据已变动（摘要不一致）")
    return problems


@runner(STEP)
def final_accounts_run(ctx: StepContext) -> dict:
    """生成决算: every table of every unit, department and the region, with a digest of each table's figures.
    Writes nothing but the step's result (the tables are computed from the books whenever they are shown), so a
    rerun gives the same digests. Blocked when a tie fails."""
    from ibms.closing.services.lifecycle import Blocked

    scopes = region_scopes(ctx.region_code, ctx.year)
    total = len(scopes)
    ctx.progress(0, total)
    computed: dict[str, list[FinalTable]] = {}
    problems: list[str] = []
    for i, s in enumerate(scopes, 1):
        computed[s.token] = final_compute_all(actor=ctx.actor, scope=s)
        problems += scope_problems(s, computed[s.token])
        ctx.progress(i, total)
    problems += _dept_sums(scopes, computed)
    if problems:
        raise Blocked(STEP, [{"label": p} for p in problems[:50]])
    digests = {tok: {t.definition.code: t.digest() for t in ts} for tok, ts in computed.items()}
    return {"units": sum(1 for s in scopes if s.kind == "unit"), "departments": sum(1 for s in scopes if s.kind == "dept"),
            "tables": sum(len(v) for v in digests.values()), "digests": digests}
