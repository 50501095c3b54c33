"""Periods and the year: the open period a voucher goes into, closing and reopening (结账 / 反结账) a month,
and closing a set for good (年结)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from ibms.core import audit
from ibms.core.errors import Conflict, invalid
from ibms.core.scoping import CHANGE, VIEW, check_write_scope, get_in_scope, require_perm
from ibms.core.transactions import in_callers_transaction

from ..models import AccountSet, Period, Voucher


@in_callers_transaction
def period_lock(aset: AccountSet, date: dt.date) -> Period:
    """The (locked) period of `date`; refuses a date outside the set's year or in a closed period."""
    if aset.status != AccountSet.Status.ACTIVE:
        raise invalid("set_closed", f"账套“{aset.name}”已年结，不能记账")
    if date.year != aset.year:
        raise invalid("date_outside_year", f"凭证日期 {date} 不在账套会计年度 {aset.year} 内", "date")
    period = Period.objects.select_for_update().get(account_set=aset, number=date.month)
    if period.status == Period.Status.CLOSED:
        raise invalid("period_closed", f"{aset.year}年{date.month}月已结账，不能记账", "date")
    return period


def period_close(*, actor, pk: int) -> Period:
    """Close a period: every earlier period closed, no voucher of the period left unposted."""
    require_perm(actor, "accounting.close_period")
    with transaction.atomic(durable=True):
        period = get_in_scope(Period.objects.select_for_update(), actor, CHANGE, what="会计期间", pk=pk)
        if period.status == Period.Status.CLOSED:
            raise Conflict("already_closed", f"{period}已结账")
        earlier_open = Period.objects.filter(account_set_id=period.account_set_id, number__lt=period.number,
                                             status=Period.Status.OPEN).order_by("number").first()
        if earlier_open is not None:
            raise invalid("close_out_of_order", f"请先结账{earlier_open.number}月，期间须按顺序结账", "period")
        pending = Voucher.objects.filter(account_set_id=period.account_set_id, period=period).exclude(
            status=Voucher.Status.POSTED).count()
        if pending:
            raise invalid("unposted_vouchers", f"本期还有 {pending} 张凭证未记账，不能结账", "period")
        audit.update_fields(period, status=Period.Status.CLOSED, closed_at=timezone.now(), closed_by=actor)
        audit.record_event("accounting.period_closed", obj=period, payload={"number": period.number})
        return period


def account_set_close(*, actor, pk: int) -> AccountSet:
    """年结: once all 12 periods are closed, the set is closed for good (no posting, no reopening)."""
    require_perm(actor, "accounting.close_period")
    with transaction.atomic(durable=True):
        aset = get_in_scope(AccountSet.objects.select_for_update(), actor, VIEW, what="账套", pk=pk)
        check_write_scope(actor, region_code=aset.region_code, unit_path=aset.unit_path or None,
                          spec=Period.scope_spec)
        if aset.status == AccountSet.Status.CLOSED:
            raise Conflict("already_closed", f"账套“{aset.name}”已年结")
        open_ = Period.objects.filter(account_set=aset, status=Period.Status.OPEN).count()
        if open_:
            raise invalid("periods_open", f"还有 {open_} 个会计期间未结账，不能年结", "period")
        audit.update_fields(aset, status=AccountSet.Status.CLOSED)
        audit.record_event("accounting.set_closed", obj=aset, payload={"year": aset.year})
        return aset


def period_reopen(*, actor, pk: int) -> Period:
    """Reopen (反结账) the latest closed period only."""
    require_perm(actor, "accounting.close_period")
    with transaction.atomic(durable=True):
        period = get_in_scope(Period.objects.select_for_update(), actor, CHANGE, what="会计期间", pk=pk)
        if period.status != Period.Status.CLOSED:
            raise Conflict("not_closed", f"{period}未结账")
        if Period.objects.filter(account_set_id=period.account_set_id, number__gt=period.number,
                                 status=Period.Status.CLOSED).exists():
            raise invalid("reopen_out_of_order", "只能反结账最后一个已结账期间", "period")
        if AccountSet.objects.filter(pk=period.account_set_id, status=AccountSet.Status.CLOSED).exists():
            raise invalid("set_closed", "账套已年结，不能反结账")
        audit.update_fields(period, status=Period.Status.OPEN, closed_at=None, closed_by=None)
        audit.record_event("accounting.period_reopened", obj=period, payload={"number": period.number})
        return period
