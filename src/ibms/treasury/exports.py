"""Excel exports of the treasury's lists — what the list shows under its current filter, every row (streamed), with
a totals row under the money columns."""

from __future__ import annotations

from itertools import chain

from django.db.models import QuerySet, Sum

from ibms.core import excel

REQUEST_COLUMNS = [
    excel.Column("number", "申请单号", width=26), excel.Column("date", "申请日期"), excel.Column("unit", "预算单位", width=28),
    excel.Column("indicator", "指标编码", width=24), excel.Column("purpose", "用途", width=30),
    excel.Column("payee", "收款人", width=28), excel.Column("account", "收款账号", width=24),
    excel.Column("pay_method", "支付方式"), excel.Column("status", "状态"),
    excel.Column("amount", "金额", kind="money"), excel.Column("xpay_amt", "实付金额", kind="money"),
]
VOUCHER_COLUMNS = [
    excel.Column("number", "凭证号", width=24), excel.Column("date", "凭证日期"), excel.Column("vt", "凭证类型", width=22),
    excel.Column("request", "支付申请", width=26), excel.Column("payee", "收款人", width=28),
    excel.Column("account", "收款账号", width=24), excel.Column("bank", "代理银行"), excel.Column("state", "状态"),
    excel.Column("amount", "支付金额", kind="money"), excel.Column("xpay_amt", "实付金额", kind="money"),
    excel.Column("refunded_amt", "已退款", kind="money"),
]
CONTRACT_COLUMNS = [
    excel.Column("number", "合同编号", width=24), excel.Column("name", "合同名称", width=30),
    excel.Column("unit", "预算单位", width=28), excel.Column("payee", "供应商", width=28),
    excel.Column("sign_date", "签订日期"), excel.Column("plan", "采购计划", width=24), excel.Column("status", "状态"),
    excel.Column("amount", "合同金额", kind="money"), excel.Column("committed", "已申请（含在途）", kind="money"),
    excel.Column("paid", "已支付", kind="money"),
]


def _with_totals(qs: QuerySet, rows, money: tuple[str, ...], label_key: str):
    sums = qs.order_by().aggregate(**{k: Sum(k) for k in money})
    return chain(rows, [{label_key: "合计", **{k: sums[k] or 0 for k in money}}])


def requests_xlsx(qs: QuerySet) -> bytes:
    rows = ({"number": r.number, "date": r.created_at.date().isoformat(), "unit": r.unit.name,
             "indicator": r.indicator.code, "purpose": r.purpose, "payee": r.payee_name,
             "account": r.payee_account_no, "pay_method": r.get_pay_method_display(), "status": r.get_status_display(),
             "amount": r.amount, "xpay_amt": r.xpay_amt} for r in qs.iterator(chunk_size=2000))
    return excel.export_rows(REQUEST_COLUMNS, _with_totals(qs, rows, ("amount", "xpay_amt"), "number"), title="支付申请")


def vouchers_xlsx(qs: QuerySet) -> bytes:
    rows = ({"number": v.number, "date": v.vou_date.isoformat(), "vt": f"{v.vt_name}（{v.vt_code}）",
             "request": v.request.number if v.request_id else "", "payee": v.payee_name,
             "account": v.payee_account_no, "bank": v.agent_bank_code, "state": v.get_state_display(),
             "amount": v.amount, "xpay_amt": v.xpay_amt, "refunded_amt": v.refunded_amt}
            for v in qs.iterator(chunk_size=2000))
    return excel.export_rows(VOUCHER_COLUMNS, _with_totals(qs, rows, ("amount", "xpay_amt", "refunded_amt"), "number"),
                             title="支付凭证")


def contracts_xlsx(qs: QuerySet) -> bytes:
    rows = ({"number": c.number, "name": c.name, "unit": c.unit.name, "payee": c.payee_name,
             "sign_date": c.sign_date.isoformat(), "plan": c.plan.number if c.plan_id else "",
             "status": c.get_status_display(), "amount": c.amount, "committed": c.committed, "paid": c.paid}
            for c in qs.select_related("unit", "plan").iterator(chunk_size=2000))
    return excel.export_rows(CONTRACT_COLUMNS, _with_totals(qs, rows, ("amount", "committed", "paid"), "number"),
                             title="合同")
