"""The T+1 feed of unit accounts: every day the worker (periodic job ``unitfunds.statement_feed``) asks the agent
bank over the network for yesterday's statement of each registered 实有资金账户 (the banks app's statement protocol,
VT 4005, ``account=``; the seal verified) and hands the lines to :func:`.services.statement_day_apply`, which
matches the debits to the approved requests and raises an alert (rule UF-01) on each debit no request explains.

Once per account and day: a day already read is skipped before the bank is asked, and the service refuses to read
it twice (two workers at once). The bank is asked outside any transaction; an account whose bank cannot be reached
is left unread (logged, in the result) and tried again on the next run."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from ibms.core import clock, outbox
from ibms.core.context import acting, actor_of
from ibms.core.errors import DomainError
from ibms.core.scoping import VIEW, require_perm

from . import services
from .domain import StatementLineIn
from .models import StatementDay, UnitAccount
from .services import P_READ_STATEMENT

log = logging.getLogger("ibms.unitfunds")
FEED_EVERY_SECONDS = 3600  # the job looks every hour; each account's yesterday is read once


@dataclass
class FeedResult:
    date: dt.date
    read: int = 0  # accounts whose day was read by this run
    skipped: int = 0  # already read before
    lines: int = 0
    unmatched: int = 0
    alerts: int = 0
    failed: list[str] = field(default_factory=list)  # "account: reason" of accounts left for the next run


def _amount(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def lines_of(details: list[dict]) -> list[StatementLineIn]:
    """The bank's statement details as our statement lines (amounts already int fen)."""
    return [StatementLineIn(serial=str(d.get("Serial") or ""), direction=str(d.get("Direction") or ""),
                            amount=_amount(d.get("PayAmt")), counterparty_account=str(d.get("CounterAcctNo") or ""),
                            counterparty_name=str(d.get("CounterAcctName") or ""),
                            voucher_no=str(d.get("VoucherNo") or ""), summary=str(d.get("Summary") or ""))
            for d in details]


def account_feed(*, actor, account: UnitAccount, date: dt.date) -> StatementDay | None:
    """Fetch one account's statement of `date` from its bank and apply it (None: the day was read already)."""
    from ibms.banks import services as banks

    ba = account.bank_account
    msg = banks.account_statement_fetch(region_code=account.region_code,
                                        agent_bank_code=ba.bank.code if ba.bank_id else None,
                                        account_no=ba.account_no, date=date)
    return services.statement_day_apply(actor=actor, account_id=account.pk, statement_date=date,
                                        lines=lines_of(list(msg.details)))


def feed_run(*, actor, date: dt.date) -> FeedResult:
    """读取实有资金账户对账单: every active unit account in the actor's scope not yet read for `date`."""
    require_perm(actor, P_READ_STATEMENT)
    res = FeedResult(date=date)
    accounts = (UnitAccount.objects.restrict(actor, VIEW).filter(is_active=True, bank_account__is_active=True)
                .select_related("bank_account", "bank_account__bank").order_by("id"))
    done = set(StatementDay.objects.filter(statement_date=date).values_list("account_id", flat=True))
    for ua in accounts:
        if ua.pk in done:
            res.skipped += 1
            continue
        try:
            day = account_feed(actor=actor, account=ua, date=date)
        except DomainError as exc:
            log.warning("unit account %s statement %s not read: %s", ua.bank_account.account_no, date, exc)
            res.failed.append(f"{ua.bank_account.account_no}：{exc.message}")
            continue
        if day is None:
            res.skipped += 1
            continue
        res.read += 1
        res.lines += day.lines
        res.unmatched += day.unmatched
        res.alerts += day.alerts
    return res


def feed_daily() -> int:
    """Worker job: yesterday's statement of every unit account, as the system user. Returns the accounts read."""
    from ibms.iam.services import system_user

    if not UnitAccount.objects.filter(is_active=True).exists():
        return 0
    system = system_user()
    with acting(actor_of(system)):
        res = feed_run(actor=system, date=clock.today() - dt.timedelta(days=1))
    return res.read


def register() -> None:
    outbox.periodic("unitfunds.statement_feed", FEED_EVERY_SECONDS)(feed_daily)
