"""The only writers of unit funds. Each function owns its durable transaction, except the hooks of
:mod:`.listeners`, which run inside treasury's.

- `unit_account_register`: a unit's bank account (of a type the region's policy allows) becomes a 实有资金账户.
- `income_record`: 单位资金收入 into a unit account — booked through `accounting.event_post`
  (`unitfunds.income_received`: Dr 1002 / Cr 4101·4401·46xx, Dr 8001.01 / Cr 6101·6401·6609) and added to the
  account's balance, in one transaction.
- `statement_read` (by hand) and `statement_day_apply` (the T+1 feed of :mod:`.feed`, once per account and day): a
  unit account's bank statement: every debit matched to the approved requests paying from the account; an
  unmatched one is evaluated by the monitoring engine (rule UF-01, data/unitfunds/rules.csv) and raised as an
  alert in the same transaction.
Payments out of a unit account go through treasury's request → review → voucher → bank → receipt chain
(:mod:`.listeners` gives it the payer account, voucher type and review chain, refuses an overdraw on submit and
takes the receipt off the balance)."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction

from ibms.accounting import services as acc
from ibms.core import audit, clock
from ibms.core.errors import Conflict, ValidationFailed, Violation, invalid
from ibms.core.money import fen_to_str, format_fen
from ibms.core.numbering import next_number
from ibms.core.scoping import check_write_scope, get_in_scope, require_perm
from ibms.masterdata.models import BankAccount

from . import domain
from .domain import IncomeIn, StatementLineIn
from .ledger import credit as _credit
from .models import UNIT_SCOPE, AccountEntry, Income, IncomeKind, StatementDay, StatementLine, UnitAccount
from .selectors import policy_get

P_ADD_ACCOUNT, P_ADD_INCOME, P_READ_STATEMENT = ("unitfunds.add_unitaccount", "unitfunds.add_income",
                                                 "unitfunds.add_statementline")


def _actor_or_none(actor):
    return actor if getattr(actor, "pk", None) else None


def unit_account_register(*, actor, bank_account_id: int) -> UnitAccount:
    """登记实有资金账户: the unit's bank account, of a type the region's policy lists (普通收款账户 …)."""
    require_perm(actor, P_ADD_ACCOUNT)
    with transaction.atomic(durable=True):
        ba = get_in_scope(BankAccount.objects.select_related("unit"), actor, what="银行账户", pk=bank_account_id)
        if ba.unit_id is None:
            raise invalid("not_unit_account", "财政的账户不能登记为单位实有资金账户", "bank_account_id")
        check_write_scope(actor, region_code=ba.region_code, unit_path=ba.unit.path, spec=UNIT_SCOPE)
        allowed = policy_get(ba.region_code).account_types.split()
        if ba.account_type not in allowed or not ba.is_active:
            raise invalid("account_type_not_allowed",
                          f"账户类型 {ba.account_type} 不能登记为实有资金账户（允许：{'、'.join(allowed)}）或账户已停用",
                          "bank_account_id")
        if UnitAccount.objects.filter(bank_account=ba).exists():
            raise Conflict("unit_account_exists", f"账户 {ba.account_no} 已登记为实有资金账户")
        ua = UnitAccount.objects.create(region_code=ba.region_code, unit=ba.unit, unit_path=ba.unit.path,
                                        bank_account=ba)
        audit.record_change(ua, "create")
        audit.record_event("unitfunds.account_registered", obj=ua, region_code=ua.region_code,
                           message=f"登记实有资金账户 {ba.account_no}", payload={"account_no": ba.account_no})
        return ua


def income_record(*, actor, data: IncomeIn) -> Income:
    """录入单位资金收入: the income document, its accounting voucher and the account's balance, in one transaction."""
    require_perm(actor, P_ADD_INCOME)
    v = domain.income_violations(data)
    kind = IncomeKind.objects.filter(code=(data.kind_code or "").strip()).first()
    if kind is None:
        v.append(Violation("income_kind_unknown", "收入分类不存在", "kind_code"))
    if v:
        raise ValidationFailed(v, message="单位资金收入填写有误")
    with transaction.atomic(durable=True):
        ua = get_in_scope(UnitAccount.objects.select_for_update().select_related("bank_account", "unit"), actor,
                          what="实有资金账户", pk=data.account_id)
        check_write_scope(actor, region_code=ua.region_code, unit_path=ua.unit_path, spec=UNIT_SCOPE)
        if not ua.is_active:
            raise invalid("unit_account_inactive", "实有资金账户已停用", "account_id")
        day = data.income_date or clock.today(ua.region_code)
        inc = Income(region_code=ua.region_code, year=day.year, unit=ua.unit, unit_path=ua.unit_path, account=ua,
                     kind=kind, amount=data.amount, income_date=day, payer_name=data.payer_name.strip()[:120],
                     summary=data.summary.strip()[:200], created_by=_actor_or_none(actor))
        inc.number = next_number(f"SR{ua.region_code[:6]}{day:%Y}", key=f"unitfunds-income:{ua.region_code}:{day:%Y}")
        inc.voucher = acc.event_post(
            actor=actor, event_id=f"uf-income:{inc.region_code}:{inc.number}", event_type="unitfunds.income_received",
            date=day, amounts={"amount": inc.amount},
            dimensions={"fund_nature": kind.fund_nature_code, "payee": inc.payer_name},
            attrs={"budget_account": kind.budget_account, "financial_account": kind.financial_account,
                   "income_kind": kind.code},
            unit_id=ua.unit_id, year=day.year, summary=f"{kind.name}：{inc.summary}"[:200])
        inc.save()
        _credit(ua, kind=AccountEntry.Kind.INCOME, amount=inc.amount, ref=inc.number, day=day)
        audit.record_change(inc, "create")
        audit.record_event("unitfunds.income_recorded", obj=inc, region_code=inc.region_code,
                           message=f"{kind.name} {format_fen(inc.amount)} 元 入 {ua.bank_account.account_no}",
                           payload={"number": inc.number, "amount": fen_to_str(inc.amount), "kind": kind.code})
        return inc


