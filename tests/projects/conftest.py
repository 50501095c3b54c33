"""Fixtures of the project-library tests."""

from __future__ import annotations

import pytest
from django.db import transaction

from ibms.core import audit
from ibms.iam.models import Role, User


@pytest.fixture
def make_user(db):
    """A user in the same organisation as `like`, with the given roles."""
    def make(username: str, like: str, roles: list[str]) -> User:
        base = User.objects.get(username=like)
        with transaction.atomic():
            u = User(username=username, real_name=username, organization=base.organization)
            u.set_password("Another#Pass2026")
            u.save()
            u.groups.set([r.group for r in Role.objects.filter(code__in=roles)])
            audit.record_change(u, "create")
        return User.objects.select_related("organization", "organization__unit").get(username=username)

    return make
