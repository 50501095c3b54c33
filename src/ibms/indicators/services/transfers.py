"""Transfer payments (转移支付) between regions: the upper region allots part of an indicator to a lower one
(下达, a notice with a to-do) and the lower region's budget division receives it as its own 待分 indicator (接收),
at most once per notice."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from ibms.core import audit, workflow
from ibms.core.errors import Conflict, invalid
from ibms.core.money import format_fen
from ibms.core.numbering import next_number
from ibms.core.scoping import CHANGE, check_write_scope, get_in_scope, require_perm
from ibms.masterdata.models import Region
from ibms.masterdata.selectors import fiscal_year_require

from .. import domain
from ..domain import Doc, IndicatorSpec, amount_require_positive
from ..ledger import Ledger, indicator_lock
from ..models import Indicator, TransferNotice
from ._common import DOC_TRANSFER, P_ADD, P_CHANGE, P_TRANSFER_ALLOT, P_TRANSFER_RECEIVE, E, Kind, _event
from .creation import _build_rows, _insert
from .sources import _create_source, _doc


def transfer_allot(*, actor, indicator_id: int, rec_region_code: str, amount: int, doc: Doc,
                   kind: str = TransferNotice.Kind.FORMAL,
                   transfer_type: str = TransferNotice.TransferType.SPECIAL,
                   notice_date: dt.date | None = None) -> TransferNotice:
    """转移支付下达: allot part of an upper region's indicator to a lower region. The money leaves the indicator
    (available → allotted) and a notice with the upper document, classification and tracking flags waits in
    the receiving region, with a to-do for its budget division."""
    require_perm(actor, P_TRANSFER_ALLOT)
    require_perm(actor, P_CHANGE)
    amount_require_positive(amount)
    if kind not in TransferNotice.Kind.values:
        raise invalid("kind_invalid", "下达方式必须是提前下达或正式下达", "kind")
    if transfer_type not in TransferNotice.TransferType.values:
        raise invalid("transfer_type_invalid", "转移支付类型不正确", "transfer_type")
    with transaction.atomic(durable=True):
        ind = indicator_lock(actor, indicator_id)
        region = Region.objects.filter(code=ind.region_code).first()
        target = Region.objects.filter(code=rec_region_code).first()
        if target is None or region is None or target.code == region.code or not target.path.startswith(region.path):
            raise invalid("not_lower_region", "转移支付只能下达给本级所辖的下级区划", "rec_region_code")
        if ind.rec_region_code and ind.rec_region_code != rec_region_code:
            raise invalid("rec_region_mismatch", f"该指标的接收区划为 {ind.rec_region_code}", "rec_region_code")
        fiscal_year_require(rec_region_code, ind.year, purpose="indicator")  # the receiving region's year too
        source = _doc(actor, ind, doc, {Kind.ALLOT}, Kind.ALLOT)
        notice_date = notice_date or source.doc_date  # the allotting document's date, by default
        approval = ind.source.doc_date if ind.source.kind == Kind.BUDGET_REPLY else None
        due = domain.transfer_due_date(approval, transfer_type, kind)
        steps = workflow.approval_steps(DOC_TRANSFER, rec_region_code)
        if not steps:
            raise invalid("no_chain", "未配置转移支付接收流程")
        notice = TransferNotice.objects.create(
            region_code=rec_region_code, from_region_code=ind.region_code, year=ind.year,
            number=next_number(f"ZY{ind.region_code}{ind.year}", width=6), kind=kind, transfer_type=transfer_type,
            upper_indicator=ind, upper_indicator_code=ind.code, upper_source=source, upper_doc_no=source.doc_no,
            upper_doc_title=source.title, amount=amount, fund_nature_code=ind.fund_nature_code,
            exp_func_code=ind.exp_func_code, gov_eco_code=ind.gov_eco_code, dep_eco_code=ind.dep_eco_code,
            is_gov_pur=ind.is_gov_pur, is_track=ind.is_track, is_sanbao=ind.is_sanbao, notice_date=notice_date,
            approval_date=approval, due_date=due, created_by=actor)
        ledger = Ledger(actor)
        ledger.move(ind, E.TRANSFER_OUT, {"available": -amount, "allotted": amount}, source=source,
                    memo=f"转移支付下达 {rec_region_code}（{notice.number}）")
        ledger.write()
        audit.record_change(notice, "create")
        _event("indicators.transfer_allotted", ind, source, amount, notice=notice.number, to=rec_region_code)
        workflow.todo_open(doc_type=DOC_TRANSFER, obj=notice,
                           title=f"转移支付接收：{notice.number}（{source.doc_no}，{format_fen(amount)}元）"[:200],
                           url=reverse("indicators:transfer-detail", args=[notice.pk]), step=steps[0],
                           region_code=rec_region_code)
        return notice


def transfer_receive(*, actor, notice_id: int, doc_no: str, doc_title: str = "",
                     doc_date: dt.date | None = None) -> Indicator:
    """接收: the receiving region's budget division registers the upper document as its own source
    (提前下达/正式下达, with the upper document number) and gets a finance-held 待分 indicator whose parent is
    the upper indicator, classification and flags carried along. At most once per notice."""
    require_perm(actor, P_TRANSFER_RECEIVE)
    require_perm(actor, P_ADD)
    with transaction.atomic(durable=True):
        notice = get_in_scope(TransferNotice.objects.select_for_update(), actor, CHANGE, what="转移支付通知",
                              pk=notice_id)
        if notice.status != TransferNotice.Status.SENT:
            raise Conflict("already_received", f"转移支付通知 {notice.number} 已接收，不能重复接收")
        steps = workflow.approval_steps(DOC_TRANSFER, notice.region_code)
        if not steps:
            raise invalid("no_chain", "未配置转移支付接收流程")
        workflow.check_step_actor(actor, steps[0], submitted_by_id=None)
        check_write_scope(actor, region_code=notice.region_code)
        fiscal_year_require(notice.region_code, notice.year, purpose="indicator")
        source = _create_source(actor, region_code=notice.region_code, year=notice.year, kind=notice.kind,
                                doc=Doc(doc_no, doc_title or notice.upper_doc_title, doc_date,
                                        upper_doc_no=notice.upper_doc_no))
        upper = Indicator.objects.get(pk=notice.upper_indicator_id)
        spec = IndicatorSpec(
            amount=notice.amount, fund_nature_code=notice.fund_nature_code, exp_func_code=notice.exp_func_code,
            gov_eco_code=notice.gov_eco_code, dep_eco_code=notice.dep_eco_code, is_executable=False,
            is_gov_pur=notice.is_gov_pur, is_track=notice.is_track, is_sanbao=notice.is_sanbao,
            summary=notice.upper_doc_title)
        [ind] = _build_rows(source, [spec], parents=[upper])
        _insert(actor, [ind], counterparts=[upper], memo=f"接收上级转移支付 {notice.upper_doc_no}")
        audit.update_fields(notice, received_doc=source, received_indicator=ind, received_by=actor,
                            received_at=timezone.now())
        workflow.transition(notice, TransferNotice.Status.RECEIVED, transitions=TransferNotice.TRANSITIONS,
                            event_code="indicators.transfer_received", payload={"indicator": ind.code})
        workflow.todo_close(doc_type=DOC_TRANSFER, obj=notice, user=actor)
        return ind
