"""The audit log page and API: filtered by who, what, object type and id, date range and outcome, paged, exported
to Excel; refusals on their own tab, so a flood of them never pushes business entries out of view; the audit
administrator's alone, and the system and security administrators' acts are in it."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from ibms.core import audit
from ibms.core.context import acting, actor_of
from ibms.core.models import BusinessEvent
from tests.constants import PROVINCE

pytestmark = pytest.mark.django_db

BUSINESS = "业务变更：预算调整"


@pytest.fixture
def entries(user):
    """One business event by fin_budget, then 120 refusals of the sysadmin's (a probe of the pages)."""
    with acting(actor_of(user("fin_budget"), "192.0.2.1"), "req-business"):
        biz = audit.record_event("indicators.adjusted", region_code=PROVINCE, obj=user("fin_budget"),
                                 message=BUSINESS)
    with acting(actor_of(user("sysadmin"), "192.0.2.2"), "req-probe"):
        for i in range(120):
            audit.record_event("security.denied", region_code=PROVINCE, message="permission_denied",
                               payload={"path": f"/probe/{i}/", "method": "GET"})
    return biz


def rows_of(html: str, table: str = "events") -> list[str]:
    """The body rows of the page's table (without the empty-table row)."""
    body = html.split(f'id="{table}"', 1)[1].split("<tbody", 1)[1].split("</tbody>", 1)[0]
    return [r for r in re.findall(r"<tr.*?</tr>", body, re.S) if "无记录" not in r]


def sheet(resp) -> list[tuple]:
    assert resp.status_code == 200
    assert resp["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return list(load_workbook(io.BytesIO(resp.content), read_only=True).active.iter_rows(values_only=True))


def test_denials_do_not_push_business_entries_out_of_view(client_as, entries):
    c = client_as("auditadmin")
    html = c.get("/audit/").content.decode()
    events = rows_of(html)
    assert events and any(BUSINESS in r for r in events) and not any("/probe/" in r for r in events)
    assert 'class="active" aria-current="page">业务与管理</a>' in html
    denied = c.get("/audit/", {"category": "denied"}).content.decode()
    rows = rows_of(denied)
    assert len(rows) == 50 and all("越权访问被拒绝" in r and re.search(r"<td[^>]*>拒绝</td>", r) for r in rows)
    assert not any(BUSINESS in r for r in rows)
    assert "没有执行该操作的权限：GET /probe/119/" in rows[0]  # newest first, the refusal described in Chinese
    page3 = c.get("/audit/", {"category": "denied", "actor": "sysadmin", "page": 3}).content.decode()
    assert len(rows_of(page3)) == 20 and "共 120 条" in page3 and "/probe/0/" in page3
    assert "/probe/119/" not in page3
    everything = c.get("/audit/", {"category": "all"}).content.decode()
    assert "/probe/119/" in everything and BUSINESS not in everything  # all events: the business one on page 3
    assert BUSINESS in c.get("/audit/", {"category": "all", "page": 3}).content.decode()


def test_the_page_is_in_chinese_and_without_inline_script(client_as, entries):
    html = client_as("auditadmin").get("/audit/", {"category": "all"}).content.decode()
    for label in ("时间", "事件", "结果", "操作人", "对象类型", "说明", "拒绝", "允许", "调整指标", "越权访问被拒绝",
                  "下一页"):
        assert label in html, label
    for english in (">allowed<", ">denied<", ">permission_denied<", "Next", "Previous"):
        assert english not in html, english
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)  # no inline script (CSP)
    assert not re.search(r"<[a-z]+\s[^>]*\bon[a-z]+\s*=", html)  # no inline event handler


def test_filters_by_who_what_object_and_date(client_as, user, entries):
    c = client_as("auditadmin")
    fin = user("fin_budget")

    def shown(**params) -> bool:
        return any(BUSINESS in r for r in rows_of(c.get("/audit/", params).content.decode()))

    assert shown(actor="fin_budget", code="indicators.") and shown(code="indicators.adjusted")
    assert shown(code="调整指标")  # the event's Chinese name finds it too
    assert not shown(actor="sysadmin") and not shown(code="treasury.") and not shown(code="授予角色")
    assert shown(object_type="IAM.User", object_id=str(fin.pk)) and not shown(object_id="0")
    today = timezone.localdate()
    assert shown(date_from=today, date_to=today)
    assert not shown(date_from=today + dt.timedelta(days=1))
    assert not shown(date_to=today - dt.timedelta(days=1))
    resp = c.get("/audit/", {"date_from": today + dt.timedelta(days=1), "date_to": today})
    assert resp.status_code == 200 and "截止日期：截止日期不能早于起始日期" in resp.content.decode()
    resp = c.get("/audit/", {"date_from": "not-a-date", "category": "nonsense", "page": "x"})
    assert resp.status_code == 200 and "起始日期：" in resp.content.decode()
    assert any(BUSINESS in r for r in rows_of(resp.content.decode()))  # an unknown category: the business one
    assert not any("/probe/" in r for r in rows_of(resp.content.decode()))
    assert shown(outcome="allowed") and not shown(outcome="denied", category="all")
    system = rows_of(c.get("/audit/", {"actor": "系统"}).content.decode())  # the CLI's and the demo build's acts
    assert system and all(re.search(r"<td[^>]*>系统</td>", r) for r in system) and not shown(actor="系统")


