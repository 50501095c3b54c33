"""Excel in and out, as an attacker would try it.

Out: text that starts like a formula (= + - @, a tab or CR) is written as text by every export path — lists,
templates, error reports and the report tables (budget and accounting reports) — the same characters, a string
cell with Excel's quote prefix, never a formula. In: a zip bomb, an oversized sheet, too many parts, too long a
cell and entity tricks are refused as an ImportRejected (a ValidationFailed with a stable code), fast.
"""

from __future__ import annotations

import ast
import datetime as dt
import io
import re
import time
import zipfile
from pathlib import Path

import pytest
from django.test import RequestFactory
from openpyxl import Workbook, load_workbook

from ibms.core.errors import ValidationFailed
from ibms.core.excel import (
    Column,
    ImportRejected,
    ReadLimits,
    RowError,
    build_template,
    error_report,
    export_rows,
    read_rows,
)
from ibms.core.reports import MONEY, NUMBER, ReportColumn, ReportTable, report_response, to_xlsx

HOSTILE = ['=HYPERLINK("http://evil.example/","点我")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)",
           "\t=1+1", "\r=1+1", "=1+1"]
SRC = Path(__file__).resolve().parents[2] / "src" / "ibms"


def _is_text(cell, expected: str) -> None:
    assert cell.data_type == "s", (cell.coordinate, cell.value, cell.data_type)
    assert cell.value == expected.replace("\r", "\n") or cell.value == expected
    assert cell.quotePrefix, (cell.coordinate, cell.value)


def _book(data: bytes):
    return load_workbook(io.BytesIO(data))


# ---------------------------------------------------------------------------------------------- out


def test_export_rows_writes_formula_like_text_as_text() -> None:
    cols = [Column("name", "名称"), Column("kind", "类型", kind="choice", choices=[(f"k{i}", s) for i, s in
                                                                                 enumerate(HOSTILE)]),
            Column("n", "数量", kind="int"), Column("d", "日期", kind="date"), Column("amount", "金额", kind="money")]
    rows = [{"name": s, "kind": f"k{i}", "n": s, "d": s, "amount": 100} for i, s in enumerate(HOSTILE)]
    rows.append({"name": "普通文本", "kind": None, "n": 3, "d": dt.date(2025, 1, 2), "amount": -100})
    ws = _book(export_rows(cols, rows, title="导出")).worksheets[0]
    for r, s in enumerate(HOSTILE, start=2):
        _is_text(ws[f"A{r}"], s.strip())  # text columns are trimmed, as always
        for c in "BCD":
            _is_text(ws[f"{c}{r}"], s)
    last = len(HOSTILE) + 2
    assert ws[f"A{last}"].value == "普通文本" and not ws[f"A{last}"].quotePrefix
    assert ws[f"C{last}"].value == 3 and ws[f"E{last}"].value == -1
    assert not any(c.data_type == "f" for row in ws.iter_rows() for c in row)


def test_error_report_and_template_write_text_as_text() -> None:
    ws = _book(error_report([RowError(2, s, s) for s in HOSTILE])).worksheets[0]
    for r, s in enumerate(HOSTILE, start=2):
        _is_text(ws[f"B{r}"], s.strip())
        _is_text(ws[f"C{r}"], s.strip())
    cols = [Column("kind", "=类型", kind="choice", choices=[(f"k{i}", s) for i, s in enumerate(HOSTILE)]),
            Column("note", "@备注")]
    wb = _book(build_template(cols, title="模板", example={"kind": "k0", "note": "=1+1"}))
    data, guide, lists = wb["模板"], wb["填写说明"], wb["选项"]
    _is_text(data["A1"], "=类型")
    _is_text(data["B1"], "@备注")
    for r, s in enumerate(HOSTILE, start=1):
        _is_text(lists[f"A{r}"], s)
    _is_text(guide["A2"], "=类型")
    _is_text(guide["E2"], HOSTILE[0])
    _is_text(guide["E3"], "=1+1")


def _hostile_table() -> ReportTable:
    return ReportTable(
        "=科目余额表", [ReportColumn("=科目"), ReportColumn("金额", MONEY), ReportColumn("数", NUMBER)],
        rows=[[s, 100, s] for s in HOSTILE] + [["库存现金", 12345, 3]], subtitle="+编制单位：x",
    )


def test_report_tables_write_text_as_text() -> None:
    """The budget and accounting reports' Excel (`core.reports.to_xlsx`, behind every `?format=xlsx`)."""
    ws = _book(to_xlsx([_hostile_table()])).worksheets[0]
    _is_text(ws["A1"], "=科目余额表")
    _is_text(ws["A2"], "+编制单位：x")
    _is_text(ws["A3"], "=科目")
    for r, s in enumerate(HOSTILE, start=4):
        _is_text(ws[f"A{r}"], s)
        _is_text(ws[f"C{r}"], s)
    last = len(HOSTILE) + 4
    assert ws[f"A{last}"].value == "库存现金" and str(ws[f"B{last}"].value) == "123.45" and ws[f"C{last}"].value == 3
    assert not any(c.data_type == "f" for row in ws.iter_rows() for c in row)


