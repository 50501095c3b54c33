"""Pure treasury rules on plain values (no database): a draft's input shapes and field rules, the voucher type,
the classification match, the accounting events a payment posts, the submit fingerprint."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field

from ibms.core.errors import Violation
from ibms.core.money import Fen

from .models import PayMethod, SetMode

ACCOUNT_RE = re.compile(r"^[0-9]{6,32}$")
MAX_BATCH_LINES = 50_000


# --- a draft's input ------------------------------------------------------------------------------------------

@dataclass
class PayeeIn:
    payee_id: int | None = None
    name: str = ""
    account_no: str = ""
    bank_name: str = ""
    bank_code: str = ""
    kind: str = "corporate"


@dataclass
class LineIn:
    payee_name: str
    payee_account_no: str
    payee_bank_name: str
    amount: Fen
    id_no: str = ""
    remark: str = ""


@dataclass
class DraftIn:
    indicator_id: int
    amount: Fen = 0  # batch: the sum of the lines
    purpose: str = ""
    payee: PayeeIn = field(default_factory=PayeeIn)
    set_mode_code: str = SetMode.TRANSFER
    pay_type_code: str | None = None  # None: the indicator's
    contract_id: int | None = None
    milestone: int | None = None  # the contract's payment-schedule period (合同付款期次)
    expense: str = "business"
    exp_func_code: str = ""
    dep_eco_code: str = ""
    gov_eco_code: str = ""
    fund_nature_code: str = ""
    lines: list[LineIn] | None = None  # batch (payroll-style)
    is_payroll: bool = False
    business_type: str = ""  # 支付业务类型; blank: derived from the department economic class
    installation: bool = False  # a fixed asset that needs installing (在建工程 1613)


def manual_payee(p: PayeeIn) -> tuple[list[Violation], dict]:
    """A payee typed in by hand (not from the directory): its problems and its normalized fields."""
    v: list[Violation] = []
    name, acct, bank = p.name.strip(), re.sub(r"\s", "", p.account_no or ""), p.bank_name.strip()
    if not name:
        v.append(Violation("payee_name_required", "必须填写收款人名称", "payee_name"))
    if not ACCOUNT_RE.match(acct):
        v.append(Violation("payee_account_invalid", "收款账号必须是6至32位数字", "payee_account_no"))
    if not bank:
        v.append(Violation("payee_bank_required", "必须填写收款人开户银行", "payee_bank_name"))
    if p.bank_code and not re.match(r"^[0-9]{12}$", p.bank_code):
        v.append(Violation("payee_bank_code_invalid", "联行号必须是12位数字", "payee_bank_code"))
    return v, {"payee": None, "payee_name": name[:120], "payee_kind": p.kind or "corporate",
               "payee_account_no": acct[:32], "payee_bank_name": bank[:100], "payee_bank_code": p.bank_code}


def line_violations(lines: list[LineIn]) -> list[Violation]:
    v: list[Violation] = []
    if not lines:
        v.append(Violation("lines_required", "批量支付至少需要一条明细", "lines"))
    if len(lines) > MAX_BATCH_LINES:
        v.append(Violation("too_many_lines", f"批量支付明细不能超过 {MAX_BATCH_LINES} 条", "lines"))
    for n, ln in enumerate(lines, 1):
        if not ln.payee_name.strip():
            v.append(Violation("payee_name_required", f"第{n}行：必须填写收款人", "lines"))
        if not ACCOUNT_RE.match(re.sub(r"\s", "", ln.payee_account_no or "")):
            v.append(Violation("payee_account_invalid", f"第{n}行：收款账号必须是6至32位数字", "lines"))
        if not ln.payee_bank_name.strip():
            v.append(Violation("payee_bank_required", f"第{n}行：必须填写开户银行", "lines"))
        if not isinstance(ln.amount, int) or isinstance(ln.amount, bool) or ln.amount <= 0:
            v.append(Violation("amount_not_positive", f"第{n}行：金额必须大于零", "lines"))
        if len(v) >= 50:
            v.append(Violation("too_many_errors", "错误过多，仅列出前50条", "lines"))
            break
    return v


# --- pay method, voucher type, classification ------------------------------------------------------------------

def pay_method_of_code(pay_type_code: str) -> str | None:
    """支付方式 by the pay type: "11…" 财政直接支付 → direct, "12…" 财政授权支付 → authorized, else None (the
    region's default applies)."""
    code = (pay_type_code or "").strip()
    if code.startswith("11") or code == "001001":
        return PayMethod.DIRECT
    if code.startswith("12") or code == "001002":
        return PayMethod.AUTHORIZED
    return None


def vt_code_for(pay_method: str, is_batch: bool) -> str:
    if is_batch:
        return "8207"
    return "8202" if pay_method == PayMethod.AUTHORIZED else "5201"


def eco_match(wanted: str, have: str) -> bool:
    """A request's code matches the indicator's when equal, or when the indicator's is a higher level (prefix)."""
    return not have or wanted == have or wanted.startswith(have)


CLASSIFICATIONS = (("资金性质", "fund_nature_code", True), ("支出功能分类", "exp_func_code", True),
                   ("部门经济分类", "dep_eco_code", False), ("政府经济分类", "gov_eco_code", False))


def classification_violations(mine: dict[str, str], theirs: dict[str, str]) -> list[Violation]:
    """The request's classification codes against the indicator's (field name → code); economic classes may be
    more detailed than the indicator's."""
    v: list[Violation] = []
    for label, name, exact in CLASSIFICATIONS:
        ours, its = mine[name], theirs[name]
        ok = (ours == its) if exact else eco_match(ours, its)
        if not ok:
            v.append(Violation("classification_mismatch", f"{label} {ours or '（空）'} 与指标的 {its} 不一致", name))
    return v


def payment_request_submit_hash(pk: int, explanation: str) -> str:
    """The fingerprint of a submit, stored with its idempotency key."""
    return hashlib.sha256(json.dumps({"pk": pk, "explanation": explanation.strip()}, ensure_ascii=False,
                                     sort_keys=True).encode()).hexdigest()


def hit_dict(h) -> dict:
    return {"rule_id": h.rule_id, "rule_code": h.rule_code, "rule_version": h.rule_version, "name": h.name,
            "action": h.action, "message": h.message}


# --- accounting events ------------------------------------------------------------------------------------------

FINANCE_EVENT = {"payment.receipted": "treasury.paid", "payment.refunded": "treasury.refunded"}


def posting_events(req, *, event_type: str, event_id: str, amount: int) -> list[dict]:
    """The accounting events a receipt (or refund) of payment request `req` posts: the unit's, then the finance
    bureau's (reads the request's own fields and its indicator's source kind)."""
    dims = {"exp_func": req.exp_func_code, "dep_eco": req.dep_eco_code, "gov_eco": req.gov_eco_code,
            "fund_nature": req.fund_nature_code, "project": req.project_code, "payee": req.payee_name[:120]}
    # money of a carried (上年结转) indicator draws down 财政应返还额度 / 国库集中支付结余 (posting rules *.carried*)
    carried = {"source_kind": "carry_over"} if req.indicator.source.kind == "carry_over" else {}
    return [
        {"event_id": event_id, "event_type": event_type, "amounts": {"amount": amount}, "dimensions": dims,
         "attrs": {"pay_method": req.pay_method, "expense": req.expense, "business_type": req.business_type,
                   "installation": req.installation, **carried},
         "unit_id": req.unit_id, "year": req.year},
        {"event_id": f"fin-{event_id}", "event_type": FINANCE_EVENT[event_type], "amounts": {"amount": amount},
         "dimensions": {"exp_func": req.exp_func_code, "fund_nature": req.fund_nature_code,
                        "dep_eco": req.dep_eco_code, "gov_eco": req.gov_eco_code},
         "attrs": carried, "region_code": req.region_code, "year": req.year},
    ]


def as_date(value) -> dt.date | None:
    """A date from a bank message field (a date or an ISO string), None when it is not one."""
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None
