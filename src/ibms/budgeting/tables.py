"""The dense lists of the budgeting pages (django-tables2): budget lines across rounds and replies."""

from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse

from ibms.core.views import MoneyColumn


class LineTable(tables.Table):
    round = tables.Column("预算编制", accessor="round__name", linkify=lambda record: reverse(
        "budgeting:workbench", args=[record.round_id, record.department_id]) + f"?version={record.version}")
    version = tables.Column("版本")
    unit = tables.Column("单位", accessor="unit__name")
    project = tables.Column("项目", accessor="project__name", default="—")
    direction = tables.Column("收支")
    exp_kind = tables.Column("支出类型", default="—")
    revenue_code = tables.Column("收入来源", default="")
    fund_nature_code = tables.Column("资金性质")
    exp_func_code = tables.Column("功能分类")
    dep_eco_code = tables.Column("部门经济分类")
    gov_eco_code = tables.Column("政府经济分类")
    amount = MoneyColumn("金额")

    class Meta:
        attrs = {"class": "table dense", "id": "table-lines"}
        per_page = 50


class ReplyTable(tables.Table):
    round = tables.Column("预算编制", accessor="round__name", linkify=lambda record: reverse(
        "budgeting:round", args=[record.round_id]))
    level = tables.Column("层级")
    unit = tables.Column("批复对象", accessor="unit__name")
    amount = MoneyColumn("批复支出")
    due_date = tables.DateColumn(verbose_name="期限", format="Y-m-d")
    reply_date = tables.DateColumn(verbose_name="批复日期", format="Y-m-d", default="未批复")
    doc_no = tables.Column("文号")
    late_now = tables.BooleanColumn(verbose_name="超期", yesno="是,否", orderable=False)

    class Meta:
        attrs = {"class": "table dense", "id": "table-replies"}
        per_page = 50
