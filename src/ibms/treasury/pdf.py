"""Payment voucher printed to PDF (reportlab; the embedded CJK font and escaped text of `core.pdf`)."""

from __future__ import annotations

import io

from ibms.core.money import format_fen
from ibms.core.pdf import para, pdf_font

from .models import PaymentVoucher

TITLES = {"5201": "财政直接支付凭证", "8202": "财政授权支付凭证", "8207": "财政批量业务支付明细", "5207": "实拨拨款凭证"}


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
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm,
                            bottomMargin=15 * mm, title=f"{TITLES.get(v.vt_code, '支付凭证')} {v.number}")
    req = v.request
    P = lambda text: para(text or "", cell)  # noqa: E731
    rows = [
        [P("凭证号"), P(v.number), P("凭证日期"), P(v.vou_date.isoformat())],
        [P("财政区划"), P(v.region_code), P("凭证类型"), P(f"{v.vt_code} {TITLES.get(v.vt_code, '')}")],
        [P("付款户名"), P(v.pay_acct_name), P("付款账号"), P(v.pay_acct_no)],
        [P("收款户名"), P(v.payee_name), P("收款账号"), P(v.payee_account_no)],
        [P("收款银行"), P(v.payee_bank_name), P("代理银行"), P(v.agent_bank_code)],
        [P("金额（元）"), P(format_fen(v.amount)), P("支付方式"), P(v.get_pay_method_display())],
    ]
    if req is not None:
        rows += [
            [P("预算单位"), P(f"{req.unit.code} {req.unit.name}"), P("支付申请"), P(req.number)],
            [P("功能分类"), P(req.exp_func_code), P("经济分类"), P(f"{req.dep_eco_code} / {req.gov_eco_code}")],
            [P("资金性质"), P(req.fund_nature_code), P("指标"), P(req.indicator.code)],
            [P("用途"), P(req.purpose), P("合同"), P(req.contract.number if req.contract_id else "")],
        ]
    elif v.allocation_id:
        a = v.allocation
        rows += [[P("拨款类型"), P(a.get_alloc_type_display()), P("拨款凭证号"), P(a.number)],
                 [P("用途"), P(a.purpose), P("指标"), P(a.indicator.code)]]
    rows += [[P("状态"), P(v.get_state_display()), P("签章"), P(v.signers)],
             [P("实际支付"), P(format_fen(v.xpay_amt) if v.xpay_amt else ""), P("银行流水号"),
              P(v.agent_business_no)]]
    grid = [("FONTNAME", (0, 0), (-1, -1), PDF_FONT), ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]
    head = Table(rows, colWidths=[25 * mm, 65 * mm, 25 * mm, 65 * mm])
    head.setStyle(TableStyle([*grid, ("BACKGROUND", (0, 0), (0, -1), colors.whitesmoke),
                              ("BACKGROUND", (2, 0), (2, -1), colors.whitesmoke)]))
    story = [para(TITLES.get(v.vt_code, "支付凭证"), h1), Spacer(1, 4 * mm), head, Spacer(1, 5 * mm)]
    details = list(v.details.all()[:max_details])
    if len(details) > 1 or v.vt_code == "8207":
        data = [[P("序号"), P("收款人"), P("收款账号"), P("开户银行"), P("金额（元）")]]
        data += [[P(d.seq), P(d.payee_name), P(d.payee_account_no), P(d.payee_bank_name), format_fen(d.amount)]
                 for d in details]
        t = Table(data, colWidths=[14 * mm, 45 * mm, 50 * mm, 46 * mm, 25 * mm], repeatRows=1)
        t.setStyle(TableStyle([*grid, ("ALIGN", (4, 1), (4, -1), "RIGHT"),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke)]))
        story += [para(f"支付明细（共 {v.details.count()} 笔）", cell), Spacer(1, 2 * mm), t]
    story += [Spacer(1, 6 * mm), para("电子签章：" + (v.signers or "（未签章）") + "　　打印件仅供参考，以电子凭证为准。",
                                      small)]
    doc.build(story)
    return buf.getvalue()
