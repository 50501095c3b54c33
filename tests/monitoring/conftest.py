"""Fixtures for the monitoring tests: a registered test payment source and the people who raise and handle
alerts. Builders (rules, contexts, subjects, alerts) are in builders.py."""

from __future__ import annotations

import pytest

from ibms.monitoring import sources

from .builders import ListSource


@pytest.fixture
def source():
    """Register a ListSource for the test; `source.pairs` may be filled after registration."""
    src = ListSource([])
    sources.register_payment_source(src)
    yield src
    sources.unregister_payment_source(src)


@pytest.fixture
def treasury(user):
    return user("fin_treasury")


@pytest.fixture
def clerk(user):
    return user("school_clerk")
