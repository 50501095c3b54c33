"""The voucher list (记账凭证) exported to Excel under its current filter: every row, streamed, a totals row."""

from __future__ import annotations

from itertools import chain

from django.db.models import QuerySet, Sum

from ibms.core import excel

COLUMNS = [
    excel.Column("set", "账套", width=28), excel.Column("period", "期间"), excel.Column("number", "凭证号"),
    excel.Column("date", "凭证日期"), excel.Column("summary", "摘要", width=36), excel.Column("source", "来源"),
    excel.Column("status", "状态"), excel.Column("financial", "财务会计借方合计", kind="money"),
    excel.Column("budget", "预算会计借方合计", kind="money"),
]


def vouchers_xlsx(qs: QuerySet) -> bytes:
    rows = ({"set": v.account_set.name, "period": f"{v.year}年{v.period_no}月", "number": v.display_number,
             "date": v.date.isoformat(), "summary": v.summary, "source": v.get_source_display(),
             "status": v.get_status_display(), "financial": v.financial_total, "budget": v.budget_total}
            for v in qs.select_related("account_set").iterator(chunk_size=2000))
    sums = qs.order_by().aggregate(f=Sum("financial_total"), b=Sum("budget_total"))
    total = {"set": "合计", "financial": sums["f"] or 0, "budget": sums["b"] or 0}
    return excel.export_rows(COLUMNS, chain(rows, [total]), title="记账凭证")
