"""The budget tables' exports print names as text: a unit named `=1+1` is a string cell `=1+1` in the Excel (never
a formula) and `<img src=x>` prints as itself in the PDF."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook

from ibms.masterdata.models import Unit
from tests.core.pdftext import pdf_text

from .test_reports import COUNTY, budget  # noqa: F401  (the fixture)

NAMES = {"001": "=1+1", "002": "<img src=x> x <y"}


@pytest.fixture
def hostile(budget):  # noqa: F811
    for code, name in NAMES.items():
        Unit.objects.filter(region_code=COUNTY, code=code).update(name=name)
    return budget


def test_budget_table_excel_writes_a_name_as_text(client_as, hostile):
    r = client_as("county_budget").get(f"/budgeting/reports/{hostile.pk}/all/department/?format=xlsx")
    assert r.status_code == 200
    cells = [c for ws in load_workbook(io.BytesIO(r.content)).worksheets for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    formula_like = [c for c in cells if c.value == "=1+1"]
    assert formula_like and all(c.data_type == "s" and c.quotePrefix for c in formula_like)


def test_budget_table_pdf_prints_a_name_as_text(client_as, hostile):
    r = client_as("county_budget").get(f"/budgeting/reports/{hostile.pk}/all/department/?format=pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert b"/URI" not in r.content and not re.search(rb"/Subtype\s*/Image", r.content)
    text = re.sub(r"\s+", "", pdf_text(r.content))
    assert "=1+1" in text and "<imgsrc=x>x<y" in text
