"""Pure rules of unit funds (plain values, no ORM): which fund natures a unit account pays, the fields of an income
and of a statement line (every problem listed), and how a statement debit is matched to the approved requests."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from ibms.core.errors import Violation

OWN_FUND_PREFIX = "3"  # 资金性质 3 单位资金 (事业收入 31, 经营收入 32, 其他收入 39): paid from the unit's own account


def is_unit_funds(fund_nature_code: str) -> bool:
    return (fund_nature_code or "").startswith(OWN_FUND_PREFIX)


@dataclass
class IncomeIn:
    account_id: int
    kind_code: str
    amount: int  # fen
    income_date: dt.date | None = None
    payer_name: str = ""
    summary: str = ""


@dataclass
class StatementLineIn:
    serial: str
    direction: str  # debit | credit
    amount: int  # fen
    counterparty_account: str = ""
    counterparty_name: str = ""
    voucher_no: str = ""
    summary: str = ""


def income_violations(data: IncomeIn) -> list[Violation]:
    v: list[Violation] = []
    if not isinstance(data.amount, int) or isinstance(data.amount, bool) or data.amount <= 0:
        v.append(Violation("amount_not_positive", "金额必须大于零", "amount"))
    if not (data.payer_name or "").strip():
        v.append(Violation("payer_required", "必须填写付款人", "payer_name"))
    if not (data.summary or "").strip():
        v.append(Violation("summary_required", "必须填写摘要", "summary"))
    return v


def line_violations(lines: list[StatementLineIn]) -> list[Violation]:
    v: list[Violation] = []
    seen: set[str] = set()
    if not lines:
        v.append(Violation("lines_required", "对账单没有明细", "lines"))
    for n, ln in enumerate(lines, 1):
        serial = (ln.serial or "").strip()
        if not serial:
            v.append(Violation("serial_required", f"第 {n} 行：必须有银行流水号", f"lines[{n}].serial"))
        elif serial in seen:
            v.append(Violation("serial_duplicate", f"第 {n} 行：流水号 {serial} 重复", f"lines[{n}].serial"))
        seen.add(serial)
        if ln.direction not in ("debit", "credit"):
            v.append(Violation("direction_invalid", f"第 {n} 行：借贷方向须为 debit 或 credit", f"lines[{n}].direction"))
        if not isinstance(ln.amount, int) or isinstance(ln.amount, bool) or ln.amount <= 0:
            v.append(Violation("amount_not_positive", f"第 {n} 行：金额必须大于零", f"lines[{n}].amount"))
    return v


@dataclass(frozen=True)
class Candidate:
    """An approved (voucher issued) or paid request paying from the account."""

    request_id: int
    voucher_no: str
    payee_account_no: str
    amount: int


def match(line: StatementLineIn, candidates: list[Candidate], taken: set[int]) -> int | None:
    """The request a debit line is explained by: the voucher number on the line, else the same payee account and
    amount; each request explains one line (`taken` holds those already used)."""
    free = [c for c in candidates if c.request_id not in taken]
    no = (line.voucher_no or "").strip()
    if no:
        for c in free:
            if c.voucher_no == no and c.amount == line.amount:
                return c.request_id
    acct = re.sub(r"\s", "", line.counterparty_account or "")
    for c in free:
        if acct and c.payee_account_no == acct and c.amount == line.amount:
            return c.request_id
    return None
