"""The monitoring context of a payment request (schema: `ibms.monitoring.context`), and the payment source
monitoring's T+1 batch and back-tests read executed payments from.

Only the `history.*` keys the active rules use (`engine.history_needed`) are computed, each with one query.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import Count, Q, Sum
from django.utils import timezone

from ibms.core import clock
from ibms.indicators.models import Indicator
from ibms.masterdata.models import BankAccount, BlacklistEntry, Payee, Unit
from ibms.procurement.models import ProcurementPlan

from .models import Contract, PaymentRequest, PaymentVoucher

COUNTED = (PaymentRequest.Status.SUBMITTED, PaymentRequest.Status.APPROVED, PaymentRequest.Status.PAID)
OWN_FUNDS_EXCLUDED = ("11", "12", "21", "22", "31")  # zero-balance and treasury accounts are not own funds


def _when(req: PaymentRequest) -> dt.datetime:
    return timezone.localtime(req.submitted_at or clock.now())


def _others(req: PaymentRequest):
    qs = PaymentRequest.objects.filter(region_code=req.region_code, status__in=COUNTED)
    return qs.exclude(pk=req.pk) if req.pk else qs


def history(req: PaymentRequest, keys: Iterable[str], *, when: dt.datetime) -> dict:
    """The history aggregates the rules in force need, in at most three indexed queries: this payee's requests of
    the last 90 days (rows: the 30-day list and the units paying it), one conditional aggregate over this unit's
    requests (cash in 30 days, same economic class this year, this indicator), and the unit's budget for the
    economic class."""
    keys = set(keys)
    out: dict = {}
    day = when.date()
    others = _others(req)
    d30, d90 = when - dt.timedelta(days=30), when - dt.timedelta(days=90)
    if keys & {"payee_30d_count", "payee_30d_amount", "payee_30d_amounts", "payee_units_90d"} and req.payee_account_no:
        rows = list(others.filter(payee_account_no=req.payee_account_no, submitted_at__gte=d90,
                                  submitted_at__lte=when).values_list("unit_id", "amount", "submitted_at"))
        amounts = [a for u, a, at in rows if u == req.unit_id and at >= d30]
        out.update(payee_30d_count=len(amounts), payee_30d_amount=sum(amounts), payee_30d_amounts=amounts,
                   payee_units_90d=len({u for u, _a, _at in rows}))
    sums = {}
    if keys & {"unit_cash_30d_count", "unit_cash_30d_amount"}:
        cash = Q(set_mode_code="3", submitted_at__gte=d30, submitted_at__lte=when)
        sums.update(unit_cash_30d_count=Count("id", filter=cash), unit_cash_30d_amount=Sum("amount", filter=cash))
    if "unit_eco_paid_ytd" in keys:
        sums["unit_eco_paid_ytd"] = Sum("amount", filter=Q(year=req.year, dep_eco_code=req.dep_eco_code))
    if keys & {"indicator_paid_ytd", "indicator_paid_dec"}:
        mine = Q(indicator_id=req.indicator_id)
        sums.update(indicator_paid_ytd=Sum("amount", filter=mine),
                    indicator_paid_dec=Sum("amount", filter=mine & Q(submitted_at__month=12,
                                                                      submitted_at__year=day.year)))
    if sums:
        scope = Q(unit_id=req.unit_id) | Q(indicator_id=req.indicator_id)
        out.update({k: v or 0 for k, v in others.filter(scope).aggregate(**sums).items()})
    if "unit_eco_budget" in keys:
        out["unit_eco_budget"] = (Indicator.objects.filter(unit_id=req.unit_id, year=req.year,
                                                           dep_eco_code=req.dep_eco_code)
                                  .aggregate(s=Sum("amount"))["s"] or 0)
    return out


def _own_funds(unit: Unit, account_no: str) -> bool:
    if not account_no:
        return False
    q = Q(unit__path__startswith=unit.path) | Q(unit_id=unit.department_id) if unit.department_id else \
        Q(unit__path__startswith=unit.path)
    return BankAccount.objects.filter(q, account_no=account_no).exclude(account_type__in=OWN_FUNDS_EXCLUDED).exists()


def _blacklisted(req: PaymentRequest, day: dt.date) -> bool:
    if not req.payee_account_no and not req.payee_name:
        return False
    q = Q(name=req.payee_name) | (Q(account_no=req.payee_account_no) if req.payee_account_no else Q(pk__in=[]))
    return BlacklistEntry.objects.filter(q, status=BlacklistEntry.Status.ACTIVE, valid_from__lte=day).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gte=day)).exists()


def inline_check(req: PaymentRequest, *, indicator: Indicator, contract: Contract | None) -> tuple[dict, list]:
    """The in-line monitoring of a request on submit: its context and the hits. The history aggregates are
    computed only for the rules that reach them (`engine.evaluate(history=…)`)."""
    from ibms.monitoring import engine

    when = _when(req)
    ctx = build(req, indicator=indicator, contract=contract, stage="inline", when=when, with_history=False)
    hits = engine.evaluate(ctx, stage="inline", history=lambda keys: history(req, keys, when=when))
    return ctx, hits


def build(req: PaymentRequest, *, indicator: Indicator | None = None, contract: Contract | None = None,
          stage: str = "inline", when: dt.datetime | None = None, with_history: bool = True) -> dict:
    """The context of one request (before its own reservation: `indicator.available` excludes it); with the
    history aggregates the rules in force use, unless `with_history` is False."""
    from ibms.monitoring import engine
    from ibms.monitoring.context import calendar_facts

    ind = indicator or Indicator.objects.get(pk=req.indicator_id)
    unit = req.unit
    when = when or _when(req)
    day = when.date()
    contract = contract if contract is not None else (Contract.objects.filter(pk=req.contract_id).first()
                                                       if req.contract_id else None)
    dep_eco = req.dep_eco_code or ""
    # a contract filed against a 采购计划 pays from its own freeze on the indicator (procurement.ledger.plan_draw)
    held = (ProcurementPlan.objects.filter(pk=contract.plan_id).values_list("frozen", flat=True).first() or 0
            if contract is not None and contract.plan_id and stage == "inline" else 0)
    payment = {
        "region_code": req.region_code, "year": req.year, "number": req.number, "amount": req.amount,
        **calendar_facts(when, req.region_code),
        "set_mode": req.set_mode_code, "pay_method": req.pay_method, "purpose": req.purpose,
        "is_payroll": req.is_payroll, "is_batch": req.is_batch, "line_count": req.line_count,
        "contract_no": contract.number if contract else "", "contract_amount": contract.amount if contract else 0,
        "contract_paid_before": contract.paid if contract else 0,
        "fund_nature_code": req.fund_nature_code, "exp_func_code": req.exp_func_code, "dep_eco_code": dep_eco,
        "gov_eco_code": req.gov_eco_code,
    }
    indicator_ctx = {
        "code": ind.code, "fund_nature_code": ind.fund_nature_code, "exp_func_code": ind.exp_func_code,
        "dep_eco_code": ind.dep_eco_code, "gov_eco_code": ind.gov_eco_code, "amount": ind.amount,
        "available": ind.available + min(held, req.amount), "spent": ind.spent, "is_gov_pur": ind.is_gov_pur, "is_track": ind.is_track,
        "is_sangong": ind.is_sangong, "is_sanbao": ind.is_sanbao,
        "is_personnel": (ind.dep_eco_code or dep_eco)[:3] in ("301", "303"),
        "project_code": req.project_code,
    }
    unit_ctx = {"code": unit.code, "name": unit.name, "unit_type": unit.unit_type,
                "department_code": req.department_code, "region_code": unit.region_code}
    in_directory = bool(req.payee_id) or (bool(req.payee_account_no) and Payee.objects.filter(
        region_code=req.region_code, account_no=req.payee_account_no, is_active=True).exists())
    payee = {"name": req.payee_name, "kind": req.payee_kind or "corporate", "account_no": req.payee_account_no,
             "bank_name": req.payee_bank_name, "in_directory": in_directory,
             "is_blacklisted": _blacklisted(req, day), "is_own_funds_account": _own_funds(unit, req.payee_account_no)}
    needed = engine.history_needed(req.region_code, stage) if with_history else frozenset()
    return {"payment": payment, "indicator": indicator_ctx, "unit": unit_ctx, "payee": payee,
            "history": history(req, needed, when=when) if needed else {}}


def payment_source(region_codes: set[str] | None, date_from: dt.date, date_to: dt.date):
    """Executed payments (vouchers with a receipt, paid between the dates) with their contexts, for monitoring's
    T+1 batch and back-tests (registered with `monitoring.sources.register_payment_source`)."""
    from ibms.monitoring.services import Subject

    qs = (PaymentVoucher.objects.filter(request__isnull=False, xpay_date__gte=date_from, xpay_date__lte=date_to,
                                        state__in=PaymentVoucher.PAID_STATES)
          .select_related("request", "request__unit", "request__indicator", "request__contract").order_by("id"))
    if region_codes is not None:
        qs = qs.filter(region_code__in=region_codes)
    for v in qs.iterator(chunk_size=500):
        req = v.request
        ctx = build(req, indicator=req.indicator, contract=req.contract, stage="batch",
                    when=timezone.localtime(req.submitted_at) if req.submitted_at else None)
        subject = Subject(kind="payment_request", object_id=str(req.pk), number=req.number,
                          region_code=req.region_code, unit_path=req.unit_path, unit_name=req.unit.name,
                          amount=req.amount, date=v.xpay_date or clock.today(req.region_code))
        yield subject, ctx
