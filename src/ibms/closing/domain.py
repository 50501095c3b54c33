"""Pure year-end rules on plain values (no database): what an indicator's unspent balance becomes (结转 or 结余),
and what a person may change on a carry-over line.

`classify(facts, rules, policy)` answers a `Decision` (carry | recall, the rule's code and its Chinese reason):
the region's 零结转 switch recalls everything; otherwise the first rule (by priority) whose conditions all hold
decides, except that money whose lineage has already been carried `max_carry_age` times is recalled whatever the
rule says (结转资金超过两年仍未使用的收回). No rule matching recalls (`DEFAULT`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ibms.core.errors import Violation
from ibms.core.money import format_fen

CARRY, RECALL = "carry", "recall"
DECISIONS = {CARRY: "结转", RECALL: "结余收回"}
SPENDING = {"basic": "基本支出", "project": "项目支出", "none": "无项目"}
TRANSFER = {"in": "上级转移支付", "out": "对下转移支付", "none": "非转移支付"}
BASIC_CATEGORIES = frozenset({"1", "21"})  # projects.Project.Category: 人员类, 公用经费
PROJECT_CATEGORIES = frozenset({"22", "3"})  # 其他运转类, 特定目标类
ENDED_PROJECT_STATUSES = frozenset({"closed", "terminated"})
TRANSFER_KINDS = frozenset({"transfer_advance", "transfer_formal"})


@dataclass(frozen=True)
class Facts:
    """One indicator as the carry-over rules see it."""

    fund_nature_code: str
    spending: str = "none"  # basic | project | none (no project)
    project_category: str = ""
    continues: bool = False  # the project goes on next year
    is_track: bool = False  # 直达资金
    executable: bool = True  # False: a 待分 indicator held by finance
    transfer: str = "none"  # in (received from an upper region, or descended from such) | out (for a lower region)
    carried: int = 0  # how many times its lineage has already been carried over


@dataclass(frozen=True)
class Rule:
    """One row of data/closing/carry_rules.csv. A blank condition (None / '') matches anything."""

    region_code: str
    priority: int
    code: str
    outcome: str
    reason: str
    fund_nature: str = ""  # a prefix of the fund nature code
    spending: str = ""
    project_category: str = ""
    continues: bool | None = None
    track: bool | None = None
    executable: bool | None = None
    transfer: str = ""
    line: int = 0  # the file line, for messages

    def matches(self, f: Facts) -> bool:
        return ((not self.fund_nature or f.fund_nature_code.startswith(self.fund_nature))
                and (not self.spending or f.spending == self.spending)
                and (not self.project_category or f.project_category == self.project_category)
                and (self.continues is None or f.continues == self.continues)
                and (self.track is None or f.is_track == self.track)
                and (self.executable is None or f.executable == self.executable)
                and (not self.transfer or f.transfer == self.transfer))


@dataclass(frozen=True)
class Policy:
    """One row of data/closing/region_policy.csv."""

    region_code: str = ""
    zero_carry: bool = False  # 零结转: everything unspent is recalled
    max_carry_age: int = 2  # money carried this many times already is recalled
    open_reservations: str = "refuse"  # refuse: no proposal while a payment reservation of the year is open


@dataclass(frozen=True)
class Decision:
    decision: str
    rule_code: str
    reason: str


def classify(facts: Facts, rules: tuple[Rule, ...] | list[Rule], policy: Policy) -> Decision:
    if policy.zero_carry:
        return Decision(RECALL, "ZERO_CARRY", "本地区实行零结转，年末未使用资金全部收回财政统筹")
    for rule in sorted(rules, key=lambda r: r.priority):
        if rule.matches(facts):
            if rule.outcome == CARRY and facts.carried >= policy.max_carry_age:
                return Decision(RECALL, "CARRY_AGE", f"该资金已连续结转{facts.carried}年仍未使用，"
                                                     f"超过{policy.max_carry_age}年的结转资金收回财政统筹")
            return Decision(rule.outcome, rule.code, rule.reason)
    return Decision(RECALL, "DEFAULT", "没有适用的结转规则，收回财政统筹")


def spending_of(project_category: str | None) -> str:
    """基本支出 (人员类、公用经费 projects), 项目支出 (其他运转类、特定目标类), or none without a project."""
    if not project_category:
        return "none"
    return "basic" if project_category in BASIC_CATEGORIES else "project"


def project_continues(*, status: str | None, end_year: int | None, year: int) -> bool:
    """A project goes on after `year` when it is neither closed nor terminated and ends in a later year."""
    return bool(status) and status not in ENDED_PROJECT_STATUSES and end_year is not None and end_year > year


def split(decision: str, unspent: int, carry_amount: int | None = None) -> tuple[int, int]:
    """(carried, recalled) of a line: carry takes `carry_amount` (all of it by default), the rest is recalled."""
    if decision == RECALL:
        return 0, unspent
    carry = unspent if carry_amount is None else carry_amount
    return carry, unspent - carry


def change_violations(*, unspent: int, proposed: str, decision: str, carry_amount: int | None,
                      reason: str) -> list[Violation]:
    """Every reason a person's change of a line is refused."""
    v: list[Violation] = []
    if decision not in DECISIONS:
        v.append(Violation("decision_invalid", "处理方式只能是结转或结余收回", "decision"))
        return v
    if carry_amount is not None and (not isinstance(carry_amount, int) or isinstance(carry_amount, bool)):
        v.append(Violation("amount_invalid", "结转金额必须是金额", "carry_amount"))
        return v
    if decision == RECALL and carry_amount:
        v.append(Violation("carry_on_recall", "结余收回的指标不能再填写结转金额", "carry_amount"))
    if decision == CARRY and carry_amount is not None:
        if carry_amount <= 0:
            v.append(Violation("amount_not_positive", "结转金额必须大于零（全部收回请选择结余收回）", "carry_amount"))
        elif carry_amount > unspent:
            v.append(Violation("carry_exceeds_unspent", f"结转金额 {format_fen(carry_amount)} 元超过未使用金额 "
                                                        f"{format_fen(unspent)} 元", "carry_amount"))
    differs = decision != proposed or (decision == CARRY and carry_amount not in (None, unspent))
    if differs and not (reason or "").strip():
        v.append(Violation("reason_required", "与规则建议不同的处理必须填写原因", "reason"))
    return v
