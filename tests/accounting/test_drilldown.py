"""Drill-down from the books to the money: 科目余额表 row → the account's 明细账 → the 记账凭证 → the payment
voucher behind it (a paid payment, through the treasury's services)."""

from __future__ import annotations

import re

import pytest

from ibms.accounting.models import Voucher
from tests.treasury.builders import indicator, paid

pytestmark = pytest.mark.django_db


def _href(page: str, text_pattern: str) -> str:
    m = re.search(rf'<a href="([^"]+)" class="drill">{text_pattern}</a>', page)
    assert m, text_pattern
    return m.group(1).replace("&amp;", "&")


def test_trial_balance_to_ledger_to_voucher_to_payment(client_as, user):
    pv = paid(user, indicator(user("fin_budget"), 1_000_000), 23_456, "drill-1")
    acc = Voucher.objects.get(event_id=f"pay:{pv.region_code}:{pv.number}")
    line = acc.lines.filter(debit__gt=0).order_by("line_no").first()
    c = client_as("school_reviewer")
    tb = c.get("/accounting/reports/trial-balance/", {"set": acc.account_set_id, "start": 1, "end": 12})
    assert tb.status_code == 200
    ledger_url = _href(tb.content.decode(), re.escape(line.account_code))
    assert f"account={line.account_code}" in ledger_url and f"set={acc.account_set_id}" in ledger_url
    ledger = c.get(ledger_url).content.decode()
    voucher_url = f"/accounting/vouchers/{acc.pk}/"
    assert f'<a href="{voucher_url}" class="drill">' in ledger  # each entry opens its voucher
    page = c.get(voucher_url).content.decode()
    assert f"记账规则：{acc.rule_code}" not in page and "记账规则：—" not in page  # the rule by its name
    m = re.search(r'<a id="voucher-source" href="([^"]+)">([^<]+)</a>', page)
    assert m and m.group(1) == f"/treasury/vouchers/{pv.pk}/" and m.group(2) == f"支付凭证 {pv.number}"
    assert c.get(m.group(1)).status_code == 200  # the reviewer of the unit may open it
    assert client_as("hospital_clerk").get(m.group(1)).status_code == 404  # another unit's is not found


def test_voucher_list_exports_its_filter(client_as, user):
    import io

    import openpyxl

    pv = paid(user, indicator(user("fin_budget"), 1_000_000), 34_567, "export-1")
    acc = Voucher.objects.get(event_id=f"pay:{pv.region_code}:{pv.number}")
    r = client_as("school_reviewer").get("/accounting/vouchers/", {"set": acc.account_set_id, "export": "xlsx"})
    rows = list(openpyxl.load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("账套", "期间", "凭证号") and rows[-1][0] == "合计"
    assert acc.display_number in {row[2] for row in rows[1:-1]}
    assert round(rows[-1][7] * 100) == sum(v.financial_total for v in Voucher.objects.filter(
        account_set_id=acc.account_set_id))


def test_voucher_prints_with_capitals(client_as, user):
    from ibms.core.money import fen_to_capitals
    from tests.core.pdftext import pdf_text

    pv = paid(user, indicator(user("fin_budget"), 1_000_000), 45_678, "print-1")
    acc = Voucher.objects.get(event_id=f"pay:{pv.region_code}:{pv.number}")
    c = client_as("school_reviewer")
    preview = c.get(f"/accounting/vouchers/{acc.pk}/", {"format": "print"}).content.decode()
    assert f"记账凭证 {acc.year}年{acc.period_no}月 {acc.display_number}" in preview and "财务会计" in preview
    assert f"合计金额（大写）：{fen_to_capitals(acc.financial_total)}" in preview
    r = c.get(f"/accounting/vouchers/{acc.pk}/", {"format": "pdf"})
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    text = re.sub(r"\s+", "", pdf_text(r.content))
    assert fen_to_capitals(acc.financial_total) in text and acc.display_number in text
