"""The payee blacklist workflow: draft → submitted (to-do for the treasury division) → active / rejected, with
segregation of duties, and the look-up other modules use to stop payments to listed payees."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import transaction

from ibms.core import audit, clock, verify
from ibms.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ibms.core.models import BusinessEvent, TodoItem
from ibms.core.resources import get_resource
from ibms.core.services import resource_create
from ibms.iam.models import Role, User
from ibms.masterdata import models as m
from ibms.masterdata.selectors import blacklist_hits
from ibms.masterdata.services import BLACKLIST_DOC, blacklist_review, blacklist_revoke, blacklist_submit
from tests.constants import CITY, COUNTY, OTHER_COUNTY, PROVINCE

YEAR = clock.fiscal_year()
TODAY = dt.date(YEAR, 6, 1)
pytestmark = pytest.mark.django_db
ENTRY = {"name": "某某皮包公司", "account_no": "6222990000123456", "id_code": "", "reason": "套取财政资金",
         "legal_basis": "审计决定书（演示）", "valid_from": f"{YEAR}-01-01"}


@pytest.fixture
def approver(user):
    """A second treasury-division officer in the same organisation: the one who may approve."""
    submitter = user("fin_treasury")
    with transaction.atomic():
        u = User(username="fin_treasury2", real_name="国库处 钱科长", organization=submitter.organization)
        u.set_password("Another#Pass2026")
        u.save()
        u.groups.set([Role.objects.get(code="treasury_division").group])
        audit.record_change(u, "create")
    return user("fin_treasury2")


def create_entry(actor, **overrides) -> m.BlacklistEntry:
    return resource_create(actor=actor, resource=get_resource("blacklist"), data={**ENTRY, **overrides})


def open_todos(entry) -> list[TodoItem]:
    return list(TodoItem.objects.filter(doc_type=BLACKLIST_DOC, object_id=str(entry.pk), status="open"))


class TestWorkflow:
    def test_submit_todo_approve(self, client_as, user, approver):
        submitter = client_as("fin_treasury")
        r = submitter.post("/api/v1/masterdata/blacklist/", data=json.dumps(ENTRY), content_type="application/json")
        assert r.status_code == 201, r.content
        entry = m.BlacklistEntry.objects.get(pk=r.json()["id"])
        assert entry.status == "draft" and entry.number.startswith(f"HMD990000000-{YEAR}-")
        assert entry.number != m.BlacklistEntry.objects.exclude(pk=entry.pk).get(region_code=PROVINCE).number

        r = submitter.post(f"/masterdata/blacklist/{entry.pk}/submit/")
        assert r.status_code == 302
        entry.refresh_from_db()
        assert entry.status == "submitted" and entry.submitted_by == user("fin_treasury")
        [todo] = open_todos(entry)
        assert (todo.role_code, todo.region_code, todo.unit_path) == ("treasury_division", PROVINCE, "")

        checker = client_as("fin_treasury2")
        home = checker.get("/").content.decode()
        assert f"收款人黑名单审核：{ENTRY['name']}" in home and f"/r/blacklist/{entry.pk}/" in home
        assert ENTRY["name"] not in client_as("fin_budget").get("/").content.decode()  # not their role
        assert ENTRY["name"] not in client_as("county_treasury").get("/").content.decode()  # not their region

        r = checker.post(f"/masterdata/blacklist/{entry.pk}/review/", {"decision": "approve", "comment": "同意"})
        assert r.status_code == 302, r.content.decode()
        entry.refresh_from_db()
        assert entry.status == "active" and entry.review_comment == "同意"
        todo.refresh_from_db()
        assert todo.status == "done" and todo.done_by == approver and todo.done_at is not None
        assert ENTRY["name"] not in checker.get("/").content.decode()

        codes = list(BusinessEvent.objects.filter(object_type="masterdata.blacklistentry", object_id=str(entry.pk))
                     .order_by("id").values_list("code", "actor_name"))
        assert codes == [("masterdata.blacklist_submitted", "fin_treasury"),
                         ("masterdata.blacklist_approved", "fin_treasury2")]
        assert blacklist_hits(region_code=PROVINCE, account_no=ENTRY["account_no"], on=TODAY) == [entry]
        assert all(not p for p in verify.run_all().values())

    def test_submitter_cannot_approve_own_entry(self, client_as, user, approver):
        entry = create_entry(user("fin_treasury"))
        blacklist_submit(actor=user("fin_treasury"), pk=entry.pk)
        with pytest.raises(PermissionDenied) as exc:
            blacklist_review(actor=user("fin_treasury"), pk=entry.pk, approve=True)
        assert exc.value.code == "segregation_of_duties" and "提交人不能审批" in exc.value.message
        r = client_as("fin_treasury").post(f"/masterdata/blacklist/{entry.pk}/review/", {"decision": "approve"})
        assert r.status_code == 403 and "提交人不能审批" in r.content.decode()
        entry.refresh_from_db()
        assert entry.status == "submitted" and len(open_todos(entry)) == 1

    def test_reject_needs_a_reason(self, client_as, user, approver):
        entry = create_entry(user("fin_treasury"))
        blacklist_submit(actor=user("fin_treasury"), pk=entry.pk)
        with pytest.raises(ValidationFailed) as exc:
            blacklist_review(actor=approver, pk=entry.pk, approve=False, comment="   ")
        assert exc.value.violations[0].code == "reason_required"
        r = client_as("fin_treasury2").post(f"/masterdata/blacklist/{entry.pk}/review/", {"decision": "reject"})
        assert r.status_code == 422 and "退回必须填写原因" in r.content.decode()
        entry.refresh_from_db()
        assert entry.status == "submitted" and len(open_todos(entry)) == 1

        blacklist_review(actor=approver, pk=entry.pk, approve=False, comment="证据不足")
        entry.refresh_from_db()
        assert entry.status == "rejected" and entry.review_comment == "证据不足" and open_todos(entry) == []
        assert blacklist_hits(region_code=PROVINCE, account_no=ENTRY["account_no"], on=TODAY) == []
        # a rejected entry may be corrected and resubmitted
        r = client_as("fin_treasury").put(f"/api/v1/masterdata/blacklist/{entry.pk}", data=json.dumps(
            {**ENTRY, "reason": "补充证据后重新提交"}), content_type="application/json")
        assert r.status_code == 200, r.content
        blacklist_submit(actor=user("fin_treasury"), pk=entry.pk)
        assert len(open_todos(entry)) == 1

    @pytest.mark.parametrize("username,status", [("fin_budget", 403), ("fin_sector", 403),
                                                 ("county_treasury", 404), ("school_clerk", 404)])
    def test_wrong_role_or_place_cannot_review(self, client_as, user, approver, username, status):
        entry = create_entry(user("fin_treasury"))
        blacklist_submit(actor=user("fin_treasury"), pk=entry.pk)
        err = PermissionDenied if status == 403 else Exception
        with pytest.raises(err) as exc:
            blacklist_review(actor=user(username), pk=entry.pk, approve=True)
        assert exc.value.http_status == status
        if status == 403:
            assert exc.value.code == "workflow_role"
        r = client_as(username).post(f"/masterdata/blacklist/{entry.pk}/review/", {"decision": "approve"})
        # the page's write gate refuses a role without masterdata.change_blacklistentry before any lookup
        assert r.status_code == (status if user(username).has_perm("masterdata.change_blacklistentry") else 403)
        entry.refresh_from_db()
        assert entry.status == "submitted"

    def test_only_submitted_entries_are_reviewed_and_active_ones_are_frozen(self, client_as, user, approver):
        entry = create_entry(user("fin_treasury"))
        with pytest.raises(ValidationFailed):
            blacklist_review(actor=approver, pk=entry.pk, approve=True)
        blacklist_submit(actor=user("fin_treasury"), pk=entry.pk)
        with pytest.raises(Conflict):
            blacklist_submit(actor=user("fin_treasury"), pk=entry.pk)
        blacklist_review(actor=approver, pk=entry.pk, approve=True)
        r = client_as("fin_treasury").put(f"/api/v1/masterdata/blacklist/{entry.pk}", data=json.dumps(
            {**ENTRY, "name": "改名"}), content_type="application/json")
        assert r.status_code == 422 and r.json()["detail"][0]["code"] == "not_editable"
        with pytest.raises(PermissionDenied):
            blacklist_revoke(actor=user("fin_budget"), pk=entry.pk, reason="x")
        blacklist_revoke(actor=approver, pk=entry.pk, reason="已整改")
        entry.refresh_from_db()
        assert entry.status == "revoked"
        assert blacklist_hits(region_code=PROVINCE, account_no=ENTRY["account_no"], on=TODAY) == []

    def test_submit_needs_change_scope(self, user):
        entry = create_entry(user("fin_treasury"))
        with pytest.raises(NotFound) as exc:
            blacklist_submit(actor=user("county_treasury"), pk=entry.pk)
        assert exc.value.code == "not_found" and exc.value.http_status == 404


class TestHits:
    def test_province_entry_is_found_from_a_county(self):
        prov = m.BlacklistEntry.objects.get(region_code=PROVINCE, status="active")
        hits = blacklist_hits(region_code=COUNTY, account_no=prov.account_no, on=TODAY)
        assert hits == [prov]
        assert blacklist_hits(region_code=CITY, account_no=prov.account_no, on=TODAY) == [prov]
        assert blacklist_hits(region_code=COUNTY, account_no="0000000000", on=TODAY) == []
        assert blacklist_hits(region_code=COUNTY, on=TODAY) == []  # no key, no hit

    def test_validity_window(self):
        prov = m.BlacklistEntry.objects.get(region_code=PROVINCE, status="active")
        assert blacklist_hits(region_code=COUNTY, account_no=prov.account_no, on=dt.date(YEAR - 1, 12, 31)) == []
        m.BlacklistEntry.objects.filter(pk=prov.pk).update(valid_to=dt.date(YEAR, 3, 31))
        assert blacklist_hits(region_code=COUNTY, account_no=prov.account_no, on=dt.date(YEAR, 3, 31)) == [prov]
        assert blacklist_hits(region_code=COUNTY, account_no=prov.account_no, on=dt.date(YEAR, 4, 1)) == []

    def test_lower_and_sibling_entries_do_not_apply_upwards(self, user):
        county_entry = create_entry(user("county_treasury"), account_no="6222990102000001", id_code="")
        m.BlacklistEntry.objects.filter(pk=county_entry.pk).update(status="active")
        assert blacklist_hits(region_code=COUNTY, account_no="6222990102000001", on=TODAY) == [
            m.BlacklistEntry.objects.get(pk=county_entry.pk)]
        assert blacklist_hits(region_code=PROVINCE, account_no="6222990102000001", on=TODAY) == []
        assert blacklist_hits(region_code=OTHER_COUNTY, account_no="6222990102000001", on=TODAY) == []

    def test_match_by_id_code(self, user, approver):
        from ibms.core.codes import uscc_check_char

        body = "91990000MA0000001"
        code = body + uscc_check_char(body)
        entry = create_entry(user("fin_treasury"), account_no="", id_code=code)
        blacklist_submit(actor=user("fin_treasury"), pk=entry.pk)
        blacklist_review(actor=approver, pk=entry.pk, approve=True)
        assert [e.pk for e in blacklist_hits(region_code=COUNTY, id_code=code, on=TODAY)] == [entry.pk]

    def test_an_entry_needs_an_account_or_an_id(self, user):
        with pytest.raises(ValidationFailed) as exc:
            create_entry(user("fin_treasury"), account_no="", id_code="")
        assert "至少填写一项" in exc.value.message
