"""The home page is the to-do list: every open item, counted by kind in Chinese (each count a link to its items);
a to-do of a kind not listed in data/todo/ is refused before anything is written."""

from __future__ import annotations

import re

import pytest

from ibms.core import workflow
from ibms.core.models import TodoItem
from ibms.core.policy import PolicyError
from ibms.monitoring.models import Rule
from ibms.treasury import services as s
from tests.monitoring.builders import raise_alert
from tests.treasury.builders import create, indicator

pytestmark = pytest.mark.django_db
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_every_kind_has_a_chinese_name():
    kinds = workflow.todo_kinds()
    assert {"treasury.payment", "monitoring.alert", "treasury.contract", "project"} <= set(kinds)
    assert all(CJK.search(name) for name in kinds.values())


def test_an_unlisted_kind_is_refused(user):
    before = TodoItem.objects.count()
    with pytest.raises(PolicyError, match="not listed"):
        workflow.todo_open(doc_type="nobody.knows", obj=user("school_clerk"), title="x", url="/",
                           step=workflow.Step(1, "办理", "unit_clerk", "unit"), region_code="990000000")
    assert TodoItem.objects.count() == before


def test_home_counts_by_kind_and_filters(user, client_as):
    clerk, reviewer = user("school_clerk"), user("school_reviewer")
    req = create(clerk, indicator(user("fin_budget"), 100_000), 10_000)
    s.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key="home-1")
    s.payment_request_review(actor=reviewer, pk=req.pk, approve=False, comment="用途不清")
    raise_alert(clerk, Rule.objects.get(region_code="", code="MON-05"))
    alerts = workflow.todo_for_user(clerk).filter(doc_type="monitoring.alert").count()
    own = workflow.todo_for_user(clerk).filter(doc_type="monitoring.alert", title__contains=req.number).first()
    assert f"<td>支付申请 {req.number}，" in client_as("school_clerk").get(own.url).content.decode()  # kind by name
    assert alerts >= 2  # the request's own hit (公务卡) and the one raised here
    page = client_as("school_clerk").get("/").content.decode()
    counts = dict(re.findall(r'<div class="muted">([^<]+)</div><div class="big"><a href="\?kind=[^"]+">(\d+)</a>',
                             page))
    assert counts == {"支付申请": "1", "预警疑点": str(alerts)}
    assert f'id="todo-count"><a href="/">{alerts + 1}</a>' in page
    assert "treasury.payment" not in page.replace("?kind=treasury.payment", "")  # the kind is shown by its name
    only = client_as("school_clerk").get("/?kind=treasury.payment").content.decode()
    assert f"支付申请被退回：{req.number}" in only and "疑点待单位说明" not in only and "仅显示“支付申请”" in only
    s.payment_request_submit(actor=clerk, pk=req.pk, idempotency_key="home-2")  # done: off the list
    assert '<div class="muted">支付申请</div>' not in client_as("school_clerk").get("/").content.decode()
