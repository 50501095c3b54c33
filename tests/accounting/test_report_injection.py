"""The books' exports (`?format=xlsx` / `?format=pdf` of the ledger pages) print what a person typed as text:
a 摘要 `=1+1` stays the text `=1+1` (a string cell, never a formula), `<img src=x>` prints as itself in the PDF."""

from __future__ import annotations

import datetime as dt
import io
import re

import openpyxl
import pytest
from django.db import transaction

from ibms.accounting import services as acc
from ibms.accounting.posting import LineSpec
from tests.core.pdftext import pdf_text

from .test_books import FUND, fresh_books

SUMMARIES = ["=1+1", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)", "<img src=x> x <y &amp;"]


@pytest.fixture
def hostile_books(db, user):
    aset = fresh_books()
    with transaction.atomic():
        for day, summary in enumerate(SUMMARIES, start=1):
            acc.voucher_post_system(actor=user("fin_accounting"), account_set=aset, date=dt.date(aset.year, 1, day),
                                    summary=summary, source="manual", lines=[
                                        LineSpec("financial", "1011", debit=100, dims=FUND, summary=summary),
                                        LineSpec("financial", "4001.01", credit=100, dims=FUND, summary=summary)])
    return aset


def test_detail_ledger_excel_writes_a_summary_as_text(hostile_books, client_as):
    url = f"/accounting/reports/detail-ledger/?set={hostile_books.pk}&start=1&end=1&account=1011"
    r = client_as("fin_accounting").get(url + "&format=xlsx")
    assert r.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(r.content)).worksheets[0]
    cells = [c for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    for s in SUMMARIES:
        [cell] = [c for c in cells if c.value == s]
        assert cell.data_type == "s"
        assert cell.quotePrefix == s.startswith(("=", "+", "-", "@")), (s, cell.quotePrefix)


def test_detail_ledger_pdf_prints_a_summary_as_text(hostile_books, client_as):
    url = f"/accounting/reports/detail-ledger/?set={hostile_books.pk}&start=1&end=1&account=1011"
    r = client_as("fin_accounting").get(url + "&format=pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert b"/URI" not in r.content and not re.search(rb"/Subtype\s*/Image", r.content)
    text = re.sub(r"\s+", "", pdf_text(r.content))
    for s in SUMMARIES:
        assert re.sub(r"\s+", "", s) in text, s
