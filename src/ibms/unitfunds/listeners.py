"""What unit funds hang on treasury and monitoring (registered in `apps.ready`):

- `profile(indicator)` (treasury request profile): an indicator of fund nature 3 (单位资金) pays from the unit's
  实有资金账户, with the region policy's voucher type and the `unitfunds.payment` review chain (no finance
  treasury step unless data/unitfunds/policy.csv says so).
- `submit_check(req, indicator)`: on submit, the account exists and its balance less what other requests in flight
  hold covers the request (the account row is locked in the submit's transaction, so two submits queue).
- `on_receipt(voucher, amount, date)`: the bank's receipt takes the payment off the account's balance.
- `statement_source(...)` (monitoring payment source): unmatched statement debits for the T+1 batch and back-tests.
"""

from __future__ import annotations

import datetime as dt

from ibms.core.errors import Violation
from ibms.core.money import format_fen

from . import domain, ledger
from .models import AccountEntry, StatementLine, UnitAccount
from .selectors import ALERT_KIND, held, policy_get
from .setup import DOC_PAYMENT


def _account_of(unit_id: int | None) -> UnitAccount | None:
    if unit_id is None:
        return None
    return (UnitAccount.objects.select_related("bank_account", "bank_account__bank")
            .filter(unit_id=unit_id, is_active=True, bank_account__is_active=True).order_by("id").first())


def profile(indicator):
    from ibms.treasury.hooks import RequestProfile

    if indicator is None or not domain.is_unit_funds(indicator.fund_nature_code):
        return None
    ua = _account_of(indicator.unit_id)
    return RequestProfile(payer=ua.bank_account if ua else None, vt_code=policy_get(indicator.region_code).vt_code,
                          chain_doc=DOC_PAYMENT)


def submit_check(req, indicator) -> list[Violation]:
    if not domain.is_unit_funds(indicator.fund_nature_code):
        return []
    ua = (UnitAccount.objects.select_for_update().select_related("bank_account")
          .filter(region_code=req.region_code, bank_account__account_no=req.pay_acct_no, unit_id=req.unit_id,
                  is_active=True).first() if req.pay_acct_no else None)
    if ua is None:
        return [Violation("unit_account_missing", "单位资金须从本单位登记的实有资金账户支付，未找到可用的实有资金账户",
                          "pay_acct_no")]
    usable = ua.balance - held(ua, exclude_request_id=req.pk)
    if usable < req.amount:
        return [Violation("unit_account_overdraw",
                          f"实有资金账户 {ua.bank_account.account_no} 可用余额 {format_fen(usable)} 元，不足支付 "
                          f"{format_fen(req.amount)} 元", "amount")]
    return []


def on_receipt(voucher, amount: int, date: dt.date) -> None:
    req = voucher.request if voucher.request_id else None
    if req is None or not domain.is_unit_funds(req.fund_nature_code):
        return
    ua = (UnitAccount.objects.select_for_update().select_related("bank_account")
          .filter(region_code=req.region_code, bank_account__account_no=req.pay_acct_no).first())
    if ua is None or AccountEntry.objects.filter(account=ua, kind=AccountEntry.Kind.PAYMENT,
                                                 ref=voucher.number).exists():
        return
    ledger.credit(ua, kind=AccountEntry.Kind.PAYMENT, amount=-amount, ref=voucher.number, day=date)


def candidates(ua: UnitAccount) -> list[domain.Candidate]:
    """Approved or paid requests paying from `ua`, with their voucher numbers."""
    from ibms.treasury.models import PaymentRequest, PaymentVoucher

    reqs = list(PaymentRequest.objects.filter(region_code=ua.region_code, pay_acct_no=ua.bank_account.account_no,
                                              status__in=("approved", "paid"))
                .values_list("pk", "payee_account_no", "amount"))
    numbers = dict(PaymentVoucher.objects.filter(request_id__in=[r[0] for r in reqs])
                   .values_list("request_id", "number"))
    return [domain.Candidate(pk, numbers.get(pk, ""), acct, amt) for pk, acct, amt in reqs]


def _context(sl: StatementLine) -> dict:
    from ibms.monitoring.context import calendar_facts

    ua = sl.account
    unit = ua.unit
    return {
        "payment": {"region_code": sl.region_code, "year": sl.statement_date.year, "number": sl.serial,
                    "amount": sl.amount, **calendar_facts(sl.statement_date, sl.region_code), "set_mode": "1",
                    "pay_method": "", "purpose": sl.summary or sl.counterparty_name, "fund_nature_code": "3",
                    "statement_match": sl.match},
        "unit": {"code": unit.code, "name": unit.name, "unit_type": unit.unit_type,
                 "department_code": unit.department.code if unit.department_id else unit.code,
                 "region_code": unit.region_code},
        "payee": {"name": sl.counterparty_name, "account_no": sl.counterparty_account, "in_directory": True},
    }


def _subject(sl: StatementLine):
    from ibms.monitoring.services import Subject

    return Subject(kind=ALERT_KIND, object_id=str(sl.pk), number=f"{sl.account.bank_account.account_no}/{sl.serial}",
                   region_code=sl.region_code, unit_path=sl.unit_path, unit_name=sl.account.unit.name,
                   amount=sl.amount, date=sl.statement_date)


def alerts_for(actor, lines: list[StatementLine]) -> int:
    """The batch-stage rules over unmatched debits; alerts raised in the caller's transaction. Returns how many."""
    from ibms.monitoring import engine
    from ibms.monitoring import services as mon

    n = 0
    for sl in lines:
        hits = engine.evaluate(_context(sl), stage="batch")
        if hits:
            n += len(mon.alerts_raise(actor=actor, hits=hits, subject=_subject(sl)))
    return n


def statement_source(region_codes: set[str] | None, date_from: dt.date, date_to: dt.date):
    qs = (StatementLine.objects.filter(match=StatementLine.Match.UNMATCHED, statement_date__gte=date_from,
                                       statement_date__lte=date_to)
          .select_related("account__bank_account", "account__unit", "account__unit__department").order_by("id"))
    if region_codes is not None:
        qs = qs.filter(region_code__in=region_codes)
    for sl in qs.iterator():
        yield _subject(sl), _context(sl)

