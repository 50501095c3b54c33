"""The treasury tells payroll when the bank returns a voucher: a returned payment of a run waits on the unit's
clerks (fix the cards, then 重新发放) until it is re-paid."""

from __future__ import annotations

from django.urls import reverse

from ibms.core import workflow

from .models import PayrollPayment
from .setup import DOC_RUN

REPAY_STEP = workflow.Step(0, "更正工资卡后重新发放", "unit_clerk", "unit")


def on_return(voucher, reason: str) -> None:
    pay = (PayrollPayment.objects.filter(request_id=voucher.request_id).select_related("run").first()
           if voucher.request_id else None)
    if pay is None:
        return
    run = pay.run
    workflow.todo_open(doc_type=DOC_RUN, obj=run, title=f"工资发放被银行退回：{run.number}（{reason}）"[:200],
                       url=reverse("payroll:run-detail", args=[run.pk]), step=REPAY_STEP,
                       region_code=run.region_code, unit_path=run.unit_path)