def test_the_admins_acts_are_in_the_audit_admins_log(client_as, user):
    from ibms.iam.services import role_grant, user_create

    with acting(actor_of(user("sysadmin"), "192.0.2.10")):
        u, _ = user_create(actor=user("sysadmin"), username="audited_one", real_name="审计 对象",
                           organization=user("fin_budget").organization)
    with acting(actor_of(user("secadmin"), "192.0.2.11")):
        role_grant(actor=user("secadmin"), user_id=u.pk, role="budget_division")
    c = client_as("auditadmin")
    rows = rows_of(c.get("/audit/", {"object_type": "iam.user", "object_id": str(u.pk)}).content.decode())
    assert len(rows) == 2 and "授予角色" in rows[0] and "secadmin" in rows[0]
    assert "新建用户账号" in rows[1] and "sysadmin" in rows[1]
    body = c.get("/api/v1/audit/events", {"object_type": "iam.user", "object_id": str(u.pk)}).json()
    assert [(e["code"], e["name"], e["actor_name"]) for e in body["items"]] == [
        ("iam.role_granted", "授予角色", "secadmin"), ("iam.user_created", "新建用户账号", "sysadmin")]
    assert [e["actor_ip"] for e in body["items"]] == ["192.0.2.11", "192.0.2.10"]

    html = c.get("/audit/changes/", {"object_type": "iam.user", "object_id": str(u.pk),
                                     "action": "create"}).content.decode()
    rows = rows_of(html, "changes")
    assert len(rows) == 1 and "审计 对象" in rows[0] and "新增" in rows[0] and "sysadmin" in rows[0]
    assert not rows_of(c.get("/audit/changes/", {"object_id": str(u.pk), "action": "delete"}).content.decode(),
                       "changes")
    body = c.get("/api/v1/audit/changes", {"object_type": "iam.user", "object_id": str(u.pk)}).json()
    assert body["count"] >= 1 and body["items"][-1]["actor_name"] == "sysadmin"
    created = body["items"][-1]
    assert created["action"] == "create" and "username" in created["fields"]
    assert created["after"]["password"] == "***"  # hashes never leave the chain


def test_api_filters_by_outcome_and_pages(client_as, entries):
    c = client_as("auditadmin")
    body = c.get("/api/v1/audit/events", {"outcome": "denied", "actor": "sysadmin", "limit": 50}).json()
    assert body["count"] == 120 and len(body["items"]) == 50
    assert body["items"][0]["payload"]["path"] == "/probe/119/"
    last = c.get("/api/v1/audit/events", {"outcome": "denied", "actor": "sysadmin", "limit": 50,
                                          "offset": 100}).json()
    assert last["count"] == 120 and [e["payload"]["path"] for e in last["items"]] == [
        f"/probe/{i}/" for i in range(19, -1, -1)]
    assert {e["outcome"] for e in last["items"]} == {"denied"} and {e["name"] for e in last["items"]} == {
        "越权访问被拒绝"}
    body = c.get("/api/v1/audit/events", {"outcome": "allowed", "code": "indicators.", "object_type": "iam.user",
                                          "object_id": str(entries.object_id)}).json()
    assert [e["message"] for e in body["items"]] == [BUSINESS]
    assert body["items"][0]["request_id"] == "req-business" and body["items"][0]["actor_ip"] == "192.0.2.1"
    body = c.get("/api/v1/audit/events", {"category": "business", "limit": 500}).json()
    assert body["items"] and all(e["outcome"] == "allowed" and e["code"] != "iam.login_succeeded"
                                 for e in body["items"])
    assert c.get("/api/v1/audit/events", {"category": "denied", "actor": "fin_budget"}).json()["count"] == 0
    for bad in ({"outcome": "maybe"}, {"date_from": "2026-13-40"}, {"offset": -1}, {"limit": 0},
                {"object_id": "x" * 65}):
        resp = c.get("/api/v1/audit/events", bad)
        assert resp.status_code == 422 and resp.json()["code"] == "invalid_request", bad
    resp = c.get("/api/v1/audit/events", {"date_from": "2026-05-02", "date_to": "2026-05-01"})
    assert resp.status_code == 422 and resp.json()["code"] == "validation_failed"
    assert "截止日期不能早于起始日期" in resp.json()["message"]
    assert c.get("/api/v1/audit/events", {"object_id": "a\x00b"}).status_code == 422


