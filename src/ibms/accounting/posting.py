"""The posting engine's rule evaluation: a business event + the posting rules in force → voucher lines.

Pure evaluation (reads the rules, writes nothing); `services.event_post` validates and writes.

An event is (event_type, amounts, dimensions, attrs):
- `amounts`: named integer fen amounts, e.g. {"amount": 1200000} or {"tax": 500, "social": 800, "employer": 900}.
- `dimensions`: the auxiliary dimensions (`models.DIMENSIONS`: exp_func, dep_eco, gov_eco, project,
  fund_nature, payee, department) as plain codes/names.
- `attrs`: other facts the rules test (`ATTR_DEFAULTS`): pay_method direct | centralized | authorized
  (and "" for non-fiscal money), expense business (5001) | admin (5101), installation (1613 instead of
  1601), via treasury | current (补助下级 through 1001 or 1031), source_account (closing steps),
  business_type (支付业务类型, `models.BusinessType`; goods_services by default).

Rule conditions, line conditions and `=`-prefixed account/amount cells are CEL expressions over one flat
context: the dimensions, the attrs, the amounts, and derived values — `unit_type` (organ | institution |
other; "" for a finance bureau), `chart` (unit | fiscal), `fiscal` (fund nature 1xx = 财政拨款资金),
`approp` ("01" 一般公共预算 / "02" 政府性基金 / "03" 国有资本经营, from fund nature 11x/12x/13x, the
sub-account suffix of 4001/6001), and on the unit chart `debit_account` — what the event's business type
debits (5001/5101 for goods and services, 2201 for salaries against the accrued payable, 2102/2307 for
remitted withholdings, 1601/1613 for fixed assets …, `data/accounting/business_types.csv`). A plain account cell may use `{name}` placeholders from the same
context (`4001.{approp}`). CEL is used (rather than hand-written matching) because it is what the
architecture prescribes for rules administrators edit: sandboxed, no `eval`, compiled once.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field

import cel

from ibms.core.errors import ValidationFailed, Violation, invalid
from ibms.core.money import format_fen

from .models import (
    DIMENSION_LABELS,
    DIMENSIONS,
    AccountSet,
    Basis,
    BusinessType,
    ChartKind,
    PostingRule,
    Side,
)

ATTR_DEFAULTS: dict[str, object] = {"pay_method": "", "expense": "business", "installation": False, "via": "",
                                    "source_account": "", "business_type": "goods_services"}
APPROP_BY_FUND = {"11": "01", "12": "02", "13": "03"}
CLOSING_PREFIX = "closing."  # closing steps move balances: a negative amount posts on the other side


@dataclass(frozen=True)
class LineSpec:
    """A line to write: account by code, amount on one side (negative only on reversals), dimensions."""

    basis: str
    account_code: str
    debit: int = 0
    credit: int = 0
    dims: dict[str, str] = field(default_factory=dict)
    summary: str = ""


@dataclass
class Evaluation:
    rule: PostingRule
    lines: list[LineSpec]
    summary: str


@functools.lru_cache(maxsize=2048)
def _program(expr: str):
    return cel.compile(expr)


def _eval(expr: str, ctx: dict, what: str):
    try:
        prog = _program(expr)
    except ValueError as exc:
        raise invalid("rule_invalid", f"记账规则表达式有误（{what}）：{expr}", "rule") from exc
    names = prog.references()["variables"]
    scope = {n: ctx.get(n, 0) for n in names}  # an amount the event does not carry is 0
    try:
        return prog.execute(scope)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise invalid("rule_invalid", f"记账规则表达式无法求值（{what}）：{expr}", "rule") from exc


def event_context(account_set: AccountSet, amounts: dict[str, int], dimensions: dict[str, str],
                  attrs: dict[str, object]) -> dict[str, object]:
    clash = (set(amounts) & (set(dimensions) | set(attrs))) | (set(dimensions) & set(attrs))
    if clash:
        raise invalid("event_invalid", f"事件字段名重复：{'、'.join(sorted(clash))}", "event")
    unknown = set(dimensions) - set(DIMENSIONS)
    if unknown:
        raise invalid("unknown_dimension", f"未知的辅助核算维度：{'、'.join(sorted(unknown))}", "dimensions")
    ctx: dict[str, object] = {name: "" for name in DIMENSIONS}
    ctx.update(ATTR_DEFAULTS)
    ctx.update(attrs)
    ctx.update({k: (v or "") for k, v in dimensions.items()})
    fund = str(ctx["fund_nature"])
    ctx.update(unit_type=account_set.unit_type, chart=account_set.kind, fiscal=fund.startswith("1"),
               approp=APPROP_BY_FUND.get(fund[:2], "01"))
    ctx.update(amounts)
    if account_set.kind == ChartKind.UNIT:
        ctx["debit_account"] = debit_account(account_set.year, str(ctx["business_type"]), ctx)
    return ctx


def debit_account(year: int, business_type: str, ctx: dict) -> str:
    """The financial-accounting account a payment of this business type debits (code or CEL over the event)."""
    expr = (BusinessType.objects.filter(year=year, code=business_type, is_active=True)
            .values_list("debit_account", flat=True).first())
    if expr is None:
        raise invalid("business_type_unknown", f"{year}年度没有支付业务类型“{business_type}”", "business_type")
    if expr[:1].isdigit():
        return expr
    code = _eval(expr, ctx, f"业务类型 {business_type} 的借方科目")
    if not isinstance(code, str):
        raise invalid("rule_invalid", f"业务类型 {business_type} 的借方科目不是编码", "business_type")
    return code


def rules_for(account_set: AccountSet, event_type: str) -> list[PostingRule]:
    return list(PostingRule.objects.filter(year=account_set.year, event_type=event_type, is_active=True,
                                           chart_kind=account_set.chart.kind)
                .order_by("priority", "code").prefetch_related("lines"))


def select_rule(account_set: AccountSet, event_type: str, ctx: dict) -> PostingRule:
    rules = rules_for(account_set, event_type)
    if not rules:
        raise invalid("no_posting_rule", f"{account_set.year}年度没有业务事件“{event_type}”的记账规则", "event_type")
    for rule in rules:
        if not rule.condition:
            return rule
        ok = _eval(rule.condition, ctx, f"规则 {rule.code} 的条件")
        if not isinstance(ok, bool):
            raise invalid("rule_invalid", f"记账规则 {rule.code} 的条件不是真假值", "rule")
        if ok:
            return rule
    raise invalid("no_posting_rule", f"业务事件“{event_type}”没有适用的记账规则（请检查支付方式、资金性质等）",
                  "event_type")


def _fmt(text: str, ctx: dict) -> str:
    try:
        return text.format_map(ctx)
    except (KeyError, ValueError, IndexError) as exc:
        raise invalid("rule_invalid", f"记账规则科目/摘要模板有误：{text}", "rule") from exc


def evaluate(account_set: AccountSet, event_type: str, amounts: dict[str, int], dimensions: dict[str, str],
             attrs: dict[str, object]) -> Evaluation:
    """Pick the rule and build the lines. Refuses missing required dimensions, bad amounts and any result
    that does not balance in each basis."""
    for name, value in amounts.items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise invalid("amount_invalid", f"金额“{name}”必须是整数（分）", "amounts")
    ctx = event_context(account_set, amounts, dimensions, attrs)
    rule = select_rule(account_set, event_type, ctx)
    missing = [d for d in rule.required_dims if not ctx.get(d)]
    if missing:
        raise ValidationFailed([Violation("missing_dimension", f"缺少辅助核算：{DIMENSION_LABELS[d]}（{d}）",
                                          "dimensions") for d in missing], message="业务事件数据不完整")
    closing = event_type.startswith(CLOSING_PREFIX)
    lines: list[LineSpec] = []
    for ln in rule.lines.all():
        if ln.condition:
            ok = _eval(ln.condition, ctx, f"规则 {rule.code} 第{ln.seq}行条件")
            if not isinstance(ok, bool):
                raise invalid("rule_invalid", f"记账规则 {rule.code} 第{ln.seq}行条件不是真假值", "rule")
            if not ok:
                continue
        if ln.amount_field.startswith("="):
            amount = _eval(ln.amount_field[1:], ctx, f"规则 {rule.code} 第{ln.seq}行金额")
        else:
            amount = amounts.get(ln.amount_field, 0)
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise invalid("rule_invalid", f"记账规则 {rule.code} 第{ln.seq}行金额不是整数", "rule")
        if amount == 0:
            continue
        side = ln.side
        if amount < 0:
            if not closing:
                raise invalid("amount_negative", "业务事件金额不能为负数（退回请使用退回事件）", "amounts")
            amount, side = -amount, Side.CREDIT if side == Side.DEBIT else Side.DEBIT
        if ln.account.startswith("="):
            code = _eval(ln.account[1:], ctx, f"规则 {rule.code} 第{ln.seq}行科目")
            if not isinstance(code, str):
                raise invalid("rule_invalid", f"记账规则 {rule.code} 第{ln.seq}行科目不是编码", "rule")
        else:
            code = _fmt(ln.account, ctx)
        names = list(DIMENSIONS) if "*" in ln.copy_dims else ln.copy_dims
        dims = {d: str(dimensions[d]) for d in names if dimensions.get(d)}
        lines.append(LineSpec(basis=ln.basis, account_code=code, dims=dims,
                              debit=amount if side == Side.DEBIT else 0, credit=amount if side == Side.CREDIT else 0))
    if rule.lines.all() and not lines:
        raise invalid("amount_zero", "业务事件金额为零，不生成凭证", "amounts")
    unbalanced = imbalance(lines)
    if unbalanced:
        raise ValidationFailed([Violation("rule_unbalanced", f"记账规则 {rule.code} 生成的{Basis(b).label}分录借贷不平"
                                          f"（差额 {format_fen(d)}）", "rule") for b, d in unbalanced.items()],
                               message="记账规则不平衡，拒绝记账")
    summary = _fmt(rule.summary, {**ctx, "payee": f"：{ctx['payee']}" if ctx.get("payee") else ""})
    return Evaluation(rule=rule, lines=lines, summary=summary)


def imbalance(lines: list[LineSpec]) -> dict[str, int]:
    """basis → debit − credit, for each basis that does not balance."""
    diff: dict[str, int] = {}
    for ln in lines:
        diff[ln.basis] = diff.get(ln.basis, 0) + ln.debit - ln.credit
    return {b: d for b, d in diff.items() if d}


def event_date_ok(account_set: AccountSet, date: dt.date) -> bool:
    return date.year == account_set.year
