"""Payment methods, settlement modes and the per-region payment policy."""

from __future__ import annotations

from django.db import models

from ibms.core.audit import audited
from ibms.core.models import Stamped
from ibms.core.scoping import ScopedManager, ScopeSpec

UNIT_SCOPE = ScopeSpec(unit_path_field="unit_path", unit_writable=True)


class PayMethod(models.TextChoices):
    DIRECT = "direct", "财政直接支付"
    CENTRALIZED = "centralized", "国库集中支付（一体化）"
    AUTHORIZED = "authorized", "财政授权支付"


class SetMode(models.TextChoices):
    TRANSFER = "1", "转账"
    CARD = "2", "公务卡还款"
    CASH = "3", "现金"
    CHEQUE = "4", "支票"
    COLLECTION = "5", "托收"


@audited
class RegionPolicy(Stamped):
    """Per-region payment policy (data/treasury/region_policy.csv; '' = every region without its own row)."""

    region_code = models.CharField("财政区划", max_length=9, unique=True, blank=True)
    default_pay_method = models.CharField("默认支付方式", max_length=12, choices=PayMethod.choices,
                                          default=PayMethod.CENTRALIZED)
    finance_sign_direct = models.BooleanField("直接支付加盖财政签章", default=True)
    agent_bank_code = models.CharField("默认代理银行", max_length=12, blank=True)
    stuck_minutes = models.PositiveIntegerField("查询未决凭证间隔（分钟）", default=10)

    objects = ScopedManager()
    scope_spec = ScopeSpec(reference=True)

    class Meta:
        verbose_name = verbose_name_plural = "支付政策"
        ordering = ["region_code"]