def test_export_to_excel_has_exactly_the_filtered_entries(client_as, entries):
    c = client_as("auditadmin")
    rows = sheet(c.get("/audit/", {"category": "denied", "actor": "sysadmin", "export": "xlsx", "page": 2}))
    assert rows[0][:4] == ("时间", "事件", "事件代码", "结果")
    assert len(rows) == 1 + 120 and {r[1:5] for r in rows[1:]} == {("越权访问被拒绝", "security.denied", "拒绝",
                                                                     "sysadmin")}
    assert rows[1][10] == "没有执行该操作的权限：GET /probe/119/" and rows[-1][10].endswith("/probe/0/")
    rows = sheet(c.get("/audit/", {"code": "indicators.", "object_type": "iam.user", "object_id": entries.object_id,
                                   "export": "xlsx"}))
    assert [(r[1], r[3], r[10]) for r in rows[1:]] == [("调整指标", "允许", BUSINESS)]
    rows = sheet(c.get("/audit/changes/", {"actor": "nobody", "export": "xlsx"}))
    assert rows[0][:4] == ("时间", "操作人", "IP", "动作") and len(rows) == 1


def test_an_export_too_large_is_refused_in_chinese(client_as, entries, monkeypatch):
    monkeypatch.setattr("ibms.core.audit_views.EXPORT_MAX_ROWS", 100)
    resp = client_as("auditadmin").get("/audit/", {"category": "denied", "export": "xlsx"})
    assert resp.status_code == 422 and "超过上限 100 条，请缩小日期范围" in resp.content.decode()
    rows = sheet(client_as("auditadmin").get("/audit/", {"code": "indicators.adjusted", "export": "xlsx"}))
    assert len(rows) == 2 and rows[1][10] == BUSINESS  # a narrower export is not refused


def test_export_writes_a_leading_formula_character_as_text(client_as, user):
    with acting(actor_of(user("fin_budget"))):
        audit.record_event("indicators.adjusted", region_code=PROVINCE, message="=HYPERLINK(\"http://x\",\"y\")")
    rows = sheet(client_as("auditadmin").get("/audit/", {"code": "indicators.adjusted", "export": "xlsx"}))
    assert rows[1][10] == "=HYPERLINK(\"http://x\",\"y\")"  # a string cell, not a formula
    wb = load_workbook(io.BytesIO(client_as("auditadmin").get(
        "/audit/", {"code": "indicators.adjusted", "export": "xlsx"}).content))
    assert wb.active.cell(2, 11).data_type == "s"


@pytest.mark.parametrize("name", ["school_clerk", "sysadmin", "secadmin", "fin_budget", "auditor"])
def test_the_audit_log_is_the_audit_admins_alone(client_as, name):
    c = client_as(name)
    for path, params in (("/audit/", {}), ("/audit/", {"export": "xlsx"}), ("/audit/changes/", {}),
                         ("/audit/changes/", {"export": "xlsx"})):
        resp = c.get(path, params)
        assert resp.status_code == 403 and "没有执行该操作的权限" in resp.content.decode(), (path, params)
    for path in ("/api/v1/audit/events", "/api/v1/audit/changes"):
        resp = c.get(path)
        assert resp.status_code == 403 and resp.json()["code"] == "permission_denied", path
    refusals = BusinessEvent.objects.filter(code="security.denied", actor_name=name)
    assert refusals.count() == 6 and {e.payload["path"] for e in refusals} == {
        "/audit/", "/audit/changes/", "/api/v1/audit/events", "/api/v1/audit/changes"}
    # ... and the audit administrator sees the attempts, on the refusals tab
    html = client_as("auditadmin").get("/audit/", {"category": "denied", "actor": name}).content.decode()
    assert len(rows_of(html)) == 6 and "GET /api/v1/audit/events" in html
