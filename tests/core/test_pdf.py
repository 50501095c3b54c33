"""PDFs: a user's string is printed as text (never markup: no image, no link, no 500) and the CJK font is embedded."""

from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace

import pytest

from ibms.core.reports import MONEY, ReportColumn, ReportTable, to_pdf
from ibms.treasury.pdf import voucher_pdf

from .pdftext import pdf_text

HOSTILE = [
    "<img src=x>",
    "x <y & z",
    '<a href="http://evil.example/">点我</a>',
    "<font color=red size=40>大字</font>",
    "&amp; &#x41; &nbsp; &bogus;",
    "<para><b>粗体</b></para>",
    "]]><!-- --><?xml?>",
    "控制\x00符\x07",
]


def _no_image_no_link(pdf: bytes) -> None:
    assert pdf.startswith(b"%PDF")
    assert not re.search(rb"/Subtype\s*/Image", pdf) and b"/XObject" not in pdf
    assert b"/URI" not in pdf and not re.search(rb"/Subtype\s*/Link", pdf) and b"/Annots" not in pdf


def _text(pdf: bytes) -> str:
    return pdf_text(pdf)


def _squash(s: str) -> str:
    return re.sub(r"\s+", "", s)


def test_report_pdf_prints_markup_as_text() -> None:
    table = ReportTable(
        "<b>标题</b> & <img src=x>",
        [ReportColumn("<i>科目</i>"), ReportColumn("金额", MONEY)],
        rows=[[s, 100] for s in HOSTILE],
        subtitle='编制单位：<a href="http://evil.example/">x</a>',
    )
    pdf = to_pdf([table], title="<img src=x>")
    _no_image_no_link(pdf)
    text = _text(pdf)
    flat = _squash(text)
    for s in ["<b>标题</b>&<imgsrc=x>", "<i>科目</i>", "x<y&z", "<imgsrc=x>", "&amp;&#x41;&nbsp;&bogus;",
              '<ahref="http://evil.example/">点我</a>', "<fontcolor=redsize=40>大字</font>",
              "<para><b>粗体</b></para>", "]]><!----><?xml?>", "控制符", "1.00"]:
        assert s in flat, (s, text)


def _voucher(text: str) -> SimpleNamespace:
    detail = SimpleNamespace(seq=1, payee_name=text, payee_account_no="6222<1>", payee_bank_name=text, amount=100)
    details = SimpleNamespace(all=lambda: [detail, detail], count=lambda: 2)
    req = SimpleNamespace(unit=SimpleNamespace(code="001", name=text), number="SQ<1>", exp_func_code="2050201",
                          dep_eco_code="30201", gov_eco_code="50201", fund_nature_code="111",
                          indicator=SimpleNamespace(code="ZB&1"), purpose=text, contract_id=None, contract=None)
    return SimpleNamespace(
        vt_code="5201", number="PZ<1>", vou_date=dt.date(2025, 3, 1), region_code="990000000", pay_acct_name=text,
        pay_acct_no="1", payee_name=text, payee_account_no="2", payee_bank_name=text, agent_bank_code="105",
        amount=12345, get_pay_method_display=lambda: "直接支付", request=req, allocation_id=None,
        get_state_display=lambda: "已签章", signers=text, xpay_amt=0, xpay_date=None, agent_business_no="",
        details=details, vt_name="财政直接支付凭证", seals_display=text,
        events=SimpleNamespace(filter=lambda **kw: SimpleNamespace(order_by=lambda *a: SimpleNamespace(
            first=lambda: SimpleNamespace(note=f"签章：单位电子签章；签名人：{text}")))),
    )


@pytest.mark.django_db  # the layout reads the region's and the agent bank's names
@pytest.mark.parametrize("text", HOSTILE)
def test_voucher_pdf_prints_markup_as_text(text: str) -> None:
    pdf = voucher_pdf(_voucher(text))
    _no_image_no_link(pdf)
    flat = _squash(_text(pdf))
    assert "财政直接支付凭证" in flat and "PZ<1>" in flat and "ZB&1" in flat and "6222<1>" in flat
    assert _squash(text.replace("\x00", "").replace("\x07", "")) in flat


def test_pdf_embeds_its_cjk_font() -> None:
    pdf = to_pdf([ReportTable("科目余额表", [ReportColumn("科目")], rows=[["库存现金"]])])
    assert b"/FontFile2" in pdf  # an embedded TrueType font program (a subset)
    assert b"STSong-Light" not in pdf
    text = _text(pdf)
    assert "科目余额表" in text and "库存现金" in text


def test_without_the_font_file_pdfs_fall_back_and_warn(monkeypatch, caplog) -> None:
    from ibms.core import pdf as core_pdf

    monkeypatch.setattr(core_pdf, "_registered", None)
    monkeypatch.setattr(core_pdf, "font_file", lambda: None)
    with caplog.at_level("WARNING", logger="ibms.pdf"):
        out = to_pdf([ReportTable("科目余额表", [ReportColumn("科目")], rows=[["<img src=x>"]])])
    assert out.startswith(b"%PDF") and b"STSong-Light" in out and b"/FontFile2" not in out
    assert "paperang-p2-fonts-cjk" in caplog.text
    _no_image_no_link(out)


def test_the_font_file_setting_is_used(settings, monkeypatch) -> None:
    from ibms.core import pdf as core_pdf

    packaged = core_pdf.font_file()
    assert packaged is not None and packaged.endswith("wqy-microhei.ttc")
    settings.IBMS_PDF_FONT_FILE = "/nonexistent/font.ttf"
    assert core_pdf.font_file() == "/nonexistent/font.ttf"
