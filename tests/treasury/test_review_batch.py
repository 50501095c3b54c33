"""批量审核 from the review queue: each selected request is one service call with its own result; a refusal of one
changes nothing for the others; a batch return needs its reason; only reviewers may post it."""

from __future__ import annotations

import pytest

from ibms.banks import services as banks
from ibms.banks.models import BankEndpoint
from ibms.core.crypto import generate_sm2_keypair
from ibms.treasury import services as s
from ibms.treasury.models import PaymentRequest
from tests.constants import DEMO_PIN

from .builders import create, fresh, indicator

pytestmark = pytest.mark.django_db


def _submitted(user, n: int) -> list[PaymentRequest]:
    clerk = user("school_clerk")
    ind = indicator(user("fin_budget"), 10_000_000)
    out = []
    for i in range(n):
        req = create(clerk, ind, 10_000 + i, purpose=f"批量审核测试{i}")
        out.append(s.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key=f"batch-{i}"))
    code = fresh(out[0]).agent_bank_code
    if not BankEndpoint.objects.filter(agent_bank_code=code, region_code=ind.region_code).exists():
        banks.endpoint_register(actor=user("fin_treasury"), agent_bank_code=code, region_code=ind.region_code,
                                base_url="http://127.0.0.1:9", public_pem=generate_sm2_keypair().public_pem.decode())
    return out


def test_batch_approve_each_with_its_result(client_as, user):
    a, b, c = _submitted(user, 3)
    s.payment_request_withdraw(actor=user("school_clerk"), pk=c.pk)  # withdrawn after the queue was shown
    rv = client_as("school_reviewer")
    queue = rv.get("/treasury/review/").content.decode()
    assert f'value="{a.pk}"' in queue and 'id="batch-form"' in queue
    r = rv.post("/treasury/review/batch/", {"ids": [a.pk, b.pk, c.pk], "action": "approve", "pin": DEMO_PIN})
    page = r.content.decode()
    assert r.status_code == 200 and "共 3 笔，成功 2 笔" in page
    assert fresh(a).status == fresh(b).status == PaymentRequest.Status.APPROVED
    assert fresh(c).status == PaymentRequest.Status.WITHDRAWN and "只有审核中的支付申请可以审核" in page
    assert f'value="{a.pk}"' not in page  # the queue shown again, without what was done


def test_batch_return_needs_a_reason_and_a_reviewer(client_as, user):
    a, b = _submitted(user, 2)
    rv = client_as("school_reviewer")
    r = rv.post("/treasury/review/batch/", {"ids": [a.pk, b.pk], "action": "reject"})
    assert r.status_code == 422 and "批量退回必须填写退回原因" in r.content.decode()
    assert fresh(a).status == fresh(b).status == PaymentRequest.Status.SUBMITTED
    assert rv.post("/treasury/review/batch/", {"action": "approve"}).status_code == 422  # nothing selected
    assert client_as("school_clerk").post("/treasury/review/batch/", {"ids": [a.pk], "action": "approve"}
                                          ).status_code == 403
    r = rv.post("/treasury/review/batch/", {"ids": [a.pk, b.pk], "action": "reject", "comment": "附件不全"})
    assert r.status_code == 200 and "成功 2 笔" in r.content.decode()
    assert fresh(a).status == fresh(b).status == PaymentRequest.Status.REJECTED and fresh(a).review_comment == "附件不全"
