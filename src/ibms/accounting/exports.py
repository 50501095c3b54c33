"""The voucher list (记账凭证) exported to Excel under its current filter: every row, streamed, a totals row."""

from __future__ import annotations

from itertools import chain

from django.db.models import QuerySet, Sum

from ibms.core import excel
from ibms.core.money import fen_to_capitals
from ibms.core.reports import MONEY, TEXT, ReportColumn, ReportTable

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


def voucher_tables(v, groups: list[dict], rule_name: str) -> list[ReportTable]:
    """记账凭证 printed (PDF, print preview): its header, then each basis's lines with their totals in figures and
    in capitals."""
    head = ReportTable(f"记账凭证 {v.year}年{v.period_no}月 {v.display_number}", [ReportColumn("项目", TEXT, 0.6),
                                                                               ReportColumn("内容", TEXT, 3)])
    head.rows = [["账套", v.account_set.name], ["凭证日期", v.date.isoformat()], ["摘要", v.summary],
                 ["来源", v.get_source_display() + (f"（记账规则：{rule_name}）" if rule_name else "")],
                 ["状态", v.get_status_display()],
                 ["制单 / 审核 / 记账", " / ".join(str(x or "") for x in (v.entered_by or "系统", v.reviewed_by,
                                                                          v.posted_by))],
                 ["附件数", str(v.attachments)]]
    out = [head]
    cols = [ReportColumn("科目", TEXT, 1.4), ReportColumn("摘要", TEXT, 1.6), ReportColumn("借方", MONEY),
            ReportColumn("贷方", MONEY)]
    for g in groups:
        rows = [[f"{ln.account_code} {ln.account.name}", ln.summary, ln.debit or None, ln.credit or None]
                for ln in g["rows"]]
        rows.append(["合计", "", g["debit"], g["credit"]])
        out.append(ReportTable(g["label"], cols, rows, subtitle=f"合计金额（大写）：{fen_to_capitals(g['debit'])}",
                               bold_rows={len(rows) - 1}))
    return out
