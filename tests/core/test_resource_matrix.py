"""The scope/permission matrix over every declared resource, through the API and the pages (NetBox's
ViewTestCases): without the view permission → 403; a row outside the user's scope → 404; with both → 200.
And `restrict()` itself shows nothing without the permission."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from ibms.core.errors import PermissionDenied
from ibms.core.resources import all_resources, get_resource
from ibms.core.scoping import VIEW, has_model_perm, scope_of, scope_q
from ibms.iam.models import User

OTHER_PROVINCE = "970000000"  # no demo user's scope reaches it
SLUGS = sorted(r.slug for r in all_resources())


def _people():
    return list(User.objects.filter(is_active=True, organization__isnull=False).select_related("organization")
                .order_by("username"))


def _client(u) -> Client:
    c = Client()
    c.force_login(u)
    return c


def _api(resource, pk: int | None = None) -> str:
    base = f"/api/v1/{resource.app_label}/{resource.slug}/"
    return base if pk is None else f"{base}{pk}"


def test_every_resource_is_in_the_matrix():
    assert len(SLUGS) >= 15


@pytest.mark.parametrize("slug", SLUGS)
def test_without_the_view_permission_lists_and_rows_are_refused(db, slug):
    resource = get_resource(slug)
    lacking = [u for u in _people() if not has_model_perm(u, resource.model, VIEW)]
    assert lacking, f"every demo user may view {slug}: the matrix cannot test the refusal"
    u = lacking[0]
    row = resource.model.objects.order_by("pk").first()
    c = _client(u)
    r = c.get(_api(resource))
    assert r.status_code == 403 and r.json()["code"] == "permission_denied", (u.username, r.content[:200])
    assert c.get(reverse("resource-list", args=[slug])).status_code == 403
    if row is not None:
        assert c.get(_api(resource, row.pk)).status_code == 403
        assert c.get(reverse("resource-detail", args=[slug, row.pk])).status_code == 403
    # the queryset itself holds nothing for them, and refuses when asked for a list
    assert not resource.model.objects.restrict(u, VIEW).exists()
    with pytest.raises(PermissionDenied):
        resource.model.objects.permitted(u, VIEW)


@pytest.mark.parametrize("slug", SLUGS)
def test_out_of_scope_rows_are_not_found_and_in_scope_rows_are_shown(db, slug):
    resource = get_resource(slug)
    spec = getattr(resource.model, "scope_spec", None)
    holders = [u for u in _people() if has_model_perm(u, resource.model, VIEW)]
    assert holders, f"no demo user may view {slug}"
    checked_out = checked_in = False
    for u in holders:
        c = _client(u)
        q = scope_q(spec, scope_of(u), VIEW) if spec is not None else None
        if q is None:
            continue
        inside = resource.model.objects.filter(q).order_by("pk").first()
        outside = resource.model.objects.exclude(q).order_by("pk").first()
        if inside is not None and not checked_in:
            assert c.get(_api(resource)).status_code == 200
            assert c.get(_api(resource, inside.pk)).status_code == 200
            assert c.get(reverse("resource-detail", args=[slug, inside.pk])).status_code == 200
            checked_in = True
        if outside is not None and not checked_out:
            r = c.get(_api(resource, outside.pk))
            assert r.status_code == 404 and r.json()["code"] == "not_found", (u.username, outside.pk)
            assert c.get(reverse("resource-detail", args=[slug, outside.pk])).status_code == 404
            checked_out = True
        if checked_in and checked_out:
            break
    assert checked_in, f"no demo user sees a row of {slug}"
    if not checked_out and checked_in and spec is not None and spec.region_field == "region_code":
        # the demo base has no row outside every holder's scope: put one in another province
        u = holders[0]
        row = resource.model.objects.filter(scope_q(spec, scope_of(u), VIEW)).order_by("pk").first()
        row.pk = row.id = None
        row.region_code = OTHER_PROVINCE
        row.save()
        r = _client(u).get(_api(resource, row.pk))
        assert r.status_code == 404 and r.json()["code"] == "not_found", (u.username, row.pk)
        checked_out = True
    national_only = spec is not None and spec.reference and not resource.model.objects.exclude(
        **{spec.region_field: ""}).exists()  # national reference data is everybody's: nothing is out of scope
    if resource.model.objects.count() > 1 and not national_only:
        assert checked_out, f"no row of {slug} is out of any demo user's scope"
