"""Audit: every change through the application is logged with who, which request, before and after; any
edit behind the application's back — of a business row or of the audit itself — makes `ibms verify` fail
and name the table and the row."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from ibms.core import audit, verify
from ibms.core.models import AuditChain, BusinessEvent, ChangeLog
from ibms.masterdata import models as m
from tests.constants import PROVINCE


def unit(code: str, region: str = PROVINCE) -> m.Unit:
    return m.Unit.objects.get(region_code=region, code=code)


def last_log(obj) -> ChangeLog:
    return ChangeLog.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk)).order_by("-id").first()


def problems() -> list[str]:
    return [p for ps in verify.run_all().values() for p in ps]


def verify_command_output() -> str:
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("verify", stdout=out)
    return out.getvalue()


def an_event(region_code: str = PROVINCE) -> BusinessEvent:
    from django.db import transaction

    with transaction.atomic():
        for i in range(3):
            audit.record_event("test.happened", region_code=region_code, message=f"第{i}件事", payload={"i": i})
    return BusinessEvent.objects.filter(code="test.happened").order_by("id").first()


def busiest_chain(prefix: str = "change:" + PROVINCE) -> str:
    """The province's change chain with the most rows (on PostgreSQL a region has several shards)."""
    from django.db.models import Count

    return (ChangeLog.objects.filter(chain__startswith=prefix).values("chain").annotate(n=Count("id"))
            .order_by("-n").first()["chain"])


def raw(sql: str, params: list) -> None:
    with connection.cursor() as cur:
        cur.execute(sql, params)


def test_base_data_verifies_clean(db):
    assert problems() == []
    out = io.StringIO()
    call_command("verify", stdout=out)
    assert "ok   audit.chains" in out.getvalue() and "ok   audit.rows" in out.getvalue()


class TestChangeThroughTheApplication:
    def test_api_put_is_logged_with_actor_request_and_before_after(self, client_as, user):
        u = unit("004")
        old_name = u.name
        r = client_as("fin_budget").put(
            f"/api/v1/masterdata/units/{u.pk}", data=json.dumps(
                {"code": "004", "name": "省农业农村厅（新）", "unit_type": "organ", "support_level": "full"}),
            content_type="application/json", HTTP_X_REQUEST_ID="req-audit-0001")
        assert r.status_code == 200, r.content
        assert r["X-Request-ID"] == "req-audit-0001"
        log = last_log(u)
        assert log.action == "update"
        assert log.actor_name == "fin_budget" and log.actor_id == user("fin_budget").pk
        assert log.request_id == "req-audit-0001"
        assert log.region_code == PROVINCE
        assert log.before["name"] == old_name and log.after["name"] == "省农业农村厅（新）"
        assert log.row_hash == audit.row_hash(audit.snapshot(unit("004")))
        assert problems() == []

    def test_page_post_is_logged(self, client_as, user):
        p = m.Person.objects.filter(unit=unit("001001")).order_by("id").first()
        r = client_as("school_clerk").post(f"/r/people/{p.pk}/edit/", {
            "unit": "001001", "name": "页面改名", "id_number": p.id_number, "status": "in_service",
            "staffing": "institution", "basic_salary": "6,000.50", "allowance": "0", "bonus": "0",
            "performance_pay": "0", "is_active": "on"}, HTTP_X_REQUEST_ID="req-page-42")
        assert r.status_code == 302, r.content.decode()[:2000]
        log = last_log(p)
        assert (log.action, log.actor_name, log.actor_id, log.request_id) == (
            "update", "school_clerk", user("school_clerk").pk, "req-page-42")
        assert log.before["basic_salary"] == p.basic_salary and log.after["basic_salary"] == 600050
        assert log.after["name"] == "页面改名"
        detail = client_as("school_clerk").get(f"/r/people/{p.pk}/").content.decode()
        assert "school_clerk" in detail  # the change history shows on the detail page
        assert problems() == []

    def test_create_through_api_is_logged(self, client_as):
        r = client_as("fin_budget").post("/api/v1/masterdata/holidays/", data=json.dumps(
            {"date": "2026-12-31", "name": "演示假日"}), content_type="application/json")
        assert r.status_code == 201, r.content
        h = m.Holiday.objects.get(pk=r.json()["id"])
        log = last_log(h)
        assert log.action == "create" and log.before is None and log.after["name"] == "演示假日"
        assert log.region_code == PROVINCE
        assert problems() == []

    def test_api_token_writes_name_the_token_user(self, client, user):
        """A token is authenticated inside the API view, after the request context is set: the audit must still
        name the token's user, not 'anonymous'."""
        from ibms.iam.models import ApiToken
        from ibms.iam.tokens import digest, issue_token_value

        prefix, raw_token = issue_token_value()
        ApiToken.objects.create(user=user("fin_budget"), name="集成测试", prefix=prefix, digest=digest(raw_token))
        u = unit("004")
        r = client.put(f"/api/v1/masterdata/units/{u.pk}", data=json.dumps(
            {"code": "004", "name": "令牌修改", "unit_type": "organ", "support_level": "full"}),
            content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw_token}")
        assert r.status_code == 200, r.content
        log = last_log(u)
        assert log.actor_name == "fin_budget" and log.actor_id == user("fin_budget").pk


