"""Reads of unit funds: the region's policy, a unit's accounts with their balances (booked, held by requests in
flight, available), incomes, statement lines and the alerts raised on them, and the `ibms verify` check."""

from __future__ import annotations

from django.db.models import Sum

from ibms.core.scoping import VIEW
from ibms.masterdata.models import Region

from .models import AccountEntry, FundsPolicy, Income, StatementDay, StatementLine, UnitAccount

IN_FLIGHT = ("submitted", "approved")  # treasury requests holding money of the account until the receipt
ALERT_KIND = "unit_statement_line"


def policy_get(region_code: str) -> FundsPolicy:
    """The region's own row, else the nearest upper region's, else the default ('')."""
    region = Region.objects.filter(code=region_code).first()
    codes = [c for c in (region.path.strip("/").split("/")[::-1] if region else [region_code]) if c] + [""]
    rows = {p.region_code: p for p in FundsPolicy.objects.filter(region_code__in=codes)}
    for c in codes:
        if c in rows:
            return rows[c]
    return FundsPolicy(region_code="")


def held(ua: UnitAccount, *, exclude_request_id: int | None = None) -> int:
    """What requests submitted or approved (not yet paid) against this account hold."""
    from ibms.treasury.models import PaymentRequest

    qs = PaymentRequest.objects.filter(region_code=ua.region_code, pay_acct_no=ua.bank_account.account_no,
                                       status__in=IN_FLIGHT, fund_nature_code__startswith="3")
    if exclude_request_id:
        qs = qs.exclude(pk=exclude_request_id)
    return qs.aggregate(s=Sum("amount"))["s"] or 0


def account_list(*, actor):
    return UnitAccount.objects.restrict(actor, VIEW).select_related("bank_account", "unit").order_by("unit_path", "id")


def balances(*, actor) -> list[dict]:
    """Every account in scope: balance (booked), held (in flight), available."""
    out = []
    for ua in account_list(actor=actor):
        h = held(ua)
        out.append({"account": ua, "balance": ua.balance, "held": h, "available": ua.balance - h})
    return out


def income_list(*, actor, account_id: int | None = None):
    qs = Income.objects.restrict(actor, VIEW).select_related("kind", "account__bank_account", "unit")
    if account_id:
        qs = qs.filter(account_id=account_id)
    return qs.order_by("-id")


def statement_lines(*, actor, account_id: int | None = None, match: str = ""):
    qs = StatementLine.objects.restrict(actor, VIEW).select_related("account__bank_account", "account__unit")
    if account_id:
        qs = qs.filter(account_id=account_id)
    if match:
        qs = qs.filter(match=match)
    return qs.order_by("-statement_date", "-id")


def statement_days(*, actor):
    """The days of each account the T+1 feed has read from the bank, newest first."""
    return StatementDay.objects.restrict(actor, VIEW).select_related("account__bank_account").order_by(
        "-statement_date", "account_id")


def alert_list(*, actor):
    """The monitoring alerts (疑点) raised on unit-account statement lines, in the actor's scope."""
    from ibms.monitoring.models import Alert

    return Alert.objects.restrict(actor, VIEW).filter(subject_kind=ALERT_KIND).order_by("-id")


def balance_problems() -> list[str]:
    """`ibms verify`: each account's cached balance equals the sum of its entries."""
    sums = dict(AccountEntry.objects.values("account_id").annotate(s=Sum("amount")).values_list("account_id", "s"))
    return [f"实有资金账户 {ua.pk} 余额 {ua.balance} ≠ 明细合计 {sums.get(ua.pk, 0)}"
            for ua in UnitAccount.objects.all() if ua.balance != sums.get(ua.pk, 0)]


def match_problems() -> list[str]:
    """`ibms verify`: every matched statement debit is explained by one request paying that amount from its account."""
    from ibms.treasury.models import PaymentRequest

    lines = list(StatementLine.objects.filter(match=StatementLine.Match.MATCHED)
                 .values_list("pk", "request_id", "amount", "account__bank_account__account_no"))
    reqs = {pk: (acct, amt) for pk, acct, amt in PaymentRequest.objects.filter(
        pk__in={ln[1] for ln in lines}).values_list("pk", "pay_acct_no", "amount")}
    out, seen = [], set()
    for pk, req_id, amount, account_no in lines:
        if reqs.get(req_id) != (account_no, amount):
            out.append(f"对账单明细 {pk} 匹配的支付申请 {req_id} 不是从账户 {account_no} 支付 {amount} 分")
        if req_id in seen:
            out.append(f"支付申请 {req_id} 匹配了多笔对账单明细")
        seen.add(req_id)
    return out
