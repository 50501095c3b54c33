"""Generated report tables: one `ReportTable` is computed from data, then shown as HTML, Excel or PDF.

Reports are never stored or edited by hand; the three renderings come from the same rows. Money cells are
integer fen and are written to Excel as exact decimal yuan with a number format, to PDF as formatted text.
PDF text is set in the embedded CJK font of `core.pdf`, every string escaped (never ReportLab markup).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.http import HttpResponse
from django.utils.http import content_disposition_header

from .money import format_fen
from .pdf import para, pdf_font

TEXT, MONEY, NUMBER = "text", "money", "number"
PDF = "application/pdf"


@dataclass
class ReportColumn:
    label: str
    kind: str = TEXT  # text | money (int fen) | number
    width: float = 0  # relative width; 0 = default for the kind


@dataclass
class ReportTable:
    title: str
    columns: list[ReportColumn]
    rows: list[list[Any]] = field(default_factory=list)
    subtitle: str = ""  # 编制单位、期间、金额单位 …
    bold_rows: set[int] = field(default_factory=set)  # row indexes shown bold (totals, section headers)
    links: dict[int, str] = field(default_factory=dict)  # row index → the page its first cell opens (drill-down)

    def column_total(self, index: int, rows: Sequence[int] | None = None) -> int:
        picked = self.rows if rows is None else [self.rows[i] for i in rows]
        return sum(r[index] or 0 for r in picked)

    def display_cells(self) -> list[list[tuple[str, str]]]:
        """(text, column kind) per cell, for the HTML page."""
        kinds = [c.kind for c in self.columns]
        return [list(zip(row, kinds, strict=True)) for row in self.display_rows()]

    def html_rows(self) -> list[tuple[list[tuple[str, str]], str, bool]]:
        """(cells, drill-down address or '', bold) per row, for the HTML page."""
        return [(cells, self.links.get(i, ""), i in self.bold_rows) for i, cells in enumerate(self.display_cells())]

    def display_rows(self) -> list[list[str]]:
        out = []
        for row in self.rows:
            out.append([_display(col, v) for col, v in zip(self.columns, row, strict=True)])
        return out


def _display(col: ReportColumn, value: Any) -> str:
    if value is None or value == "":
        return ""
    if col.kind == MONEY:
        return format_fen(value)
    return str(value)


def to_xlsx(tables: Sequence[ReportTable]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    from .excel import safe_value  # text never becomes a formula (= + - @ …), as in every other export

    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    for t in tables:
        name = _sheet_name(t.title, used)
        ws = wb.create_sheet(name)
        ws.append([safe_value(ws, t.title)])
        ws["A1"].font = Font(bold=True, size=14)
        ws.append([safe_value(ws, t.subtitle)])
        ws.append([safe_value(ws, c.label) for c in t.columns])
        for cell in ws[3]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(horizontal="center", wrap_text=True)
        for i, row in enumerate(t.rows):
            values = []
            for col, v in zip(t.columns, row, strict=True):
                if col.kind == MONEY and v not in (None, ""):
                    values.append(Decimal(int(v)) / 100)
                else:
                    values.append(safe_value(ws, v))
            ws.append(values)
            for j, col in enumerate(t.columns):
                cell = ws.cell(row=ws.max_row, column=j + 1)
                if col.kind == MONEY:
                    cell.number_format = "#,##0.00"
                if i in t.bold_rows:
                    cell.font = Font(bold=True)
        for j, col in enumerate(t.columns):
            letter = ws.cell(row=3, column=j + 1).column_letter
            ws.column_dimensions[letter].width = col.width or (18 if col.kind == MONEY else 28)
        ws.freeze_panes = "A4"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _sheet_name(title: str, used: set[str]) -> str:
    base = "".join(ch for ch in title if ch not in "[]:*?/\\")[:28] or "表"
    name, n = base, 2
    while name in used:
        name, n = f"{base[:26]}{n}", n + 1
    used.add(name)
    return name


def to_pdf(tables: Sequence[ReportTable], *, title: str = "") -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import PageBreak, SimpleDocTemplate, Spacer, Table, TableStyle

    PDF_FONT = pdf_font()
    h1 = ParagraphStyle("h1", fontName=PDF_FONT, fontSize=14, leading=20, alignment=1)
    small = ParagraphStyle("small", fontName=PDF_FONT, fontSize=8, leading=11)
    cell = ParagraphStyle("cell", fontName=PDF_FONT, fontSize=8, leading=10)
    buf = io.BytesIO()
    page = landscape(A4)
    doc = SimpleDocTemplate(buf, pagesize=page, leftMargin=12 * mm, rightMargin=12 * mm, topMargin=12 * mm,
                            bottomMargin=12 * mm, title=title or (tables[0].title if tables else ""))
    story: list = []
    avail = page[0] - 24 * mm
    for n, t in enumerate(tables):
        if n:
            story.append(PageBreak())
        story.append(para(t.title, h1))
        if t.subtitle:
            story.append(para(t.subtitle, small))
        story.append(Spacer(1, 3 * mm))
        weights = [c.width or (1.0 if c.kind == MONEY else 1.6) for c in t.columns]
        widths = [avail * w / sum(weights) for w in weights]
        data = [[para(c.label, cell) for c in t.columns]]
        for row in t.display_rows():
            data.append([para(v, cell) if col.kind == TEXT else v for col, v in zip(t.columns, row, strict=True)])
        table = Table(data, colWidths=widths, repeatRows=1)
        style = [("FONTNAME", (0, 0), (-1, -1), PDF_FONT), ("FONTSIZE", (0, 0), (-1, -1), 8),
                 ("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                 ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]
        for j, c in enumerate(t.columns):
            if c.kind != TEXT:
                style.append(("ALIGN", (j, 1), (j, -1), "RIGHT"))
        for i in t.bold_rows:
            style.append(("BACKGROUND", (0, i + 1), (-1, i + 1), colors.Color(0.94, 0.96, 1)))
        table.setStyle(TableStyle(style))
        story.append(table)
    if not story:
        story.append(para(title or "（无数据）", h1))
    doc.build(story)
    return buf.getvalue()


def pdf_response(data: bytes, filename: str) -> HttpResponse:
    resp = HttpResponse(data, content_type=PDF)
    resp["Content-Disposition"] = content_disposition_header(True, filename)
    return resp


def report_response(request, tables: Sequence[ReportTable], *, filename: str, template: str = "core/report.html",
                    context: dict | None = None) -> HttpResponse:
    """`?format=xlsx` / `?format=pdf` download; otherwise the HTML page (core/report.html or an extension)."""
    from django.shortcuts import render

    from .views import xlsx_response

    fmt = request.GET.get("format", "")
    if fmt == "xlsx":
        return xlsx_response(to_xlsx(tables), f"{filename}.xlsx")
    if fmt == "pdf":
        return pdf_response(to_pdf(tables, title=filename), f"{filename}.pdf")
    return render(request, template, {"tables": tables, "title": filename, **(context or {})})
