"""Pure procurement rules on plain values: the method's amount range and the split-purchase (化整为零) rule.
Each returns (refusals, warnings) as lists of violations; the rule rows come from `data/procurement/`."""

from __future__ import annotations

from dataclasses import dataclass

from ibms.core.errors import Violation
from ibms.core.money import Fen, MoneyError, format_fen, parse_yuan


@dataclass(frozen=True)
class MethodRule:
    method: str
    min_fen: int | None
    max_fen: int | None
    action: str  # refuse | warn
    message: str


@dataclass(frozen=True)
class SplitRule:
    threshold_fen: int
    action: str  # refuse | warn


@dataclass
class PlanIn:
    indicator_id: int
    catalogue_code: str
    method: str
    name: str
    amount: Fen = 0
    quantity: int = 1
    reason: str = ""


def _split_by_action(items: list[tuple[str, Violation]]) -> tuple[list[Violation], list[Violation]]:
    return [v for a, v in items if a == "refuse"], [v for a, v in items if a != "refuse"]


def method_check(method: str, amount: int, rules: list[MethodRule]) -> tuple[list[Violation], list[Violation]]:
    """The method's rows: an amount outside [min, max) gets the row's action; a row with no bounds always warns."""
    out: list[tuple[str, Violation]] = []
    for r in rules:
        if r.method != method:
            continue
        if r.min_fen is None and r.max_fen is None:
            if r.message:
                out.append(("warn", Violation("method_note", f"{method}：{r.message}", "method")))
            continue
        if r.min_fen is not None and amount < r.min_fen:
            out.append((r.action, Violation("method_below_threshold",
                                            f"{method}适用于 {format_fen(r.min_fen)} 元及以上的采购，本计划 "
                                            f"{format_fen(amount)} 元：{r.message}", "method")))
        if r.max_fen is not None and amount >= r.max_fen:
            out.append((r.action, Violation("method_above_threshold",
                                            f"本计划 {format_fen(amount)} 元达到 {format_fen(r.max_fen)} 元：{r.message}",
                                            "method")))
    return _split_by_action(out)


def split_check(amount: int, others: list[int], rule: SplitRule | None) -> tuple[list[Violation], list[Violation]]:
    """化整为零: this plan and the unit's other plans of the same item and year are each below the threshold, but
    together reach it."""
    if rule is None or not others or amount >= rule.threshold_fen:
        return [], []
    small = [a for a in others if a < rule.threshold_fen]
    total = amount + sum(small)
    if total < rule.threshold_fen:
        return [], []
    v = Violation("split_purchase",
                  f"同一单位、同一品目、同一年度已有 {len(small)} 个采购计划，连同本计划合计 {format_fen(total)} 元，"
                  f"达到公开招标数额标准 {format_fen(rule.threshold_fen)} 元：不得化整为零规避公开招标", "amount")
    return _split_by_action([(rule.action, v)])


def milestone_violations(amount: int, milestones: list[tuple[str, int]]) -> list[Violation]:
    """A contract's payment schedule: every milestone named and positive, summing to the contract amount."""
    v: list[Violation] = []
    if not milestones:
        return [Violation("milestones_required", "必须填写付款计划（至少一期）", "milestones")]
    for n, (name, amt) in enumerate(milestones, 1):
        if not (name or "").strip():
            v.append(Violation("milestone_name_required", f"第{n}期付款必须填写名称", f"milestones[{n - 1}].name"))
        if not isinstance(amt, int) or isinstance(amt, bool) or amt <= 0:
            v.append(Violation("milestone_amount_invalid", f"第{n}期付款金额必须大于零", f"milestones[{n - 1}].amount"))
    total = sum(a for _, a in milestones if isinstance(a, int))
    if not v and total != amount:
        v.append(Violation("milestones_sum_mismatch", f"付款计划合计 {format_fen(total)} 元，与合同金额 "
                                                      f"{format_fen(amount)} 元不一致", "milestones"))
    return v


def milestone_lines(text: str) -> list[tuple[str, Fen]]:
    """A form's payment schedule, one period a line: `名称,金额元` (full-width comma too). Raises ValueError naming
    the first bad line."""
    out = []
    for n, line in enumerate((text or "").splitlines(), 1):
        if not line.strip():
            continue
        name, _, amount = line.replace("，", ",").rpartition(",")
        try:
            out.append((name.strip(), parse_yuan(amount.strip())))
        except MoneyError as exc:
            raise ValueError(f"第{n}行金额不正确") from exc
    return out
