"""The dense list of the indicator pages (django-tables2): the ledger."""

from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse

from ibms.core.views import MoneyColumn

from .models import Indicator
from .selectors import FLAG_FIELDS


def flag_labels(ind: Indicator) -> str:
    """The indicator's flags as the pages and the export show them: 政府采购、直达资金 …"""
    return "、".join(label for name, label in FLAG_FIELDS.items() if getattr(ind, name))


class IndicatorTable(tables.Table):
    code = tables.Column("指标编码", linkify=lambda record: reverse("indicators:detail", args=[record.pk]))
    year = tables.Column("年度")
    source = tables.Column("来源文件", accessor="source__doc_no")
    unit = tables.Column("预算单位", default="（财政待分）")
    fund_nature_code = tables.Column("资金性质")
    exp_func_code = tables.Column("功能分类")
    dep_eco_code = tables.Column("经济分类")
    flags = tables.Column("标识", empty_values=(), orderable=False)
    amount = MoneyColumn("指标金额")
    available = MoneyColumn("可用余额")
    reserved = MoneyColumn("预占")
    spent = MoneyColumn("已支付")
    frozen = MoneyColumn("冻结")

    class Meta:
        attrs = {"class": "table dense", "id": "table-indicators"}

    def render_flags(self, record):
        return ("待分 " if not record.is_executable else "") + flag_labels(record)
