"""Downloads: a person's pay slip (工资条) as PDF, the unit's monthly payroll table (工资表) and the region's summary
by unit and item (工资汇总表) as Excel. PDFs only through `core.reports` (its embedded CJK font and escaped text),
Excel only through `core.excel` / `core.reports` (text never a formula)."""

from __future__ import annotations

from ibms.core.excel import Column, export_rows
from ibms.core.money import format_fen
from ibms.core.reports import MONEY, NUMBER, TEXT, ReportColumn, ReportTable, pdf_response, to_pdf, to_xlsx
from ibms.core.views import xlsx_response

from . import rules, selectors
from .models import PayrollRun, PayrollSlip

__all__ = ["pdf_response", "region_summary", "region_summary_xlsx", "run_table", "slip_pdf", "xlsx_response"]


def run_table(run: PayrollRun) -> bytes:
    items = rules.item_rules(run.region_code, run.year)
    cols = [Column("name", "姓名"), Column("id_number", "身份证号"), Column("post", "岗位"), Column("grade", "职级/薪级"),
            Column("status", "人员状态"), *[Column(f"i_{r.code}", r.name, kind="money") for r in items],
            Column("gross", "应发合计", kind="money"), Column("social", "个人社保公积金", kind="money"),
            Column("tax", "个人所得税", kind="money"), Column("other", "其他扣款", kind="money"),
            Column("net", "实发合计", kind="money"), Column("card_no", "工资卡号"), Column("card_bank", "开户银行")]
    slips = list(run.slips.order_by("id"))
    rows = [{"name": s.name, "id_number": s.id_number, "post": s.post, "grade": s.grade,
             "status": s.get_status_display(), **{f"i_{r.code}": s.amounts.get(r.code, 0) for r in items},
             "gross": s.gross, "social": s.social, "tax": s.tax, "other": s.other, "net": s.net,
             "card_no": s.card_no, "card_bank": s.card_bank} for s in slips]
    rows.append({"name": "合计", **{f"i_{r.code}": sum(s.amounts.get(r.code, 0) for s in slips) for r in items},
                 "gross": run.gross, "social": run.social, "tax": run.tax, "other": run.other, "net": run.net})
    return export_rows(cols, rows, title=f"{run.unit.name}{run.year}年{run.month}月工资表")


def slip_table(s: PayrollSlip) -> ReportTable:
    run = s.run
    card = f"{s.card_bank} 尾号{s.card_no[-4:]}" if s.card_no else ""
    rows: list[list[str]] = [["姓名", s.name, "岗位/职级", f"{s.post} {s.grade}".strip()],
                             ["人员状态", s.get_status_display(), "工资卡", card]]
    pairs = [(r.name, s.amounts.get(r.code, 0)) for r in rules.item_rules(run.region_code, run.year)
             if s.amounts.get(r.code, 0)]
    for i in range(0, len(pairs), 2):
        a = pairs[i]
        b = pairs[i + 1] if i + 1 < len(pairs) else ("", None)
        rows.append([a[0], format_fen(a[1]), b[0], format_fen(b[1]) if b[1] is not None else ""])
    rows += [["应发合计", format_fen(s.gross), "扣款合计", format_fen(s.social + s.tax + s.other)],
             ["实发合计", format_fen(s.net), "本年累计个税", format_fen(s.cum_tax)]]
    cols = [ReportColumn("项目", TEXT, 1), ReportColumn("金额（元）", TEXT, 1.4), ReportColumn("项目", TEXT, 1),
            ReportColumn("金额（元）", TEXT, 1.4)]
    return ReportTable(f"{run.unit.name} 工资条", cols, rows, subtitle=f"{run.year}年{run.month}月 工资表 {run.number}",
                       bold_rows={len(rows) - 1})


def slip_pdf(s: PayrollSlip) -> bytes:
    return to_pdf([slip_table(s)], title=f"工资条 {s.run.number} {s.name}")


def region_summary(*, actor, year: int, month: int) -> ReportTable:
    """The runs of the month the reader may see (a finance user: the region's units), one row per unit: headcount,
    each item's total, the totals and the status."""
    runs = list(selectors.run_list(actor=actor, year=year).filter(month=month).order_by("unit__code"))
    region = runs[0].region_code if runs else getattr(actor, "region_code", "") or ""
    items = rules.item_rules(region, year)
    sums: dict[int, dict[str, int]] = {r.pk: {} for r in runs}
    for run_id, amounts in PayrollSlip.objects.filter(run__in=runs).values_list("run_id", "amounts").iterator():
        acc = sums[run_id]
        for code, v in amounts.items():
            acc[code] = acc.get(code, 0) + v
    cols = [ReportColumn("单位编码", TEXT, 1), ReportColumn("单位名称", TEXT, 2), ReportColumn("工资表编号", TEXT, 2),
            ReportColumn("状态", TEXT, 1), ReportColumn("人数", NUMBER, 0.6),
            *[ReportColumn(r.name, MONEY) for r in items],
            ReportColumn("应发合计", MONEY), ReportColumn("扣款合计", MONEY), ReportColumn("实发合计", MONEY)]
    rows = [[r.unit.code, r.unit.name, r.number, r.get_status_display(), r.headcount,
             *[sums[r.pk].get(i.code, 0) for i in items], r.gross, r.social + r.tax + r.other, r.net] for r in runs]
    total = ["合计", f"{len(runs)} 个单位", "", "", sum(r.headcount for r in runs),
             *[sum(row[5 + k] for row in rows) for k in range(len(items))],
             sum(r.gross for r in runs), sum(r.social + r.tax + r.other for r in runs), sum(r.net for r in runs)]
    return ReportTable(f"{year}年{month}月工资汇总表", cols, [*rows, total], subtitle="按单位和工资项目汇总；金额单位：元",
                       bold_rows={len(rows)})


def region_summary_xlsx(*, actor, year: int, month: int) -> bytes:
    return to_xlsx([region_summary(actor=actor, year=year, month=month)])
