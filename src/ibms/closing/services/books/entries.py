"""`year_end_entries` (年末应返还额度记账): the year's unspent fiscal money that carries into next year, from the
executed carry-over (结转结余) batch, booked as 财政应返还额度 in each unit's set and as 国库集中支付结余 in the
region's 总预算会计 set, dated 31 December (DOMAIN-REFERENCE 20.3(e)1–3, 20.4).

What counts: the carried part (`CarryLine.carry_amount`) of every indicator of a unit with fiscal money (fund
nature 1xx); the recalled part (结余收回) lapses and is not returnable. Per unit and (fund nature, function class,
project):
- direct payment and 一体化 centralized payment (`treasury.selectors.pay_method_get` of the indicator's
  支付方式) → `year_end.direct_unspent` (Dr 1201.01 / Cr 4001.xx; Dr 8001.03 / Cr 6001.xx);
- authorised payment → the part the bank cancels at year end as issued, unused 零余额账户用款额度
  (`year_end.quota_cancelled`: Dr 1201.02 / Cr 1011; Dr 8001.03 / Cr 8001.02) up to the set's 1011 debit
  balance per (fund nature, project), and the rest, never issued as quota, `year_end.quota_unissued`
  (Dr 1201.02 / Cr 4001.xx; Dr 8001.03 / Cr 6001.xx).
  Here no system process issues quota: authorised payments credit 1011 and only a 额度到账 event
  (`quota.received`, posted through the API) debits it, so 1011 has a debit balance only where such notices were
  booked.
- the finance bureau: the same carried amounts per (function class, fund nature) → `treasury.year_end_unspent`
  (Dr 5001 一般公共预算本级支出, 5002 for 政府性基金 / Cr 2011 应付国库集中支付结余).

Event ids are deterministic (`year_end:<set id>:<entry>:<dimension key>`), so a rerun posts nothing new; the
1011 balance is read without this step's own vouchers for the same reason. Blocked, with nothing posted, when
no executed carry-over batch exists or a unit (or the region) has no account set for the year.
One durable transaction per account set.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db import transaction
from django.db.models import Sum
from django.urls import reverse

from ibms.accounting import services as acc
from ibms.accounting.models import AccountSet, Voucher, VoucherLine
from ibms.core.scoping import require_perm
from ibms.masterdata.models import Unit
from ibms.treasury.models import PayMethod
from ibms.treasury.selectors import pay_method_get

from ...models import CarryLine, CarryRun
from ..lifecycle import Blocked, StepContext, region_name, runner
from .common import dim_key, region_sets, yuan

Dims = tuple[str, str, str]  # fund nature, function class, project
UnitKey = tuple[str, str, str, str]  # pay kind (direct | authorized), fund nature, function class, project


def event_prefix(aset: AccountSet) -> str:
    return f"year_end:{aset.pk}:"


def carried_amounts(region_code: str, run: CarryRun) -> tuple[dict[int, dict[UnitKey, int]], dict]:
    """unit id → {(pay kind, fund, function, project): carried fen}, and what was left out (no unit, non-fiscal)."""
    per_unit: dict[int, dict[UnitKey, int]] = defaultdict(lambda: defaultdict(int))
    left = {"no_unit": 0, "nonfiscal": 0}
    methods: dict[str, str] = {}
    lines = (CarryLine.objects.filter(run=run, carry_amount__gt=0)
             .select_related("indicator", "indicator__project").order_by("id"))
    for ln in lines:
        ind = ln.indicator
        if ind.unit_id is None:
            left["no_unit"] += ln.carry_amount
            continue
        if not ind.fund_nature_code.startswith("1"):
            left["nonfiscal"] += ln.carry_amount
            continue
        if ind.pay_type_code not in methods:
            methods[ind.pay_type_code] = pay_method_get(ind.pay_type_code, region_code)
        kind = "authorized" if methods[ind.pay_type_code] == PayMethod.AUTHORIZED else "direct"
        project = ind.project.code if ind.project_id else ""
        per_unit[ind.unit_id][(kind, ind.fund_nature_code, ind.exp_func_code, project)] += ln.carry_amount
    return per_unit, left


def _quota_balances(aset: AccountSet) -> dict[tuple[str, str], int]:
    """(fund nature, project) → the set's 1011 零余额账户用款额度 debit balance, this step's own vouchers excluded."""
    rows = (VoucherLine.objects.filter(account_set=aset, account_code="1011", voucher__status=Voucher.Status.POSTED)
            .exclude(voucher__event_id__startswith=event_prefix(aset))
            .values("fund_nature_code", "project_code").annotate(d=Sum("debit"), c=Sum("credit")).order_by())
    return {(r["fund_nature_code"], r["project_code"]): (r["d"] or 0) - (r["c"] or 0) for r in rows}


def unit_entries(aset: AccountSet, amounts: dict[UnitKey, int]) -> list[tuple[str, dict, int]]:
    """(event type, dimensions, amount) for one unit's set, in a deterministic order."""
    out: list[tuple[str, dict, int]] = []
    quota = _quota_balances(aset)
    authorised: dict[tuple[str, str], list[tuple[str, int]]] = defaultdict(list)
    for (kind, fund, func, project), amount in sorted(amounts.items()):
        dims = {"fund_nature": fund, "exp_func": func, "project": project}
        if kind == "direct":
            out.append(("year_end.direct_unspent", dims, amount))
        else:
            authorised[(fund, project)].append((func, amount))
    for (fund, project), parts in sorted(authorised.items()):
        cancel = min(max(quota.get((fund, project), 0), 0), sum(a for _, a in parts))
        if cancel:
            out.append(("year_end.quota_cancelled", {"fund_nature": fund, "project": project}, cancel))
        for func, amount in parts:  # the cancelled quota covers the function classes in code order
            covered = min(cancel, amount)
            cancel -= covered
            if amount - covered:
                out.append(("year_end.quota_unissued", {"fund_nature": fund, "exp_func": func, "project": project},
                            amount - covered))
    return out


