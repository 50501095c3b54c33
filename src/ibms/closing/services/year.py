"""The checklist steps that move the year itself (begin, close) and clear the payments and the reconciliation.

- `begin`: executing → closing once the next year is set up (its budget is approved into it while it prepares);
  from then on the year takes no payment (`fiscal_year_closing`).
- `payments_settled`: a request still in review is returned to its unit with its reservation voided
  (`treasury.request_year_end_return`, one chunk per transaction); a voucher at the bank is waited for — its
  outcome (paid, returned, refused) decides what the indicator keeps — so the step lists them and blocks.
- `reconciliation_clean`: every paid voucher of the year reconciled with its bank, no open difference or
  quarantined message of the region.
- `close`: closing → closed once every other step is done.

`fiscal_year_start` (not a checklist step) lets the next year take payments once this one has stopped.
"""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse

from ibms.core import audit
from ibms.core.errors import Conflict
from ibms.core.scoping import require_perm
from ibms.masterdata.models import FiscalYear
from ibms.treasury import services as treasury
from ibms.treasury.models import PaymentVoucher, ReconDifference

from .lifecycle import Blocked, StepContext, region_name, region_write_require, runner

CHUNK = 200
FY = FiscalYear.Status


def _year_move(ctx: StepContext, to: str, event: str) -> None:
    with transaction.atomic(durable=True):
        fy = FiscalYear.objects.select_for_update().get(region_code=ctx.region_code, year=ctx.year)
        if fy.status == to:
            return
        before = fy.status
        audit.update_fields(fy, status=to)
        audit.record_event(event, region_code=ctx.region_code, obj=fy,
                           payload={"year": ctx.year, "from": before, "to": to})


@runner("begin")
def begin(ctx: StepContext) -> dict:
    nxt = FiscalYear.objects.filter(region_code=ctx.region_code, year=ctx.year + 1).first()
    if nxt is None:
        raise Blocked("begin", [{"label": f"{region_name(ctx.region_code)}尚未设立{ctx.year + 1}年度，"
                                          "结转指标无处可去（基础信息 → 预算年度）",
                                 "url": "/masterdata/fiscal-years/"}])
    _year_move(ctx, FY.CLOSING, "closing.year_closing")
    return {"next_year_status": nxt.status}


def _voucher_item(v: PaymentVoucher) -> dict:
    return {"label": f"支付凭证 {v.number}（{v.get_state_display()}，{v.amount / 100:,.2f} 元）待银行结果",
            "url": reverse("treasury:voucher-detail", args=[v.pk]), "kind": "voucher_in_flight"}


@runner("payments_settled")
def payments_settled(ctx: StepContext) -> dict:
    ids = list(treasury.requests_in_review(ctx.region_code, ctx.year).values_list("id", flat=True))
    returned = 0
    for start in range(0, len(ids), CHUNK):
        with transaction.atomic(durable=True):
            for pk in ids[start:start + CHUNK]:
                returned += treasury.request_year_end_return(actor=ctx.actor, request_id=pk) is not None
        ctx.progress(start + len(ids[start:start + CHUNK]), len(ids))
    flying = [_voucher_item(v) for v in treasury.vouchers_in_flight(ctx.region_code, ctx.year)]
    if flying:
        raise Blocked("payments_settled", flying)
    return {"requests_returned": returned}


@runner("reconciliation_clean")
def reconciliation_clean(ctx: StepContext) -> dict:
    items: list[dict] = []
    unreconciled = (PaymentVoucher.objects.filter(region_code=ctx.region_code, year=ctx.year,
                                                  state__in=[PaymentVoucher.State.PAID, PaymentVoucher.State.CLEARED])
                    .order_by("xpay_date", "agent_bank_code", "number"))
    days: dict[tuple, int] = {}
    for v in unreconciled:
        key = (v.xpay_date or v.vou_date, v.agent_bank_code)
        days[key] = days.get(key, 0) + 1
    for (day, bank), n in days.items():
        items.append({"label": f"{day:%Y-%m-%d} 代理银行 {bank or '—'} 有 {n} 笔已支付凭证未对账",
                      "url": reverse("treasury:reconciliation") + f"?date={day:%Y-%m-%d}", "kind": "day_unreconciled"})
    for d in ReconDifference.objects.filter(region_code=ctx.region_code, status=ReconDifference.Status.OPEN) \
            .select_related("voucher").order_by("id"):
        if d.voucher is not None and d.voucher.year != ctx.year:
            continue
        items.append({"label": f"对账差异待处理：{d.get_kind_display()} {d.voucher.number if d.voucher else ''}".strip(),
                      "url": reverse("treasury:reconciliation"), "kind": "difference_open"})
    if items:
        raise Blocked("reconciliation_clean", items)
    return {"vouchers_reconciled": PaymentVoucher.objects.filter(
        region_code=ctx.region_code, year=ctx.year, state__in=PaymentVoucher.PAID_STATES).count()}


@runner("close")
def close(ctx: StepContext) -> dict:
    _year_move(ctx, FY.CLOSED, "closing.year_closed")
    return {"status": FY.CLOSED}


def fiscal_year_start(*, actor, region_code: str, year: int) -> FiscalYear:
    """开始执行: a preparing year becomes executing (it takes payments) once the year before it has stopped
    paying (closing or closed) — a region has one executing year at a time. Refused otherwise; a rerun on an
    executing year changes nothing."""
    require_perm(actor, "closing.run_yearstep")
    region_write_require(actor, region_code)
    with transaction.atomic(durable=True):
        fy = FiscalYear.objects.select_for_update().filter(region_code=region_code, year=year).first()
        if fy is None:
            raise Conflict("fiscal_year_missing", f"{region_name(region_code)}未设立{year}年度")
        if fy.status == FY.EXECUTING:
            return fy
        if fy.status != FY.PREPARING:
            raise Conflict("year_status", f"{region_name(region_code)}{year}年度{fy.get_status_display()}，不能开始执行")
        prev = FiscalYear.objects.filter(region_code=region_code, year=year - 1).first()
        if prev is not None and prev.status in (FY.PREPARING, FY.EXECUTING):
            raise Conflict("previous_year_executing", f"{region_name(region_code)}{year - 1}年度{prev.get_status_display()}，"
                           f"须先开始年终结账，{year}年度才能开始执行")
        audit.update_fields(fy, status=FY.EXECUTING)
        audit.record_event("closing.year_started", region_code=region_code, obj=fy,
                           payload={"year": year, "from": FY.PREPARING, "to": FY.EXECUTING})
        return fy
