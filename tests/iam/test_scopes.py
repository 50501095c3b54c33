"""compute_scope per organisation kind, ScopeGrant, and what restrict() then lets through."""

from __future__ import annotations

import pytest

from ibms.iam.models import ScopeGrant, User
from ibms.iam.scopes import compute_scope
from ibms.masterdata.models import Region, Unit

pytestmark = pytest.mark.django_db

PROVINCE = {"990000000", "990100000", "990102000", "990121000", "990200000", "990202000", "990222000"}
DONGCHUAN = {"990100000", "990102000", "990121000"}
XILING = {"990200000", "990202000", "990222000"}


def test_finance_views_its_region_subtree_and_changes_its_own_region(user):
    s = compute_scope(user("fin_budget"))
    assert s.view_regions == PROVINCE and s.change_regions == {"990000000"} and s.unit_path is None
    s = compute_scope(user("city_treasury"))
    assert s.view_regions == DONGCHUAN and s.change_regions == {"990100000"}
    assert s.reference_regions == {"990000000", "990100000"}
    assert not s.read_only


def test_unit_staff_are_held_to_their_unit_subtree(user):
    u = user("school_clerk")
    s = compute_scope(u)
    assert s.unit_path == u.organization.unit.path
    assert s.view_regions == s.change_regions == {"990000000"}
    dept = compute_scope(user("edu_reviewer"))
    assert s.unit_path.startswith(dept.unit_path) and dept.unit_path != s.unit_path
    units = set(Unit.objects.restrict(user("edu_reviewer"), "view").values_list("code", flat=True))
    assert units == {"001", "001001", "001002"}


def test_oversight_reads_everything_below_and_changes_nothing(user):
    s = compute_scope(user("auditor"))
    assert s.view_regions == PROVINCE and s.change_regions == frozenset() and s.read_only
    assert not Unit.objects.restrict(user("auditor"), "change").exists()
    assert Unit.objects.restrict(user("auditor"), "view").filter(region_code="990202000").exists()


def test_admins_write_only_in_their_own_region(user):
    s = compute_scope(user("sysadmin"))
    assert s.view_regions == PROVINCE and s.change_regions == {"990000000"}


def test_scope_grant_adds_a_read_only_subtree(user):
    u = user("city_treasury")
    ScopeGrant.objects.create(user=u, region=Region.objects.get(code="990200000"), note="跨市协查")
    u = User.objects.get(pk=u.pk)
    s = u.data_scope
    assert s.view_regions == DONGCHUAN | XILING
    assert s.change_regions == {"990100000"}
    assert Unit.objects.restrict(u, "view").filter(region_code="990222000").exists()
    assert not Unit.objects.restrict(u, "change").filter(region_code__in=XILING).exists()


def test_inactive_or_unattached_users_have_no_scope(user):
    u = user("fin_budget")
    u.is_active = False
    assert compute_scope(u).view_regions == frozenset() and compute_scope(u).read_only
    assert compute_scope(User(username="floating")).view_regions == frozenset()
