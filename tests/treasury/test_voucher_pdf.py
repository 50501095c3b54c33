"""A payment voucher's PDF (`/treasury/vouchers/<id>/?format=pdf`) prints what a person typed as text: a purpose
`<img src=x>` or `x <y` is neither an image, a link nor a 500; the CJK font is embedded."""

from __future__ import annotations

import re

import pytest

from ibms.core import clock
from ibms.treasury.models import PaymentVoucher, VoucherDetail
from tests.core.pdftext import pdf_text

from .builders import create, indicator

HOSTILE = ["<img src=x>", "x <y & z", '<a href="http://evil.example/">点我</a>', "<font size=40>大</font>&amp;"]


def _voucher(req, n: int) -> PaymentVoucher:
    """The voucher `_issue_voucher` would make of `req`, without sending it to a bank."""
    v = PaymentVoucher.objects.create(
        region_code=req.region_code, year=req.year, vt_code="5201", number=f"PDF-TEST-{n}", request=req,
        unit_path=req.unit_path, consumer=req.consumer, pay_method=req.pay_method, vou_date=clock.today(),
        amount=req.amount, agent_bank_code=req.agent_bank_code or "105", pay_acct_no=req.pay_acct_no,
        pay_acct_name=req.pay_acct_name, payee_name=req.payee_name, payee_account_no=req.payee_account_no,
        payee_bank_name=req.payee_bank_name)
    VoucherDetail.objects.create(voucher=v, seq=1, payee_name=req.purpose[:120], payee_account_no="6222<1>",
                                 amount=req.amount)
    VoucherDetail.objects.create(voucher=v, seq=2, payee_name="乙", payee_account_no="6222", amount=1)
    return v


@pytest.mark.django_db
@pytest.mark.parametrize("n,purpose", list(enumerate(HOSTILE)))
def test_voucher_pdf_prints_the_purpose_as_text(client_as, user, n, purpose):
    ind = indicator(user("fin_budget"), 1_000_000)
    req = create(user("school_clerk"), ind, 12_300, purpose=purpose)
    v = _voucher(req, n)
    r = client_as("school_clerk").get(f"/treasury/vouchers/{v.pk}/?format=pdf")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    pdf = r.content
    assert not re.search(rb"/Subtype\s*/Image", pdf) and b"/XObject" not in pdf
    assert b"/URI" not in pdf and b"/Annots" not in pdf
    assert b"/FontFile2" in pdf and b"STSong-Light" not in pdf
    text = re.sub(r"\s+", "", pdf_text(pdf))
    assert "财政直接支付凭证" in text and f"PDF-TEST-{n}" in text and "6222<1>" in text
    assert text.count(re.sub(r"\s+", "", purpose)) >= 2  # 用途 and the detail's payee


@pytest.mark.django_db
def test_print_preview_and_pdf_show_the_amount_in_capitals_and_names(client_as, user):
    ind = indicator(user("fin_budget"), 10_000_000)
    req = create(user("school_clerk"), ind, 1_234_505, purpose="购买实验器材")
    v = _voucher(req, 9)
    v.signers = "unit+finance"
    v.save(update_fields=["signers"])
    page = client_as("school_clerk").get(f"/treasury/vouchers/{v.pk}/?format=print").content.decode()
    assert '<td colspan="3" id="amount-capitals">壹万贰仟叁佰肆拾伍元零伍分</td>' in page
    assert "财政直接支付凭证（5201）" in page and "单位电子签章、财政电子签章" in page
    assert "unit+finance" not in page and f"{req.unit.name}（{req.unit.code}）" in page
    text = re.sub(r"\s+", "", pdf_text(client_as("school_clerk").get(f"/treasury/vouchers/{v.pk}/?format=pdf").content))
    assert "壹万贰仟叁佰肆拾伍元零伍分" in text and "¥12,345.05" in text and "单位电子签章、财政电子签章" in text
    detail = client_as("school_clerk").get(f"/treasury/vouchers/{v.pk}/").content.decode()
    assert "unit+finance" not in detail and "?format=print" in detail
