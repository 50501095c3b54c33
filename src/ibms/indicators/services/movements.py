"""Movements behind pages and the API: 分配, 追加, 追减, 调整, 冻结/解冻, 收回 and 年末结转. Each owns its transaction
(`durable=True`) and rests on a source document of the right kind, whose fiscal year must accept it (a closed
or missing year refuses; carry-over writes both years, so carry over first, then close the year)."""

from __future__ import annotations

from django.db import transaction

from ibms.core import audit
from ibms.core.errors import Conflict, NotFound, invalid
from ibms.core.money import fen_to_str, format_fen
from ibms.core.scoping import CHANGE, require_perm
from ibms.core.transactions import in_callers_transaction
from ibms.masterdata.selectors import fiscal_year_require

from .. import domain
from ..domain import Doc, IndicatorSpec, Split, amount_require_positive
from ..ledger import Ledger, indicator_lock, indicators_lock
from ..models import Indicator, IndicatorEntry, SourceDocument
from ._common import INCREASE_KINDS, P_ADD, P_CHANGE, P_DOC, E, Kind, _event
from .creation import _build_rows, _insert
from .sources import _doc, _source_for


def indicator_distribute(*, actor, indicator_id: int, doc: Doc, splits: list[Split]) -> list[Indicator]:
    """分配: split a finance-held 待分 indicator into executable indicators of units (children)."""
    require_perm(actor, P_ADD)
    require_perm(actor, P_CHANGE)
    if not splits:
        raise invalid("lines_required", "请至少填写一条分配明细", "splits")
    for s in splits:
        amount_require_positive(s.amount)
    with transaction.atomic(durable=True):
        parent = indicator_lock(actor, indicator_id)
        if parent.is_executable:
            raise invalid("not_unallocated", "只有待分指标可以分配", "indicator")
        total = sum(s.amount for s in splits)
        if total > parent.available:
            raise Conflict("overdraw", f"指标 {parent.code}：分配合计 {format_fen(total)} 超过可用余额 "
                                       f"{format_fen(parent.available)}",
                           {"indicator": parent.code, "shortfall": fen_to_str(total - parent.available)})
        source = _doc(actor, parent, doc, {Kind.ALLOT}, Kind.ALLOT)
        specs = [IndicatorSpec(
            amount=s.amount, fund_nature_code=parent.fund_nature_code,
            exp_func_code=s.exp_func_code or parent.exp_func_code, unit_id=s.unit_id,
            project_id=s.project_id or parent.project_id, gov_eco_code=s.gov_eco_code or parent.gov_eco_code,
            dep_eco_code=s.dep_eco_code or parent.dep_eco_code, pay_type_code=parent.pay_type_code,
            source_type_code=parent.source_type_code, bgt_type_code=parent.bgt_type_code, is_executable=True,
            is_gov_pur=parent.is_gov_pur, is_track=parent.is_track, is_sanbao=parent.is_sanbao,
            summary=s.summary or parent.summary) for s in splits]
        children = _build_rows(source, specs, parents=[parent] * len(specs))
        _insert(actor, children, counterparts=[parent] * len(children), memo="分配")
        ledger = Ledger(actor)
        for child in children:
            ledger.move(parent, E.DISTRIBUTE_OUT, {"available": -child.amount, "allotted": child.amount},
                        source=source, counterpart=child, memo=f"分配至 {child.code}")
        ledger.write()
        _event("indicators.distributed", parent, source, total, children=[c.code for c in children])
        return children


def indicator_increase(*, actor, indicator_id: int, amount: int, doc: Doc, kind: str = Kind.SUPPLEMENT,
                       memo: str = "") -> IndicatorEntry:
    """追加: more money for an indicator, from a supplement, the reserve fund or an upper-level transfer."""
    require_perm(actor, P_CHANGE)
    amount_require_positive(amount)
    if kind not in INCREASE_KINDS:
        raise invalid("doc_kind_invalid", "追加的依据必须是本级追加、预备费或上级转移支付文件", "kind")
    with transaction.atomic(durable=True):
        ind = indicator_lock(actor, indicator_id)
        if ind.is_sangong:
            raise invalid("sangong_increase", f"三公经费指标 {ind.code} 只减不增，不能追加", "indicator")
        source = _doc(actor, ind, doc, INCREASE_KINDS, kind)
        ledger = Ledger(actor)
        entry = ledger.move(ind, E.INCREASE, {"available": amount}, source=source, memo=memo or "追加")
        ledger.write()
        _event("indicators.increased", ind, source, amount)
        return entry


