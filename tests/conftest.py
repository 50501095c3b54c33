"""Test harness. The schema, reference data, roles and the demo province are loaded once per session;
each `db` test runs in a transaction that is rolled back. Tests that need real commits (threads,
concurrency on PostgreSQL) use `committed_db`: pytest-django runs them after all the others, Django
flushes the database after each, so the fixture reloads the base data before each of them."""

from __future__ import annotations

import pytest
from django.test import Client

from ibms.demo.province import DEMO_PASSWORD, load_demo_province
from ibms.demo.setup import setup_system


def load_base() -> None:
    setup_system(verbosity=0)
    load_demo_province()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        load_base()


@pytest.fixture
def committed_db(transactional_db):
    load_base()


@pytest.fixture
def user(db):
    from ibms.iam.models import User

    def get(username: str):
        return User.objects.select_related("organization", "organization__unit").get(username=username)

    return get


@pytest.fixture
def client_as(db, user):
    def make(username: str) -> Client:
        c = Client()
        c.force_login(user(username))
        return c

    return make


@pytest.fixture
def password() -> str:
    return DEMO_PASSWORD


def pytest_collection_modifyitems(config, items):
    """On SQLite, tests marked `postgres` are deselected (reported as such), not skipped."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
        return
    keep, drop = [], []
    for item in items:
        (drop if item.get_closest_marker("postgres") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