def _store_lines(actor, ua: UnitAccount, statement_date: dt.date, lines: list[StatementLineIn]
                 ) -> tuple[list[StatementLine], int]:
    """In the caller's transaction (the account row locked): the new lines stored, debits matched, alerts raised on
    the unmatched ones. Returns (lines stored, alerts raised)."""
    from . import listeners

    known = set(StatementLine.objects.filter(account=ua).values_list("serial", flat=True))
    taken = set(StatementLine.objects.filter(account=ua, request_id__isnull=False).values_list("request_id", flat=True))
    candidates = listeners.candidates(ua)
    out: list[StatementLine] = []
    for ln in lines:
        serial = ln.serial.strip()[:60]
        if serial in known:
            continue
        req_id = domain.match(ln, candidates, taken) if ln.direction == "debit" else None
        if req_id is not None:
            taken.add(req_id)
        m = (StatementLine.Match.CREDIT if ln.direction == "credit"
             else StatementLine.Match.MATCHED if req_id else StatementLine.Match.UNMATCHED)
        try:
            with transaction.atomic():
                sl = StatementLine.objects.create(
                    account=ua, region_code=ua.region_code, unit_path=ua.unit_path, statement_date=statement_date,
                    serial=serial, direction=ln.direction, amount=ln.amount,
                    counterparty_account=(ln.counterparty_account or "")[:32],
                    counterparty_name=(ln.counterparty_name or "")[:120], voucher_no=(ln.voucher_no or "")[:40],
                    summary=(ln.summary or "")[:200], match=m, request_id=req_id)
        except IntegrityError:
            continue
        known.add(serial)
        out.append(sl)
    unmatched = [sl for sl in out if sl.match == StatementLine.Match.UNMATCHED]
    raised = listeners.alerts_for(actor, unmatched)
    audit.record_event("unitfunds.statement_read", obj=ua, region_code=ua.region_code,
                       message=f"读入 {ua.bank_account.account_no} {statement_date} 对账单 {len(out)} 笔，"
                               f"未匹配支出 {len(unmatched)} 笔",
                       payload={"date": statement_date.isoformat(), "lines": len(out), "unmatched": len(unmatched),
                                "alerts": raised})
    return out, raised


def _locked_account(actor, account_id: int) -> UnitAccount:
    ua = get_in_scope(UnitAccount.objects.select_for_update().select_related("bank_account", "unit"), actor,
                      what="实有资金账户", pk=account_id)
    check_write_scope(actor, region_code=ua.region_code, unit_path=ua.unit_path, spec=UNIT_SCOPE)
    return ua


def statement_read(*, actor, account_id: int, statement_date: dt.date, lines: list[StatementLineIn]
                   ) -> list[StatementLine]:
    """读入实有资金账户对账单 (by hand, e.g. a paper statement): lines stored once per bank serial (a line read
    again is skipped); every debit matched to an approved request paying from the account; unmatched debits go
    through the monitoring engine and raise alerts, in one transaction. Returns the lines stored by this call."""
    require_perm(actor, P_READ_STATEMENT)
    v = domain.line_violations(lines)
    if v:
        raise ValidationFailed(v, message="对账单有误")
    with transaction.atomic(durable=True):
        return _store_lines(actor, _locked_account(actor, account_id), statement_date, lines)[0]


def statement_day_apply(*, actor, account_id: int, statement_date: dt.date, lines: list[StatementLineIn]
                        ) -> StatementDay | None:
    """The T+1 feed's day of one account, as the bank sent it (:mod:`.feed`): its lines stored, matched and alerted
    like :func:`statement_read`, and the day recorded, in one transaction. A day already read changes nothing and
    returns None (the daily job may run twice, or two workers at once)."""
    require_perm(actor, P_READ_STATEMENT)
    v = domain.line_violations(lines) if lines else []
    if v:
        raise ValidationFailed(v, message="银行对账单有误")
    with transaction.atomic(durable=True):
        ua = _locked_account(actor, account_id)
        if StatementDay.objects.filter(account=ua, statement_date=statement_date).exists():
            return None
        out, raised = _store_lines(actor, ua, statement_date, lines)
        return StatementDay.objects.create(
            account=ua, region_code=ua.region_code, unit_path=ua.unit_path, statement_date=statement_date,
            lines=len(out), unmatched=sum(1 for sl in out if sl.match == StatementLine.Match.UNMATCHED),
            alerts=raised)