def indicator_decrease(*, actor, indicator_id: int, amount: int, doc: Doc, memo: str = "") -> IndicatorEntry:
    """追减: less money for an indicator (only from what is still available)."""
    require_perm(actor, P_CHANGE)
    amount_require_positive(amount)
    with transaction.atomic(durable=True):
        ind = indicator_lock(actor, indicator_id)
        source = _doc(actor, ind, doc, {Kind.REDUCTION}, Kind.REDUCTION)
        ledger = Ledger(actor)
        entry = ledger.move(ind, E.DECREASE, {"available": -amount}, source=source, memo=memo or "追减")
        ledger.write()
        _event("indicators.decreased", ind, source, amount)
        return entry


def indicator_adjust(*, actor, indicator_id: int, delta: int, doc: Doc, memo: str = "") -> IndicatorEntry:
    """调整: the legislature's change to an approved indicator (signed), with its 预算调整 document and
    adjustment batch number (adj_batch_no)."""
    require_perm(actor, P_CHANGE)
    if not isinstance(delta, int) or isinstance(delta, bool) or delta == 0:
        raise invalid("amount_zero", "调整金额不能为零", "delta")
    with transaction.atomic(durable=True):
        ind = indicator_lock(actor, indicator_id)
        source = _doc(actor, ind, doc, {Kind.ADJUSTMENT}, Kind.ADJUSTMENT)
        ledger = Ledger(actor)
        entry = ledger.move(ind, E.ADJUST, {"available": delta}, source=source, memo=memo or "预算调整")
        ledger.write()
        _event("indicators.adjusted", ind, source, delta, adj_batch_no=source.adj_batch_no)
        return entry


def indicator_freeze(*, actor, indicator_id: int, amount: int, doc: Doc, reason: str = "") -> IndicatorEntry:
    """冻结: hold part of the available balance (procurement and other holds)."""
    return _hold(actor, indicator_id, amount, doc, reason, freeze=True)


def indicator_unfreeze(*, actor, indicator_id: int, amount: int, doc: Doc, reason: str = "") -> IndicatorEntry:
    """解冻: release a hold back to the available balance."""
    return _hold(actor, indicator_id, amount, doc, reason, freeze=False)


def _hold(actor, indicator_id: int, amount: int, doc: Doc, reason: str, *, freeze: bool) -> IndicatorEntry:
    require_perm(actor, P_CHANGE)
    amount_require_positive(amount)
    with transaction.atomic(durable=True):
        ind = indicator_lock(actor, indicator_id)
        source = _doc(actor, ind, doc, {Kind.HOLD}, Kind.HOLD)
        ledger = Ledger(actor)
        sign = 1 if freeze else -1
        entry = ledger.move(ind, E.FREEZE if freeze else E.UNFREEZE,
                            {"available": -sign * amount, "frozen": sign * amount}, source=source,
                            memo=reason or ("冻结" if freeze else "解冻"))
        ledger.write()
        _event("indicators.frozen" if freeze else "indicators.unfrozen", ind, source, amount, reason=reason[:200])
        return entry


def indicator_recall(*, actor, indicator_id: int, amount: int, doc: Doc, memo: str = "") -> IndicatorEntry:
    """收回: finance takes back available money. An indicator distributed from a 待分 indicator of the same
    region gives it back to that parent (paired entries) while the parent can take it (up to what it
    distributed); otherwise the money goes back to finance's general pool (the amount shrinks)."""
    require_perm(actor, P_CHANGE)
    amount_require_positive(amount)
    with transaction.atomic(durable=True):
        ind = Indicator.objects.restrict(actor, CHANGE).filter(pk=indicator_id).select_related("source").first()
        if ind is None:
            raise NotFound("指标")
        to_parent = (ind.parent_id is not None and ind.source.kind == Kind.ALLOT)
        locked = indicators_lock(actor, [ind.pk, ind.parent_id] if to_parent else [ind.pk])
        ind = locked[ind.pk]
        parent = locked.get(ind.parent_id) if to_parent else None
        if parent is not None and parent.allotted < amount:
            parent = None
        source = _doc(actor, ind, doc, {Kind.RECALL}, Kind.RECALL)
        ledger = Ledger(actor)
        entry = _recall_move(ledger, ind, amount, source, parent=parent, memo=memo)
        ledger.write()
        _event("indicators.recalled", ind, source, amount, to=parent.code if parent else "")
        return entry


def _recall_move(ledger: Ledger, ind: Indicator, amount: int, source: SourceDocument, *,
                 parent: Indicator | None = None, memo: str = "") -> IndicatorEntry:
    entry = ledger.move(ind, E.RECALL, {"available": -amount}, source=source, counterpart=parent,
                        memo=memo or ("收回至 " + parent.code if parent else "收回财政"))
    if parent is not None:
        ledger.move(parent, E.RECALL_IN, {"allotted": -amount, "available": amount}, source=source,
                    counterpart=ind, memo=f"自 {ind.code} 收回")
    return entry


