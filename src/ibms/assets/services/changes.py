"""增用修废 after acquisition: a change of user, custodian or location (recorded at once, nothing booked); a repair
(capitalised or expensed by data/assets/repair_rule.csv) and a disposal (出售, 报废, 对外捐赠, 无偿调拨 to another
unit) go through their approval chain (data/assets/change_chains.csv) and are booked at the last approval:
asset.repaired, asset.disposed (1602 + 5301/3401 against 1601; proceeds 1002/2103), and for a transfer the
receiving unit's new card with asset.transferred_in (1601/3401 at the net value)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.urls import reverse

from ibms.core import audit, clock, workflow
from ibms.core.errors import Conflict, ValidationFailed, Violation, invalid
from ibms.core.money import Fen, fen_to_str
from ibms.core.scoping import CHANGE, get_in_scope, require_perm
from ibms.masterdata.models import Unit

from .. import domain, rules
from ..models import AssetCard, AssetChange
from . import _common as c
from ._common import actor_or_none, book, card_number, change_number, unit_set

DOC_DISPOSAL, DOC_REPAIR = c.DOC_DISPOSAL, c.DOC_REPAIR
P_ADD_CHANGE, P_CHANGE_CARD, P_REVIEW = c.P_ADD_CHANGE, c.P_CHANGE_CARD, c.P_REVIEW

K, S, D = AssetChange.Kind, AssetChange.Status, AssetChange.Disposal
C = AssetCard.Status


@dataclass
class ChangeIn:
    card_id: int
    kind: str  # transfer | repair | dispose
    reason: str = ""
    change_date: dt.date | None = None
    to_user_name: str = ""
    to_custodian: str = ""
    to_location: str = ""
    amount: Fen = 0  # repair cost
    extends_life_months: int = 0
    disposal: str = ""  # sale | scrap | donate | transfer_out
    proceeds: Fen = 0
    to_unit_id: int | None = None


def _check(data: ChangeIn, card: AssetCard) -> list[Violation]:
    v: list[Violation] = []
    if card.status != C.IN_USE:
        v.append(Violation("card_not_in_use", f"资产卡片 {card.number} {card.get_status_display()}，不能办理变动", "card_id"))
    if data.kind == K.TRANSFER and not (data.to_user_name or data.to_custodian or data.to_location):
        v.append(Violation("transfer_empty", "请填写新使用人、保管人或存放地点", "to_user_name"))
    if data.kind == K.REPAIR and (not isinstance(data.amount, int) or data.amount <= 0):
        v.append(Violation("amount_not_positive", "维修金额必须大于零", "amount"))
    if data.kind == K.DISPOSE:
        if data.disposal not in D.values:
            v.append(Violation("disposal_invalid", "请选择处置方式：出售、报废、对外捐赠或无偿调拨", "disposal"))
        if data.proceeds < 0 or (data.proceeds and data.disposal != D.SALE):
            v.append(Violation("proceeds_invalid", "只有出售可以填写处置收入，且不能为负", "proceeds"))
        if data.disposal == D.TRANSFER_OUT and not data.to_unit_id:
            v.append(Violation("to_unit_required", "无偿调拨必须选择调入单位", "to_unit_id"))
        if data.to_unit_id and data.to_unit_id == card.unit_id:
            v.append(Violation("to_unit_same", "调入单位不能是本单位", "to_unit_id"))
    if data.kind in (K.REPAIR, K.DISPOSE) and not (data.reason or "").strip():
        v.append(Violation("reason_required", "必须填写事由", "reason"))
    if data.kind not in (K.TRANSFER, K.REPAIR, K.DISPOSE):
        v.append(Violation("kind_invalid", "变动类型应为使用人/地点变更、维修或处置", "kind"))
    return v


def change_create(*, actor, data: ChangeIn) -> AssetChange:
    """登记一项变动: a transfer of user/location is done at once; a repair or disposal waits for its approval."""
    require_perm(actor, P_CHANGE_CARD if data.kind == K.TRANSFER else P_ADD_CHANGE)
    with transaction.atomic(durable=True):
        card = get_in_scope(AssetCard.objects.select_for_update(), actor, CHANGE, what="资产卡片", pk=data.card_id)
        to_unit = None
        if data.to_unit_id:
            to_unit = Unit.objects.filter(pk=data.to_unit_id, region_code=card.region_code).first()
        v = _check(data, card)
        if data.to_unit_id and to_unit is None:
            v.append(Violation("to_unit_unknown", "调入单位不存在（须为本区划的单位）", "to_unit_id"))
        if v:
            raise ValidationFailed(v, message="资产变动填写有误")
        day = data.change_date or clock.today(card.region_code)
        ch = AssetChange(region_code=card.region_code, number=change_number(card.region_code, day.year), card=card,
                         unit_path=card.unit_path, kind=data.kind, change_date=day, reason=(data.reason or "")[:300],
                         submitted_by=actor_or_none(actor))
        if data.kind == K.TRANSFER:
            ch.to_user_name, ch.to_custodian = data.to_user_name[:60], data.to_custodian[:60]
            ch.to_location = data.to_location[:120]
            ch.save()
            audit.record_change(ch, "create")
            audit.update_fields(card, user_name=ch.to_user_name or card.user_name,
                                custodian=ch.to_custodian or card.custodian, location=ch.to_location or card.location)
            audit.record_event("assets.card_transferred", obj=card, payload={"change": ch.number})
            return ch
        doc = DOC_REPAIR if data.kind == K.REPAIR else DOC_DISPOSAL
        steps = workflow.approval_steps(doc, card.region_code)
        if not steps:
            raise invalid("no_chain", "未配置资产变动的审批流程")
        if data.kind == K.REPAIR:
            ch.amount, ch.extends_life_months = data.amount, max(0, data.extends_life_months)
            ch.capitalise = domain.repair_capitalised(rules.repair_rule(), cost=data.amount,
                                                      original=card.original_value,
                                                      extends_life_months=ch.extends_life_months)
        else:
            ch.disposal, ch.proceeds, ch.to_unit = data.disposal, data.proceeds, to_unit
            unit_set(card.unit_id, day.year)  # refuse now what could not be booked at approval
            audit.update_fields(card, status=C.DISPOSING)
        ch.status, ch.current_step = S.SUBMITTED, 1
        ch.save()
        audit.record_change(ch, "create")
        audit.record_event("assets.change_submitted", obj=ch, payload={"kind": ch.kind, "card": card.number})
        _todo(ch, steps[0], doc)
        return ch


def _todo(ch: AssetChange, step: workflow.Step, doc: str) -> None:
    workflow.todo_open(doc_type=doc, obj=ch, title=f"资产{ch.get_kind_display()}{step.name}：{ch.number} {ch.card.name}",
                       url=reverse("assets:change-detail", args=[ch.pk]), step=step, region_code=ch.region_code,
                       unit_path=ch.unit_path)


def change_review(*, actor, pk: int, approve: bool, comment: str = "") -> AssetChange:
    """One approval step; 退回 needs a reason (the card is in use again); the last approval books the change."""
    require_perm(actor, P_REVIEW)
    comment = (comment or "").strip()[:300]
    with transaction.atomic(durable=True):
        ch = get_in_scope(AssetChange.objects.select_for_update(), actor, CHANGE, what="资产变动", pk=pk)
        if ch.status != S.SUBMITTED:
            raise Conflict("not_submitted", "只有审批中的资产变动可以审批")
        doc = DOC_REPAIR if ch.kind == K.REPAIR else DOC_DISPOSAL
        steps = workflow.approval_steps(doc, ch.region_code)
        if not steps:
            raise invalid("no_chain", "未配置资产变动的审批流程")
        step = steps[min(ch.current_step, len(steps)) - 1]
        workflow.check_step_actor(actor, step, submitted_by_id=ch.submitted_by_id)
        workflow.todo_close(doc_type=doc, obj=ch, user=actor)
        card = AssetCard.objects.select_for_update().get(pk=ch.card_id)
        if not approve:
            if not comment:
                raise invalid("comment_required", "退回必须填写原因", "comment")
            audit.update_fields(ch, review_comment=comment, current_step=0)
            workflow.transition(ch, S.RETURNED, transitions=AssetChange.TRANSITIONS,
                                event_code="assets.change_returned", message=comment)
            if card.status == C.DISPOSING:
                audit.update_fields(card, status=C.IN_USE)
            return ch
        if ch.current_step < len(steps):
            audit.update_fields(ch, current_step=ch.current_step + 1, review_comment=comment)
            _todo(ch, steps[ch.current_step - 1], doc)
            return ch
        vouchers = _repair(actor, ch, card) if ch.kind == K.REPAIR else _dispose(actor, ch, card)
        audit.update_fields(ch, review_comment=comment, vouchers=vouchers)
        workflow.transition(ch, S.APPROVED, transitions=AssetChange.TRANSITIONS, event_code="assets.change_approved",
                            payload={"kind": ch.kind, "vouchers": vouchers})
        return ch


def _repair(actor, ch: AssetChange, card: AssetCard) -> list[int]:
    v = book(actor=actor, card=card, event_type="asset.repaired", event_id=f"asset-repair:{ch.region_code}:{ch.number}",
             date=ch.change_date, amounts={"amount": ch.amount},
             attrs={"capitalise": ch.capitalise, "expense": card.expense}, summary=f"固定资产维修：{card.name}")
    if ch.capitalise:
        audit.update_fields(card, original_value=card.original_value + ch.amount,
                            useful_life_months=card.useful_life_months + ch.extends_life_months)
    return [v.pk] if v else []


def _dispose(actor, ch: AssetChange, card: AssetCard) -> list[int]:
    net, acc = card.net_value, card.accumulated
    v = book(actor=actor, card=card, event_type="asset.disposed", event_id=f"asset-dispose:{ch.region_code}:{ch.number}",
             date=ch.change_date, amounts={"accumulated": acc, "net": net, "proceeds": ch.proceeds},
             attrs={"disposal": ch.disposal}, summary=f"固定资产{ch.get_disposal_display()}：{card.name}")
    out = [v.pk] if v else []
    audit.update_fields(ch, amount=net)
    audit.update_fields(card, status=C.DISPOSED)
    if ch.disposal == D.TRANSFER_OUT and net > 0:
        out += _transfer_in(actor, ch, card, net)
    audit.record_event("assets.card_disposed", obj=card, payload={"change": ch.number, "net": fen_to_str(net)})
    return out


def _transfer_in(actor, ch: AssetChange, card: AssetCard, net: int) -> list[int]:
    """The receiving unit's card: cost = the transferor's net book value, depreciated over the months left."""
    unit = ch.to_unit
    left = max(card.useful_life_months - card.months_done, 0)
    new = AssetCard.objects.create(
        region_code=unit.region_code, number=card_number(unit.region_code, ch.change_date.year), unit=unit,
        unit_path=unit.path, asset_class=card.asset_class, class_name=card.class_name, name=card.name,
        quantity=card.quantity, measure=card.measure, original_value=net, useful_life_months=left,
        method=card.method if left else "none", expense=card.expense, acquired_date=ch.change_date,
        source=AssetCard.Source.TRANSFER_IN)
    audit.record_change(new, "create")
    v = book(actor=actor, card=new, event_type="asset.transferred_in",
             event_id=f"asset-transfer-in:{ch.region_code}:{ch.number}", date=ch.change_date, amounts={"amount": net},
             summary=f"无偿调入：{card.name}（{card.number}）")
    audit.update_fields(new, voucher=v)
    inc = AssetChange.objects.create(region_code=new.region_code, number=change_number(new.region_code,
                                                                                        ch.change_date.year),
                                     card=new, unit_path=new.unit_path, kind=K.TRANSFER_IN, change_date=ch.change_date,
                                     amount=net, vouchers=[v.pk] if v else [], reason=f"由 {card.number} 调入")
    audit.record_change(inc, "create")
    return [v.pk] if v else []
