"""Pure ledger rules on plain values: the inputs of the movements, bucket arithmetic, the 调剂 rules, pairing
of out/in lines, the transfer deadline."""

from __future__ import annotations

import csv
import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from ibms.core.errors import Violation, invalid
from ibms.core.money import Fen, format_fen

BUCKET_NAMES = {"available": "可用余额", "reserved": "预占", "spent": "已支付", "frozen": "冻结",
                "allotted": "已下达/转出"}
# what running a bucket below zero means, per bucket: (code, message)
SHORTFALL = {
    "available": ("overdraw", "可用余额不足"),
    "reserved": ("reserved_exceeds", "预占余额不足"),
    "spent": ("restore_exceeds", "退回金额超过已支付金额"),
    "frozen": ("unfreeze_exceeds", "解冻金额超过冻结金额"),
    "allotted": ("allotted_exceeds", "收回金额超过已下达金额"),
}
PERSONNEL_PROJECT_CATEGORY = "1"  # value set pro_kind: 人员类
PERSONNEL_ECO_PREFIXES = ("301", "303")  # 工资福利支出, 对个人和家庭的补助: personnel uses without a project


# --- what the movements take -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Doc:
    """The document a movement rests on. An existing number of the right kind in the region is reused."""

    doc_no: str
    title: str = ""
    doc_date: dt.date | None = None
    upper_doc_no: str = ""
    adj_batch_no: str = ""


@dataclass
class IndicatorSpec:
    """One indicator to create (budgeting's reply lines, adjustments, the generator)."""

    amount: Fen
    fund_nature_code: str
    exp_func_code: str
    unit_id: int | None = None
    department_id: int | None = None
    project_id: int | None = None
    gov_eco_code: str = ""
    dep_eco_code: str = ""
    pay_type_code: str = ""
    source_type_code: str = ""  # default: from the source document's kind (data/indicators/source_kinds.csv)
    bgt_type_code: str = ""
    is_executable: bool = True
    is_gov_pur: bool = False
    is_track: bool = False
    is_sanbao: bool = False
    is_sangong: bool = False  # not used to create: derived from dep_eco_code (masterdata.selectors.is_sangong)
    rec_region_code: str = ""
    summary: str = ""


@dataclass(frozen=True)
class Split:
    """One line of a distribution (分配): an executable indicator for a unit, classification refinable."""

    unit_id: int
    amount: Fen
    project_id: int | None = None
    exp_func_code: str = ""
    dep_eco_code: str = ""
    gov_eco_code: str = ""
    summary: str = ""


@dataclass(frozen=True)
class ReallocIn:
    """An in-line of a 调剂: an existing indicator, or a new one for a unit/project/classification."""

    amount: Fen
    indicator_id: int | None = None
    unit_id: int | None = None
    project_id: int | None = None
    exp_func_code: str = ""
    dep_eco_code: str = ""
    gov_eco_code: str = ""


def amount_require_positive(amount: int, field: str = "amount") -> None:
    """Money moved is a positive integer of fen (a bool is not a number here)."""
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise invalid("amount_not_positive", "金额必须大于零", field)


# --- the ledger's arithmetic -------------------------------------------------------------------------------


def apply(buckets: dict[str, int], deltas: dict[str, int]) -> tuple[dict[str, int], tuple[str, str, int] | None]:
    """New buckets after a movement, and the first bucket driven negative as (code, message, shortfall)."""
    new = dict(buckets)
    for name, d in deltas.items():
        new[name] = new.get(name, 0) + d
    new["amount"] = buckets.get("amount", 0) + sum(deltas.values())
    for name in BUCKET_NAMES:
        if new.get(name, 0) < 0:
            code, message = SHORTFALL[name]
            return new, (code, message, -new[name])
    return new, None


@dataclass(frozen=True)
class Side:
    """One indicator as the 调剂 rules see it."""

    key: str  # indicator code, or a label for a new receiving indicator
    fund_nature_code: str
    is_personnel: bool
    is_sangong: bool = False
    is_track: bool = False
    is_gov_pur: bool = False
    available: int = 0
    exists: bool = True


