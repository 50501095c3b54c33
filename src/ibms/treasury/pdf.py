"""Payment voucher printed: the PDF (reportlab; the embedded CJK font and escaped text of `core.pdf`) and the rows the
print preview page shows."""

from __future__ import annotations

import io

from ibms.core.money import fen_to_capitals, format_fen
from ibms.core.pdf import para, pdf_font
from ibms.masterdata.models import AgentBank, Region

from .models import PaymentVoucher


def signed_by(v: PaymentVoucher) -> str:
    """The people who signed (the unit's approver, the finance's): as the signing step wrote them on the timeline."""
    ev = v.events.filter(kind=PaymentVoucher.State.SIGNED).order_by("id").first()
    return ev.note.split("签名人：", 1)[1] if ev is not None and "签名人：" in ev.note else ""


def voucher_layout(v: PaymentVoucher) -> dict:
    """The printed voucher — the PDF and the print preview page show the same rows: names with their codes,
    the amount in figures and in capitals (金额大写), the seals and the signers in Chinese."""
    region = Region.objects.filter(code=v.region_code).values_list("name", flat=True).first() or ""
    bank = (AgentBank.objects.filter(region_code__in=[v.region_code, ""], code=v.agent_bank_code)
            .values_list("name", flat=True).first() or "")
    named = lambda name, code: f"{name}（{code}）" if name and code else (name or code or "")  # noqa: E731
    req = v.request
    rows = [
        ("凭证号", v.number, "凭证日期", v.vou_date.isoformat()),
        ("财政区划", named(region, v.region_code), "凭证类型", named(v.vt_name, v.vt_code)),
        ("付款户名", v.pay_acct_name, "付款账号", v.pay_acct_no),
        ("收款户名", v.payee_name, "收款账号", v.payee_account_no),
        ("收款银行", v.payee_bank_name, "代理银行", named(bank, v.agent_bank_code)),
        ("金额（小写）", f"¥{format_fen(v.amount)}", "支付方式", v.get_pay_method_display()),
        ("金额（大写）", fen_to_capitals(v.amount), "", ""),
    ]
    if req is not None:
        rows += [
            ("预算单位", named(req.unit.name, req.unit.code), "支付申请", req.number),
            ("功能分类", req.exp_func_code, "经济分类", f"{req.dep_eco_code} / {req.gov_eco_code}"),
            ("资金性质", req.fund_nature_code, "指标", req.indicator.code),
            ("用途", req.purpose, "合同", req.contract.number if req.contract_id else ""),
        ]
    elif v.allocation_id:
        a = v.allocation
        rows += [("拨款类型", a.get_alloc_type_display(), "拨款凭证号", a.number),
                 ("用途", a.purpose, "指标", a.indicator.code)]
    rows += [("状态", v.get_state_display(), "电子签章", v.seals_display),
             ("签名人", signed_by(v) or "—", "银行流水号", v.agent_business_no),
             ("实际支付", format_fen(v.xpay_amt) if v.xpay_amt else "", "实付日期",
              v.xpay_date.isoformat() if v.xpay_date else "")]
    return {"title": v.vt_name, "rows": rows, "detail_count": v.details.count()}


def voucher_pdf(v: PaymentVoucher, *, max_details: int = 2000) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate, Spacer, Table, TableStyle

    PDF_FONT = pdf_font()
    h1 = ParagraphStyle("h1", fontName=PDF_FONT, fontSize=16, leading=22, alignment=1)
    cell = ParagraphStyle("cell", fontName=PDF_FONT, fontSize=9, leading=12)
    small = ParagraphStyle("small", fontName=PDF_FONT, fontSize=8, leading=11)
    layout = voucher_layout(v)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm,
                            bottomMargin=15 * mm, title=f"{layout['title']} {v.number}")
    P = lambda text: para(text or "", cell)  # noqa: E731
    rows = [[P(str(x)) for x in row] for row in layout["rows"]]
    grid = [("FONTNAME", (0, 0), (-1, -1), PDF_FONT), ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]
    head = Table(rows, colWidths=[25 * mm, 65 * mm, 25 * mm, 65 * mm])
    spans = [("SPAN", (1, n), (3, n)) for n, row in enumerate(layout["rows"]) if not row[2]]
    head.setStyle(TableStyle([*grid, *spans, ("BACKGROUND", (0, 0), (0, -1), colors.whitesmoke),
                              ("BACKGROUND", (2, 0), (2, -1), colors.whitesmoke)]))
    story = [para(layout["title"], h1), Spacer(1, 4 * mm), head, Spacer(1, 5 * mm)]
    details = list(v.details.all()[:max_details])
    if len(details) > 1 or v.vt_code == "8207":
        data = [[P("序号"), P("收款人"), P("收款账号"), P("开户银行"), P("金额（元）")]]
        data += [[P(d.seq), P(d.payee_name), P(d.payee_account_no), P(d.payee_bank_name), format_fen(d.amount)]
                 for d in details]
        t = Table(data, colWidths=[14 * mm, 45 * mm, 50 * mm, 46 * mm, 25 * mm], repeatRows=1)
        t.setStyle(TableStyle([*grid, ("ALIGN", (4, 1), (4, -1), "RIGHT"),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke)]))
        story += [para(f"支付明细（共 {layout['detail_count']} 笔）", cell), Spacer(1, 2 * mm), t]
    story += [Spacer(1, 6 * mm), para(f"电子签章：{v.seals_display}　　打印件仅供参考，以电子凭证为准。", small)]
    doc.build(story)
    return buf.getvalue()
