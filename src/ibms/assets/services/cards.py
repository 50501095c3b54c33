"""资产卡片: created from a receipted fixed-asset payment (a building block inside the receipt's transaction, via
`treasury.hooks`), or entered for existing stock with its opening value (a service; booked 1601/1602 against
累计盈余, or 1601/捐赠收入 for a donation).

One card per contract (a contract's milestone payments add to the card's original value, each receipt an
acquisition change of its own), else one card per payment request; the card carries the plan's quantity (批量卡片)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction

from ibms.accounting.models import Voucher
from ibms.core import audit, clock
from ibms.core.errors import ValidationFailed, Violation
from ibms.core.money import Fen, fen_to_str
from ibms.core.scoping import check_write_scope, get_in_scope, require_perm
from ibms.core.transactions import in_callers_transaction
from ibms.masterdata.models import Unit

from .. import rules
from ..models import UNIT_SCOPE, AssetCard, AssetChange, Method
from ._common import P_ADD_CARD, actor_or_none, book, card_number, change_number

K = AssetChange.Kind


def _class_defaults(code: str) -> tuple[str, str, int, str]:
    cls = rules.asset_class(code) or rules.asset_class("2")
    life, method = rules.life_and_method(cls)
    return (code or cls.code), cls.name, life, method


@in_callers_transaction
def card_from_payment(*, voucher, amount: int, date: dt.date) -> AssetCard | None:
    """The card of a receipted 购置固定资产 payment (business type fixed_asset, not 在建工程): created, or — a later
    milestone of the same contract — its original value increased. Once per request."""
    req = voucher.request
    if req is None or req.business_type != "fixed_asset" or req.installation:
        return None
    if AssetChange.objects.filter(payment_request=req).exists():
        return None
    contract = req.contract
    plan = contract.plan if contract is not None and contract.plan_id else None
    unit_voucher = Voucher.objects.filter(event_id=f"pay:{voucher.region_code}:{voucher.number}",
                                          account_set__kind="unit").first()
    card = AssetCard.objects.select_for_update().filter(contract=contract).first() if contract else None
    if card is not None:
        audit.update_fields(card, original_value=card.original_value + amount)
    else:
        code, class_name, life, method = _class_defaults(
            (plan.asset_class if plan is not None else "") or rules.class_for_eco(req.dep_eco_code))
        name = (plan.name if plan is not None else "") or req.purpose
        card = AssetCard.objects.create(
            region_code=req.region_code, number=card_number(req.region_code, date.year), unit=req.unit,
            unit_path=req.unit_path, asset_class=code, class_name=class_name, name=name[:200],
            quantity=plan.quantity if plan is not None else 1, original_value=amount, useful_life_months=life,
            method=method, expense=req.expense, acquired_date=date, source=AssetCard.Source.PURCHASE,
            payment_request=req, contract=contract, indicator=req.indicator, voucher=unit_voucher)
        audit.record_change(card, "create")
    change = AssetChange.objects.create(
        region_code=card.region_code, number=change_number(card.region_code, date.year), card=card,
        unit_path=card.unit_path, kind=K.ACQUIRE, change_date=date, amount=amount, payment_request=req,
        vouchers=[unit_voucher.pk] if unit_voucher else [], reason=f"支付申请 {req.number} 回单入账"[:300])
    audit.record_change(change, "create")
    audit.record_event("assets.card_acquired", obj=card, payload={"request": req.number,
                                                                  "amount": fen_to_str(amount)})
    return card


@dataclass
class OpeningIn:
    """存量资产录入: a card for an asset the unit already holds, with its value and accumulated depreciation."""

    unit_id: int
    asset_class: str
    name: str
    original_value: Fen
    acquired_date: dt.date
    accumulated: Fen = 0
    months_done: int | None = None
    quantity: int = 1
    measure: str = "台"
    location: str = ""
    user_name: str = ""
    custodian: str = ""
    expense: str = "business"
    source: str = "opening"  # opening (存量) | donation (接受捐赠)


def _opening_violations(data: OpeningIn, life: int) -> list[Violation]:
    v: list[Violation] = []
    if rules.asset_class(data.asset_class) is None:
        v.append(Violation("asset_class_unknown", f"资产分类 {data.asset_class} 不在资产分类代码表中", "asset_class"))
    if not (data.name or "").strip():
        v.append(Violation("name_required", "必须填写资产名称", "name"))
    if not isinstance(data.original_value, int) or data.original_value <= 0:
        v.append(Violation("amount_not_positive", "原值必须大于零", "original_value"))
    elif data.accumulated < 0 or data.accumulated > data.original_value:
        v.append(Violation("value_out_of_range", "累计折旧不能为负，也不能超过原值", "accumulated"))
    if data.quantity <= 0:
        v.append(Violation("quantity_invalid", "数量必须大于零", "quantity"))
    if data.source not in ("opening", "donation"):
        v.append(Violation("source_invalid", "来源应为存量录入或接受捐赠", "source"))
    if data.expense not in ("business", "admin"):
        v.append(Violation("expense_invalid", "折旧费用应为业务活动费用或单位管理费用", "expense"))
    if data.months_done is not None and not 0 <= data.months_done <= max(life, 0):
        v.append(Violation("months_invalid", f"已计提月数应在 0–{life} 之间", "months_done"))
    return v


def card_open(*, actor, data: OpeningIn, date: dt.date | None = None) -> AssetCard:
    """存量录入 / 接受捐赠: the card and its booking (asset.opened) in one transaction."""
    require_perm(actor, P_ADD_CARD)
    with transaction.atomic(durable=True):
        unit = get_in_scope(Unit.objects.all(), actor, what="单位", pk=data.unit_id)
        check_write_scope(actor, region_code=unit.region_code, unit_path=unit.path, spec=UNIT_SCOPE)
        code, class_name, life, method = _class_defaults(data.asset_class)
        violations = _opening_violations(data, life)
        if violations:
            raise ValidationFailed(violations, message="资产卡片填写有误")
        today = date or clock.today(unit.region_code)
        done = data.months_done
        if done is None:
            done = round(data.accumulated * life / data.original_value) if life else 0
        card = AssetCard.objects.create(
            region_code=unit.region_code, number=card_number(unit.region_code, today.year), unit=unit,
            unit_path=unit.path, asset_class=code, class_name=class_name, name=data.name.strip()[:200],
            quantity=data.quantity, measure=data.measure[:10] or "台", location=data.location[:120],
            user_name=data.user_name[:60], custodian=data.custodian[:60], original_value=data.original_value,
            accumulated=data.accumulated, useful_life_months=life, months_done=done,
            method=method if life else Method.NONE, expense=data.expense, acquired_date=data.acquired_date,
            source=AssetCard.Source.DONATION if data.source == "donation" else AssetCard.Source.OPENING,
            created_by=actor_or_none(actor))
        audit.record_change(card, "create")
        v = book(actor=actor, card=card, event_type="asset.opened", event_id=f"asset-open:{card.region_code}:"
                 f"{card.number}", date=today, amounts={"amount": card.original_value, "accumulated": card.accumulated},
                 attrs={"source": data.source}, summary=f"{card.get_source_display()}：{card.name}")
        audit.update_fields(card, voucher=v)
        ch = AssetChange.objects.create(region_code=card.region_code, number=change_number(card.region_code, today.year),
                                        card=card, unit_path=card.unit_path, kind=K.OPENING, change_date=today,
                                        amount=card.original_value, vouchers=[v.pk] if v else [],
                                        submitted_by=actor_or_none(actor))
        audit.record_change(ch, "create")
        audit.record_event("assets.card_opened", obj=card, payload={"value": fen_to_str(card.original_value)})
        return card