@in_callers_transaction
def indicators_recall(*, actor, source: SourceDocument, items: list[tuple[Indicator, int]],
                      memo: str = "") -> list[IndicatorEntry]:
    """收回 to finance's general pool (the amount shrinks), `amount` of each (locked) indicator, on the 收回
    document `source` (a building block: the year-end recall of a batch, inside its chunk's transaction; the
    caller has checked its own permission and locked the indicators with `indicators_lock`)."""
    for _, amount in items:
        amount_require_positive(amount)
    ledger = Ledger(actor)
    entries = [_recall_move(ledger, ind, amount, source, memo=memo) for ind, amount in items]
    ledger.write()
    return entries


def indicator_carry_over(*, actor, indicator_ids: list[int], doc: Doc) -> list[Indicator]:
    """年末结转: each indicator's available balance becomes next year's indicator (source 上年结转, parent link,
    classification and tracking flags kept). `doc` is the next year's carry-over document."""
    require_perm(actor, P_ADD)
    require_perm(actor, P_CHANGE)
    if not indicator_ids:
        raise invalid("lines_required", "请选择要结转的指标", "indicator_ids")
    with transaction.atomic(durable=True):
        olds = indicators_lock(actor, indicator_ids)
        regions_years = {(i.region_code, i.year) for i in olds.values()}
        if len(regions_years) != 1:
            raise invalid("mixed_lines", "一次结转的指标必须属于同一区划和年度", "indicator_ids")
        region, year = regions_years.pop()
        fiscal_year_require(region, year, purpose="indicator")  # carry over before the year closes
        fiscal_year_require(region, year + 1, purpose="indicator")
        picked = [i for i in olds.values() if i.available > 0]
        if not picked:
            raise invalid("nothing_to_carry", "所选指标没有可结转的余额", "indicator_ids")
        require_perm(actor, P_DOC)
        source = _source_for(actor, region_code=region, year=year + 1, kinds={Kind.CARRY_OVER}, doc=doc)
        news = indicators_carry(actor=actor, source=source, items=[(o, o.available) for o in picked])
        audit.record_event("indicators.carried_over", region_code=region, obj=source,
                           payload={"count": len(news), "amount": fen_to_str(sum(n.amount for n in news))})
        return news


@in_callers_transaction
def indicators_carry(*, actor, source: SourceDocument, items: list[tuple[Indicator, int]]) -> list[Indicator]:
    """结转: `amount` of each (locked) indicator becomes an indicator of the carry-over document's year (source
    上年结转, type 上年结转, parent = the old indicator, so its original document stays reachable; unit, project,
    classification and the flags 直达资金, 三保, 政府采购 kept; 三公 derived again), and leaves the old one
    (available → allotted, entry 结转下年 naming the new indicator). A building block: `indicator_carry_over` and
    the year-end batch (closing) call it inside their transaction after checking their own permission; the new
    indicators are validated against the new year's classifications (every problem named). Returns the new
    indicators in the order of `items`."""
    for _, amount in items:
        amount_require_positive(amount)
    if not items:
        return []
    if source.kind != Kind.CARRY_OVER:
        raise invalid("doc_kind_mismatch", f"文号 {source.doc_no} 不是上年结转文件", "source")
    _, carry_type = domain.source_codes().get(Kind.CARRY_OVER, ("", ""))
    olds = [o for o, _ in items]
    specs = [IndicatorSpec(
        amount=amount, fund_nature_code=o.fund_nature_code, exp_func_code=o.exp_func_code,
        unit_id=o.unit_id, department_id=o.department_id, project_id=o.project_id, gov_eco_code=o.gov_eco_code,
        dep_eco_code=o.dep_eco_code, pay_type_code=o.pay_type_code, bgt_type_code=carry_type,
        is_executable=o.is_executable, is_gov_pur=o.is_gov_pur, is_track=o.is_track, is_sanbao=o.is_sanbao,
        rec_region_code=o.rec_region_code, summary=o.summary) for o, amount in items]
    news = _build_rows(source, specs, parents=olds)
    _insert(actor, news, counterparts=olds, memo="上年结转")
    ledger = Ledger(actor)
    for old, new in zip(olds, news, strict=True):
        ledger.move(old, E.CARRY_OUT, {"available": -new.amount, "allotted": new.amount}, source=source,
                    counterpart=new, memo=f"结转至 {new.code}")
    ledger.write()
    return news