def reallocation_violations(outs: list[tuple[Side, int]], ins: list[tuple[Side, int]]) -> list[Violation]:
    """Every reason a 调剂 must be refused (DOMAIN §10): all of them, so the user sees them at once."""
    v: list[Violation] = []
    if not outs or not ins:
        v.append(Violation("lines_required", "调剂必须至少有一条调出和一条调入", "lines"))
        return v
    if any(amount <= 0 for _, amount in (*outs, *ins)):
        v.append(Violation("amount_not_positive", "调剂金额必须大于零", "amount"))
    total_out, total_in = sum(a for _, a in outs), sum(a for _, a in ins)
    if total_out != total_in:
        v.append(Violation("unbalanced", f"调出合计 {format_fen(total_out)} 与调入合计 {format_fen(total_in)} 不相等",
                           "amount"))
    out_keys = {s.key for s, _ in outs}
    if any(s.exists and s.key in out_keys for s, _ in ins):
        v.append(Violation("same_indicator", "同一指标不能既调出又调入", "lines"))
    natures = {s.fund_nature_code for s, _ in (*outs, *ins)}
    if len(natures) > 1:
        v.append(Violation("cross_fund_nature", "调剂不能跨资金性质（" + "、".join(sorted(natures)) + "）",
                           "fund_nature_code"))
    for s, _ in ins:  # new receiving indicators too: a 三公 class never receives (the flag follows the class)
        if s.is_sangong:
            v.append(Violation("sangong_increase", f"三公经费指标 {s.key} 只减不增，不能作为调入方", "lines"))
    if any(s.is_personnel for s, _ in outs):
        for s, _ in ins:
            if not s.is_personnel:
                v.append(Violation("personnel_out", f"人员类指标不能调剂用于其他用途（调入 {s.key} 不是人员类）", "lines"))
    for flag, code, label in (("is_track", "track_flag_lost", "直达资金"), ("is_gov_pur", "gov_pur_flag_lost", "政府采购")):
        if any(getattr(s, flag) for s, _ in outs):
            for s, _ in ins:
                if s.exists and not getattr(s, flag):
                    v.append(Violation(code, f"调出指标为{label}，调入指标 {s.key} 必须同样标识{label}", "lines"))
    wanted: dict[str, int] = {}
    avail: dict[str, int] = {}
    for s, amount in outs:
        wanted[s.key] = wanted.get(s.key, 0) + amount
        avail[s.key] = s.available
    for key, amount in wanted.items():
        if amount > avail[key]:
            v.append(Violation("overdraw", f"指标 {key} 可用余额 {format_fen(avail[key])} 不足调出 {format_fen(amount)}",
                               "amount"))
    return v


def pair(outs: list[tuple[int, int]], ins: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """Match out lines to in lines in order: (out index, in index, amount); each pair nets to zero."""
    pairs: list[tuple[int, int, int]] = []
    oi = ii = 0
    out_left = outs[0][1] if outs else 0
    in_left = ins[0][1] if ins else 0
    while oi < len(outs) and ii < len(ins):
        x = min(out_left, in_left)
        if x > 0:
            pairs.append((outs[oi][0], ins[ii][0], x))
        out_left -= x
        in_left -= x
        if out_left == 0:
            oi += 1
            out_left = outs[oi][1] if oi < len(outs) else 0
        if in_left == 0:
            ii += 1
            in_left = ins[ii][1] if ii < len(ins) else 0
    return pairs


def is_personnel(project_category: str | None, dep_eco_code: str) -> bool:
    if project_category:
        return project_category == PERSONNEL_PROJECT_CATEGORY
    return dep_eco_code.startswith(PERSONNEL_ECO_PREFIXES)


# --- configurable facts (data/indicators/*.csv; unverified in DOMAIN-REFERENCE) ---------------------------

def _read(name: str) -> list[dict[str, str]]:
    with open(Path(settings.DATA_DIR) / "indicators" / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@functools.cache
def source_codes() -> dict[str, tuple[str, str]]:
    """Source-document kind → (指标来源 bgt_source code, 指标类型 bgt_type code)."""
    return {r["kind"]: (r["bgt_source_code"], r["bgt_type_code"]) for r in _read("source_kinds.csv")}


@functools.cache
def transfer_deadline_days() -> dict[str, int]:
    """Transfer type → days after the upper level's budget approval within which it must be issued."""
    return {r["transfer_type"]: int(r["days_after_approval"]) for r in _read("transfer_deadlines.csv")}


def transfer_due_date(approval: dt.date | None, transfer_type: str, kind: str) -> dt.date | None:
    """The date a formal transfer must be issued by: the upper level's approval plus its type's days; none for an
    advance notice, an unknown type or an upper indicator that did not come from a budget reply."""
    days = transfer_deadline_days().get(transfer_type)
    return approval + dt.timedelta(days=days) if approval and days is not None and kind == "transfer_formal" \
        else None
