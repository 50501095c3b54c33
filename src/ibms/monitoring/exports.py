"""The alert list (疑点) exported to Excel under its current queue and filter: every row, streamed, a totals row."""

from __future__ import annotations

from itertools import chain

from django.db.models import QuerySet, Sum

from ibms.core import excel

COLUMNS = [
    excel.Column("number", "疑点编号", width=24), excel.Column("date", "业务日期"), excel.Column("unit", "单位", width=28),
    excel.Column("subject", "业务单号", width=26), excel.Column("rule", "规则", width=30),
    excel.Column("action", "处理方式"), excel.Column("stage", "监控环节"), excel.Column("status", "状态"),
    excel.Column("message", "疑点描述", width=50), excel.Column("amount", "金额", kind="money"),
]


def alerts_xlsx(qs: QuerySet) -> bytes:
    rows = ({"number": a.number, "date": a.subject_date.isoformat(), "unit": a.unit_name, "subject": a.subject_number,
             "rule": f"{a.rule_name}（{a.rule_code}）", "action": a.get_action_display(), "stage": a.get_stage_display(),
             "status": a.get_status_display(), "message": a.message, "amount": a.subject_amount}
            for a in qs.iterator(chunk_size=2000))
    total = qs.order_by().aggregate(s=Sum("subject_amount"))["s"] or 0
    return excel.export_rows(COLUMNS, chain(rows, [{"number": "合计", "amount": total}]), title="疑点")