class TestTamperingIsNamed:
    def test_raw_sql_on_a_business_row(self, db):
        u = unit("001001")
        raw("UPDATE masterdata_unit SET name = %s WHERE id = %s", ["被篡改的单位", u.pk])
        found = problems()
        assert any(f"masterdata_unit id={u.pk}:" in p and "changed outside" in p for p in found), found
        out = verify_command_output()
        assert f"masterdata_unit id={u.pk}" in out and "FAIL audit.rows" in out

    def test_raw_sql_on_a_money_column(self, db):
        p = m.Person.objects.order_by("id").first()
        raw("UPDATE masterdata_person SET basic_salary = basic_salary + 1 WHERE id = %s", [p.pk])
        assert any(f"masterdata_person id={p.pk}:" in x for x in problems())

    def test_row_inserted_behind_the_back(self, db):
        m.Holiday.objects.create(region_code=PROVINCE, date="2026-06-01", name="无审计")
        h = m.Holiday.objects.get(name="无审计")
        assert any(f"masterdata_holiday id={h.pk}:" in p and "no audit" in p for p in problems())

    def test_row_deleted_behind_the_back(self, db):
        h = m.Holiday.objects.order_by("id").first()
        raw("DELETE FROM masterdata_holiday WHERE id = %s", [h.pk])
        assert any(f"masterdata_holiday id={h.pk}:" in p and "deleted" in p for p in problems())

    def test_raw_sql_on_a_changelog_row(self, db):
        log = ChangeLog.objects.order_by("id")[5]
        raw("UPDATE core_changelog SET actor_name = %s WHERE id = %s", ["someone_else", log.pk])
        found = problems()
        assert any(f"core_changelog id={log.pk}" in p and "tampered" in p for p in found), found
        assert f"core_changelog id={log.pk}" in verify_command_output()

    def test_raw_sql_on_a_changelog_after_state(self, db):
        u = unit("001")
        log = last_log(u)
        after = dict(log.after, name="伪造")
        raw("UPDATE core_changelog SET after = %s WHERE id = %s", [json.dumps(after, ensure_ascii=False), log.pk])
        assert any(f"core_changelog id={log.pk}" in p for p in problems())

    def test_raw_sql_on_a_business_event_row(self, db):
        ev = an_event()
        assert problems() == []
        raw("UPDATE core_businessevent SET message = %s WHERE id = %s", ["改过的说明", ev.pk])
        found = problems()
        assert any(f"core_businessevent id={ev.pk}" in p and "tampered" in p for p in found), found
        assert f"core_businessevent id={ev.pk}" in verify_command_output()

    def test_deleting_an_audit_row_in_the_middle(self, db):
        logs = list(ChangeLog.objects.filter(chain=busiest_chain()).order_by("seq")[10:12])
        gone, following = logs
        raw("DELETE FROM core_changelog WHERE id = %s", [gone.pk])
        found = problems()
        assert any("core_changelog" in p and f"id={gone.pk}" in p for p in found), found
        assert any(f"core_changelog id={following.pk}" in p for p in found), found
        assert f"id={gone.pk}" in verify_command_output()

    def test_deleting_the_last_audit_row_of_a_chain(self, db):
        last, before_last = ChangeLog.objects.filter(chain=busiest_chain()).order_by("-seq")[:2]
        raw("DELETE FROM core_changelog WHERE id = %s", [last.pk])
        found = problems()
        # the deleted tail is named by the table, the chain, its seq and the id it followed
        assert any(p.startswith("audit rows deleted: core_changelog") and f"after id={before_last.pk}" in p
                   and f"seq {last.seq} missing" in p for p in found), found
        assert "audit rows deleted: core_changelog" in verify_command_output()

    def test_deleting_an_event_row(self, db):
        fresh = "990300000"  # a chain nothing else writes to, so the test's events are its head
        first = an_event(fresh)
        second = BusinessEvent.objects.filter(code="test.happened").order_by("id")[1]
        raw("DELETE FROM core_businessevent WHERE id = %s", [second.pk])
        found = problems()
        assert any(p.startswith("audit rows deleted: core_businessevent") and f"id={second.pk}" in p
                   for p in found), found
        raw("DELETE FROM core_businessevent WHERE id = %s", [first.pk])
        found = problems()
        # the head of a chain: named by table, chain and seq, and the id it stood before
        assert any(p.startswith("audit rows deleted: core_businessevent") and "seq 1-2 missing" in p
                   and f"event:{fresh}" in p for p in found), found

    def test_rewinding_the_chain_head(self, db):
        raw("UPDATE core_auditchain SET last_seq = last_seq + 1 WHERE key = %s", ["change:" + PROVINCE])
        assert any("change:" + PROVINCE in p for p in problems())