def _post_all(ctx: StepContext, aset: AccountSet, entries: list[tuple[str, dict, int]], tag) -> int:
    """Post a set's entries in one durable transaction; returns how many vouchers were new."""
    date = dt.date(aset.year, 12, 31)
    new = 0
    with transaction.atomic(durable=True):
        for event_type, dims, amount in entries:
            event_id = event_prefix(aset) + f"{tag(event_type)}:{dim_key(dims)}"
            new += not Voucher.objects.filter(account_set=aset, event_id=event_id).exists()
            acc.event_post(actor=ctx.actor, event_id=event_id, event_type=event_type, date=date,
                           amounts={"amount": amount}, dimensions=dims, account_set=aset)
    return new


@runner("year_end_entries")
def year_end_entries(ctx: StepContext) -> dict:
    require_perm(ctx.actor, "accounting.post_event")
    run = CarryRun.objects.filter(region_code=ctx.region_code, year=ctx.year,
                                  status=CarryRun.Status.EXECUTED).first()
    if run is None:
        raise Blocked("year_end_entries", [{"label": f"{region_name(ctx.region_code)}{ctx.year}年度结转结余尚未执行，"
                                                     "无法确定结转下年的应返还额度", "kind": "carry_not_executed"}])
    per_unit, left = carried_amounts(ctx.region_code, run)
    sets = {s.unit_id: s for s in region_sets(ctx.region_code, ctx.year) if s.kind == AccountSet.Kind.UNIT}
    fiscal = AccountSet.objects.filter(region_code=ctx.region_code, year=ctx.year,
                                       kind=AccountSet.Kind.FISCAL).first()
    items = []
    for unit in Unit.objects.filter(pk__in=[u for u in per_unit if u not in sets]).order_by("code"):
        items.append({"label": f"{unit.name}没有{ctx.year}年度账套，结转指标无法记入财政应返还额度",
                      "url": reverse("accounting:set-create"), "kind": "unit_set_missing"})
    if fiscal is None and per_unit:
        items.append({"label": f"{region_name(ctx.region_code)}没有{ctx.year}年度总预算会计账套",
                      "url": reverse("accounting:set-create"), "kind": "fiscal_set_missing"})
    if items:
        raise Blocked("year_end_entries", items)
    totals: dict[str, int] = defaultdict(int)
    treasury: dict[tuple[str, str], int] = defaultdict(int)
    new, done, total = 0, 0, len(per_unit) + (1 if per_unit else 0)
    for unit_id in sorted(per_unit, key=lambda u: sets[u].code):
        aset = sets[unit_id]
        entries = unit_entries(aset, per_unit[unit_id])
        for event_type, _, amount in entries:
            totals[event_type] += amount
        for (_, fund, func, _), amount in per_unit[unit_id].items():
            treasury[(func, fund)] += amount
        new += _post_all(ctx, aset, entries, lambda t: t.removeprefix("year_end."))
        done += 1
        ctx.progress(done, total)
    if treasury:
        entries = [("treasury.year_end_unspent", {"exp_func": func, "fund_nature": fund}, amount)
                   for (func, fund), amount in sorted(treasury.items())]
        new += _post_all(ctx, fiscal, entries, lambda t: "unspent")
        ctx.progress(total, total)
    return {"carry_run": run.number, "units": len(per_unit), "vouchers_posted": new,
            "direct_unspent": yuan(totals["year_end.direct_unspent"]),
            "quota_cancelled": yuan(totals["year_end.quota_cancelled"]),
            "quota_unissued": yuan(totals["year_end.quota_unissued"]),
            "treasury_unspent": yuan(sum(treasury.values())),
            "left_out_no_unit": yuan(left["no_unit"]), "left_out_nonfiscal": yuan(left["nonfiscal"])}