def test_report_response_xlsx_writes_text_as_text() -> None:
    request = RequestFactory().get("/x/", {"format": "xlsx"})
    resp = report_response(request, [_hostile_table()], filename="科目余额表")
    assert resp.status_code == 200
    ws = _book(resp.content).worksheets[0]
    assert not any(c.data_type == "f" for row in ws.iter_rows() for c in row)
    _is_text(ws["A4"], HOSTILE[0])


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def test_only_the_core_writers_build_excel_and_pdf() -> None:
    """Every export goes through `core.excel` / `core.reports` (Excel) and `core.pdf` (font, escaping): a module
    that imported openpyxl or reportlab itself would bypass the formula and markup guards."""
    excel_ok = {"core/excel/reading.py", "core/excel/writing.py", "core/reports.py"}
    pdf_ok = {"core/pdf.py", "core/reports.py", "treasury/pdf.py"}
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        used = _imports(path)
        assert "openpyxl" not in used or rel in excel_ok, rel
        assert "reportlab" not in used or rel in pdf_ok, rel
    for rel in pdf_ok - {"core/pdf.py"}:  # Paragraphs only through core.pdf's escaping
        text = (SRC / rel).read_text(encoding="utf-8")
        assert not re.search(r"\bParagraph\(", text), rel


# ----------------------------------------------------------------------------------------------- in

COLUMNS = [Column("code", "编码", required=True), Column("name", "名称")]
NS = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'


