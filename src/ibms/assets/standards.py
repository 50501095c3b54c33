"""资产配置标准 against a unit: the standard of the asset class (data/assets/config_standards.csv, also loaded as
masterdata.ExpenditureStandard of category asset so the project library checks prices at entry), the unit's
people in service (its size) and the cards it already holds in that class."""

from __future__ import annotations

from django.db.models import Sum

from ibms.core.errors import Violation
from ibms.masterdata.models import Person

from . import domain, rules
from .models import AssetCard


def headcount(unit) -> int:
    return Person.objects.filter(unit=unit, is_active=True, status=Person.Status.IN_SERVICE).count()


def existing(unit, asset_class: str) -> int:
    return (AssetCard.objects.filter(unit=unit, asset_class__startswith=asset_class,
                                     status__in=(AssetCard.Status.IN_USE, AssetCard.Status.DISPOSING))
            .aggregate(n=Sum("quantity"))["n"] or 0)


def check(*, unit, asset_class: str, quantity: int, unit_price: int, field: str = "") -> list[Violation]:
    std = domain.standard_for(rules.standards(), asset_class or "", unit.unit_type)
    if std is None:
        return []
    return domain.standard_violations(std, quantity=quantity, unit_price=unit_price, headcount=headcount(unit),
                                      existing=existing(unit, std.asset_class), field=field)