class TestAppendOnly:
    def test_queryset_update_and_delete_raise(self, db):
        with pytest.raises(TypeError):
            ChangeLog.objects.update(actor_name="x")
        with pytest.raises(TypeError):
            ChangeLog.objects.filter(pk=ChangeLog.objects.first().pk).delete()
        with pytest.raises(TypeError):
            BusinessEvent.objects.all().update(message="x")
        with pytest.raises(TypeError):
            BusinessEvent.objects.all().delete()

    def test_instance_save_and_delete_raise(self, db):
        log = ChangeLog.objects.first()
        log.actor_name = "x"
        with pytest.raises(TypeError):
            log.save()
        with pytest.raises(TypeError):
            log.delete()
        assert problems() == []
        from django.db import transaction

        with pytest.raises(TypeError), transaction.atomic():
            ChangeLog.objects.bulk_update([log], ["actor_name"])

    def test_audit_outside_a_transaction_is_refused(self, db):
        from django.db import transaction

        u = unit("001")
        conn = transaction.get_connection()
        in_block = conn.in_atomic_block
        assert in_block  # the test transaction; record_changes checks the flag rather than autocommit
        conn.in_atomic_block = False
        try:
            with pytest.raises(RuntimeError):
                audit.record_change(u, "update")
        finally:
            conn.in_atomic_block = in_block

    def test_chains_are_per_region(self, db):
        keys = set(AuditChain.objects.values_list("key", flat=True))
        assert {"change:" + PROVINCE, "change:990102000", "change:"} <= keys
        an_event()
        assert "event:" + PROVINCE in set(AuditChain.objects.values_list("key", flat=True))
        # one transaction's events stay on one shard of their region's chain
        chains = set(BusinessEvent.objects.filter(code="test.happened").values_list("chain", flat=True))
        assert len(chains) == 1 and chains.pop() in audit.shard_keys("event:" + PROVINCE, 16)
        assert list(BusinessEvent.objects.filter(code="test.happened").order_by("seq").values_list(
            "payload", flat=True)) == [{"i": 0}, {"i": 1}, {"i": 2}]


def test_audit_page_shows_only_events_in_the_audit_admins_regions(client_as):
    from ibms.core import audit as core_audit

    core_audit.record_event("test.inside", region_code="990102000", message="county event inside the province")
    core_audit.record_event("test.outside", region_code="980000000", message="another province's event")
    html = client_as("auditadmin").get("/audit/?code=test.").content.decode()
    assert "county event inside the province" in html
    assert "another province&#x27;s event" not in html and "another province's event" not in html