def _xlsx(rows: list[list]) -> bytes:
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _rezip(data: bytes, replace: dict[str, object], add: int = 0) -> bytes:
    """`data` with members replaced (bytes, or a callable writing to the member stream) and `add` extra ones."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            new = replace.get(info.filename, src.read(info.filename))
            zi = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            zi.compress_type = zipfile.ZIP_DEFLATED
            if callable(new):
                with dst.open(zi, "w") as fh:
                    new(fh)
            else:
                dst.writestr(zi, new, compresslevel=9)
        for i in range(add):
            dst.writestr(f"customXml/item{i}.xml", b"<a/>")
    return out.getvalue()


def _spaces(n_mib: int):
    def write(fh) -> None:
        fh.write(b'<?xml version="1.0" encoding="UTF-8"?>' + NS + b"<sheetData>")
        chunk = b" " * (1024 * 1024)
        for _ in range(n_mib):
            fh.write(chunk)
        fh.write(b"</sheetData></worksheet>")

    return write


def _refused(data: bytes, code: str, **kw) -> ImportRejected:
    with pytest.raises(ImportRejected) as exc:
        read_rows(data, COLUMNS, **kw)
    assert [e.code for e in exc.value.errors] == [code], exc.value.errors
    return exc.value


@pytest.fixture(scope="module")
def base() -> bytes:
    return _xlsx([["编码", "名称"], ["001", "甲"]])


def test_zip_bomb_refused_from_its_directory(base: bytes) -> None:
    bomb = _rezip(base, {"xl/worksheets/sheet1.xml": _spaces(400)})
    assert len(bomb) < 1024 * 1024  # under a megabyte, 400 MiB inflated (its refusal time: bench/imports.py)
    exc = _refused(bomb, "import_unzipped_too_large")
    assert isinstance(exc, ValidationFailed) and exc.code == "import_rejected" and exc.http_status == 422
    assert "解压后过大" in exc.message and exc.detail[0]["code"] == "import_unzipped_too_large"


def test_small_bomb_refused_by_its_ratio(base: bytes) -> None:
    exc = _refused(_rezip(base, {"xl/worksheets/sheet1.xml": _spaces(20)}), "import_zip_ratio")
    assert "压缩比" in str(exc)


def test_too_many_parts_refused(base: bytes) -> None:
    _refused(_rezip(base, {}, add=ReadLimits().max_zip_members), "import_zip_members")


def test_entity_expansion_refused(base: bytes) -> None:
    laughs = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">'
              b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;">]>' + NS + b"<sheetData><row r=\"1\"><c r=\"A1\" "
              b't="inlineStr"><is><t>&lol3;</t></is></c></row></sheetData></worksheet>')
    xxe = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + NS +
           b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&e;</t></is></c></row></sheetData></worksheet>')
    for xml in (laughs, xxe):
        _refused(_rezip(base, {"xl/worksheets/sheet1.xml": xml}), "import_file_invalid")


def test_sheet_declaring_too_many_rows_or_columns_refused_before_reading() -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["编码", "名称"])
    ws.cell(row=1_048_576, column=1).value = "x"  # a tiny file that says it has a million rows
    buf = io.BytesIO()
    wb.save(buf)
    _refused(buf.getvalue(), "import_too_many_rows")  # from the dimension: bench/imports.py times it (~10 ms)
    _refused(_xlsx([["编码", "名称"] + [None] * 300 + ["x"]]), "import_too_many_columns")


def test_rows_past_the_limit_refused_even_without_a_dimension() -> None:
    data = _xlsx([["编码", "名称"]] + [[f"{i:03d}", "x"] for i in range(200)])
    no_dim = _rezip(data, {"xl/worksheets/sheet1.xml": re.sub(
        rb"<dimension [^>]*/>", b"", zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml"))})
    wrong_dim = _rezip(data, {"xl/worksheets/sheet1.xml": re.sub(
        rb'<dimension ref="[^"]*"', b'<dimension ref="A1:A1"',
        zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml"))})
    for source in (data, no_dim, wrong_dim):
        assert len(read_rows(source, COLUMNS)) == 200  # a wrong dimension no longer hides rows
        _refused(source, "import_too_many_rows", max_rows=199)
    # blank rows past the window are never read, data there refuses the file
    limits = ReadLimits(max_rows=10)
    wb = Workbook()
    ws = wb.active
    ws.append(["编码", "名称"])
    ws.append(["001", "x"])
    ws.cell(row=limits.max_sheet_rows + 1, column=1).value = "002"
    buf = io.BytesIO()
    wb.save(buf)
    no_dim = re.sub(rb"<dimension [^>]*/>", b"", zipfile.ZipFile(buf).read("xl/worksheets/sheet1.xml"))
    _refused(_rezip(buf.getvalue(), {"xl/worksheets/sheet1.xml": no_dim}), "import_too_many_rows", limits=limits)


def test_cell_too_large_refused() -> None:
    data = _xlsx([["编码", "名称"], ["001", "长" * 101], ["002", "短"]])
    with pytest.raises(ImportRejected) as exc:
        read_rows(data, COLUMNS, limits=ReadLimits(max_cell_chars=100))
    assert [(e.row, e.column, e.code) for e in exc.value.errors] == [(2, "名称", "import_cell_too_large")]
    assert len(read_rows(data, COLUMNS)) == 2  # the default is Excel's own limit


def test_limits_come_from_settings(settings) -> None:
    data = _xlsx([["编码", "名称"]] + [[f"{i:03d}", "x"] for i in range(4)])
    settings.IBMS_IMPORT_MAX_ROWS = 3
    assert ReadLimits.from_settings().max_rows == 3
    _refused(data, "import_too_many_rows")
    settings.IBMS_IMPORT_MAX_ROWS = 4
    assert len(read_rows(data, COLUMNS)) == 4
    settings.IBMS_IMPORT_MAX_ZIP_MEMBERS = 3
    _refused(data, "import_zip_members")


@pytest.mark.django_db
def test_bomb_on_the_import_page_is_a_422_in_chinese(client_as, base: bytes) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    bomb = _rezip(base, {"xl/worksheets/sheet1.xml": _spaces(400)})
    r = client_as("fin_budget").post("/r/payees/import/", {"file": SimpleUploadedFile("炸弹.xlsx", bomb)})
    assert r.status_code == 422
    assert "解压后过大" in r.content.decode()


@pytest.mark.django_db
def test_import_past_its_time_budget_is_rolled_back_and_refused(client_as, user, settings) -> None:
    """A file too big to import within `IBMS_IMPORT_MAX_SECONDS` is refused (code `import_too_slow`) and nothing is
    saved, so a page import never holds the database until the web worker is killed."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from ibms.core.resources import get_resource
    from ibms.core.services import ImportFailed, resource_import
    from ibms.masterdata.models import Region

    rows = [{"_row": 2, "code": "990199001", "name": "某镇", "level": "5", "parent": "990100000", "is_active": True}]
    with pytest.raises(ImportFailed) as exc:
        resource_import(actor=user("fin_budget"), resource=get_resource("regions"), rows=rows,
                        deadline=time.monotonic() - 1)
    assert [v.code for v in exc.value.violations] == ["import_too_slow"] and exc.value.code == "import_rejected"
    assert "导入用时超过上限" in exc.value.detail[0]["message"]

    settings.IBMS_IMPORT_MAX_SECONDS = 0
    data = _xlsx([["区划代码", "区划名称", "预算级次", "上级区划代码"], ["990199001", "某镇", "5", "990100000"]])
    r = client_as("fin_budget").post("/r/regions/import/", {"file": SimpleUploadedFile("区划.xlsx", data)})
    assert r.status_code == 422 and "导入用时超过上限" in r.content.decode()
    assert not Region.objects.filter(code="990199001").exists()
