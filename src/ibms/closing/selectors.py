"""Reads of the carry-over runs: lists within scope, a run's lines with filters and totals per fund nature, and
the conservation check `carry_problems` (for `ibms verify`): for every executed run, per line carry + recall =
unspent, the new indicator was created with the carried amount from the run's 上年结转 document and descends from
the old one, the 结转 and 收回 entries on the old indicator equal the line, and they brought its available balance
to zero; per run and per fund nature the lines, the run's totals and the ledger agree."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from ibms.core.money import format_fen
from ibms.core.scoping import VIEW, get_in_scope
from ibms.indicators.models import Indicator, IndicatorEntry

from .models import CarryLine, CarryRun

E = IndicatorEntry.Kind


def run_list(*, actor, region_code: str = "", year: int | None = None, status: str = "") -> QuerySet[CarryRun]:
    qs = CarryRun.objects.permitted(actor)
    if region_code:
        qs = qs.filter(region_code=region_code)
    if year:
        qs = qs.filter(year=year)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-year", "region_code")


def run_get(*, actor, pk: int) -> CarryRun:
    return get_in_scope(CarryRun.objects.select_related("carry_source", "recall_source", "executed_by",
                                                        "proposed_by"), actor, VIEW, what="结转结余清单", pk=pk)


def run_find(*, actor, region_code: str, year: int) -> CarryRun | None:
    return run_list(actor=actor, region_code=region_code, year=year).first()


def line_list(*, actor, run: CarryRun, unit_code: str = "", decision: str = "", fund_nature_code: str = "",
              changed: bool | None = None, q: str = "") -> QuerySet[CarryLine]:
    """The run's lines the actor may see (a unit's staff: their own), filtered."""
    qs = (CarryLine.objects.permitted(actor).filter(run=run)
          .select_related("indicator", "indicator__unit", "indicator__project", "indicator__source",
                          "new_indicator", "changed_by"))
    if unit_code:
        qs = qs.filter(indicator__unit__code=unit_code)
    if decision:
        qs = qs.filter(decision=decision)
    if fund_nature_code:
        qs = qs.filter(indicator__fund_nature_code__startswith=fund_nature_code)
    if changed is not None:
        qs = qs.exclude(changed_by__isnull=changed)
    if q:
        qs = qs.filter(Q(indicator__code__icontains=q) | Q(indicator__summary__icontains=q))
    return qs.order_by("id")


def line_get(*, actor, pk: int) -> CarryLine:
    return get_in_scope(CarryLine.objects.select_related("run", "indicator", "indicator__unit", "new_indicator"),
                        actor, VIEW, what="结转结余明细", pk=pk)


@dataclass(frozen=True)
class NatureTotal:
    fund_nature_code: str
    lines: int
    unspent: int
    carry: int
    recall: int


def nature_totals(lines: QuerySet[CarryLine]) -> list[NatureTotal]:
    rows = (lines.order_by().values("indicator__fund_nature_code")
            .annotate(n=Count("id"), u=Sum("unspent"), c=Sum("carry_amount"), r=Sum("recall_amount"))
            .order_by("indicator__fund_nature_code"))
    return [NatureTotal(r["indicator__fund_nature_code"], r["n"], r["u"] or 0, r["c"] or 0, r["r"] or 0)
            for r in rows]


# --- conservation -------------------------------------------------------------------------------------------

def _sums(source_id: int | None, kind: str, field: str, key: str = "indicator_id") -> dict[int, int]:
    if source_id is None:
        return {}
    return dict(IndicatorEntry.objects.filter(source_id=source_id, kind=kind).order_by()
                .values_list(key).annotate(s=Sum(field)).values_list(key, "s"))


def _balances_after(ids: list[int], sources: list[int]) -> dict[int, int]:
    """Each old indicator's available balance just after the run's last entry on it."""
    out: dict[int, int] = {}
    for start in range(0, len(ids), 1000):
        last = (IndicatorEntry.objects.filter(indicator_id=OuterRef("pk"), source_id__in=sources).order_by()
                .values("indicator_id").annotate(m=Max("id")).values("m"))
        upto = (IndicatorEntry.objects.filter(indicator_id=OuterRef("pk"), id__lte=OuterRef("last")).order_by()
                .values("indicator_id").annotate(s=Sum("d_available")).values("s"))
        rows = (Indicator.objects.filter(pk__in=ids[start:start + 1000]).annotate(last=Subquery(last))
                .annotate(bal=Coalesce(Subquery(upto), 0)).values_list("pk", "bal"))
        out.update(rows)
    return out


def run_problems(run: CarryRun) -> list[str]:
    """What does not add up in one executed run (empty when conserved)."""
    p: list[str] = []
    tag = f"结转结余清单 {run.number}"
    lines = list(CarryLine.objects.filter(run=run).values_list(
        "pk", "indicator_id", "indicator__code", "indicator__fund_nature_code", "unspent", "carry_amount",
        "recall_amount", "new_indicator_id", "executed_at"))
    cs, rs = run.carry_source_id, run.recall_source_id
    carried_out = _sums(cs, E.CARRY_OUT, "d_available")
    recalled = _sums(rs, E.RECALL, "d_available")
    created = _sums(cs, E.CREATE, "d_amount")
    parents = dict(Indicator.objects.filter(source_id=cs).values_list("pk", "parent_id")) if cs else {}
    after = _balances_after([ln[1] for ln in lines], [s for s in (cs, rs) if s])
    natures: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for _pk, ind, code, nature, unspent, carry, recall, new, executed in lines:
        where = f"{tag} 指标 {code}"
        if executed is None:
            p.append(f"{where}：未执行")
        if carry + recall != unspent:
            p.append(f"{where}：结转 {format_fen(carry)} + 收回 {format_fen(recall)} ≠ 未使用 {format_fen(unspent)}")
        if -carried_out.get(ind, 0) != carry:
            p.append(f"{where}：结转下年变动 {format_fen(-carried_out.get(ind, 0))} ≠ 结转金额 {format_fen(carry)}")
        if -recalled.get(ind, 0) != recall:
            p.append(f"{where}：收回变动 {format_fen(-recalled.get(ind, 0))} ≠ 收回金额 {format_fen(recall)}")
        if carry and (new is None or created.get(new, 0) != carry or parents.get(new) != ind):
            p.append(f"{where}：下年结转指标缺失、金额不等于 {format_fen(carry)} 或不是其下级指标")
        if not carry and new is not None:
            p.append(f"{where}：未结转却有下年指标")
        if after.get(ind, 0) != 0:
            p.append(f"{where}：执行后可用余额 {format_fen(after.get(ind, 0))} 未归零")
        n = natures[nature]
        for i, x in enumerate((unspent, carry, recall, -carried_out.get(ind, 0), -recalled.get(ind, 0))):
            n[i] += x
    for nature, (unspent, carry, recall, ledger_carry, ledger_recall) in sorted(natures.items()):
        if carry + recall != unspent or ledger_carry + ledger_recall != unspent:
            p.append(f"{tag} 资金性质 {nature}：未使用 {format_fen(unspent)} ≠ 结转 {format_fen(ledger_carry)} + "
                     f"收回 {format_fen(ledger_recall)}")
    totals = [sum(n[i] for n in natures.values()) for i in range(3)]
    if [run.total_unspent, run.total_carry, run.total_recall] != totals or run.line_count != len(lines):
        p.append(f"{tag}：批次合计与明细合计不符")
    if run.done_count != len(lines):
        p.append(f"{tag}：已执行数 {run.done_count} ≠ 明细数 {len(lines)}")
    orphans = set(parents) - {ln[7] for ln in lines}
    if orphans:
        p.append(f"{tag}：上年结转文件下有 {len(orphans)} 个指标不在清单中")
    return p


def carry_problems() -> list[str]:
    """`ibms verify`: every executed carry-over run is conserved (see the module)."""
    problems: list[str] = []
    for run in CarryRun.objects.filter(status=CarryRun.Status.EXECUTED).order_by("id"):
        problems += run_problems(run)
    return problems
