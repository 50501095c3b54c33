"""工资档案: a unit keeps each person's post, grade, status, bank card and item amounts; every save is audited, so
the change log is the profile's history (who changed which amount when)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db import transaction

from ibms.core import audit, clock
from ibms.core.errors import ValidationFailed, Violation
from ibms.core.money import Fen
from ibms.core.scoping import check_write_scope, get_in_scope, require_perm
from ibms.masterdata.models import Person

from .. import rules
from ..models import UNIT_SCOPE, PayProfile, PersonStatus

P_ADD, P_CHANGE = "payroll.add_payprofile", "payroll.change_payprofile"
CARD_RE = re.compile(r"^[0-9]{12,32}$")


@dataclass
class ProfileIn:
    person_id: int
    post: str = ""
    grade: str = ""
    status: str = PersonStatus.IN_SERVICE
    card_no: str = ""
    card_bank: str = ""
    items: dict[str, Fen] = field(default_factory=dict)
    is_active: bool = True


def _violations(data: ProfileIn, region_code: str) -> list[Violation]:
    v: list[Violation] = []
    if data.status not in PersonStatus.values:
        v.append(Violation("status_invalid", "人员状态必须为在职、离退休或遗属", "status"))
    card = re.sub(r"\s", "", data.card_no or "")
    if card and not CARD_RE.match(card):
        v.append(Violation("card_invalid", "工资卡号必须是12至32位数字", "card_no"))
    if card and not (data.card_bank or "").strip():
        v.append(Violation("card_bank_required", "填写工资卡号时必须填写开户银行", "card_bank"))
    known = {r.code: r for r in rules.item_rules(region_code, clock.fiscal_year())}
    for code, amount in (data.items or {}).items():
        rule = known.get(code)
        if rule is None:
            v.append(Violation("item_unknown", f"工资项目 {code} 不存在", "items"))
        elif rule.method != "fixed":
            v.append(Violation("item_computed", f"工资项目 {rule.name} 由系统计算，不能录入金额", "items"))
        elif not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
            v.append(Violation("amount_negative", f"工资项目 {rule.name} 金额必须为非负数", "items"))
    return v


def pay_profile_save(*, actor, data: ProfileIn) -> PayProfile:
    """Create or change the profile of a person of the actor's unit; nothing saved when any field is wrong."""
    with transaction.atomic(durable=True):
        person = get_in_scope(Person.objects.select_related("unit").select_for_update(of=("self",)), actor,
                              what="人员", pk=data.person_id)
        check_write_scope(actor, region_code=person.region_code, unit_path=person.unit.path, spec=UNIT_SCOPE)
        profile = PayProfile.objects.select_for_update().filter(person=person).first()
        require_perm(actor, P_ADD if profile is None else P_CHANGE)
        v = _violations(data, person.region_code)
        if v:
            raise ValidationFailed(v, message="工资档案填写有误")
        values = {"post": (data.post or "").strip()[:50], "grade": (data.grade or "").strip()[:20],
                  "status": data.status, "card_no": re.sub(r"\s", "", data.card_no or ""),
                  "card_bank": (data.card_bank or "").strip()[:100], "items": dict(sorted(data.items.items())),
                  "is_active": bool(data.is_active)}
        if profile is None:
            profile = PayProfile.objects.create(region_code=person.region_code, unit=person.unit,
                                                unit_path=person.unit.path, person=person, **values)
            audit.record_change(profile, "create")
        else:
            audit.update_fields(profile, **values)
        return profile
