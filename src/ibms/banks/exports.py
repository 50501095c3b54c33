"""The bank message list exported to Excel under its current filter (every row, streamed)."""

from __future__ import annotations

from django.db.models import QuerySet

from ibms.core import excel

COLUMNS = [
    excel.Column("id", "编号", kind="int"), excel.Column("at", "时间", width=20), excel.Column("direction", "方向"),
    excel.Column("kind", "类型"), excel.Column("vt", "凭证类型"), excel.Column("voucher_no", "凭证号", width=24),
    excel.Column("region", "区划"), excel.Column("verified", "验签"), excel.Column("status", "状态"),
    excel.Column("result", "结果"), excel.Column("bank", "代理银行"), excel.Column("amount", "金额", kind="money"),
]


def messages_xlsx(qs: QuerySet) -> bytes:
    rows = ({"id": m.pk, "at": m.created_at.strftime("%Y-%m-%d %H:%M:%S"), "direction": m.get_direction_display(),
             "kind": m.kind_display, "vt": m.vt_code, "voucher_no": m.voucher_no, "region": m.region_code,
             "verified": "—" if m.verified is None else ("通过" if m.verified else "未通过"),
             "status": m.get_status_display(), "result": m.result_code, "bank": m.endpoint.agent_bank_code,
             "amount": m.amount} for m in qs.select_related("endpoint").iterator(chunk_size=2000))
    return excel.export_rows(COLUMNS, rows, title="银行报文")
