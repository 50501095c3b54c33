"""Fixtures for the indicator-ledger tests: the budget division's people. Builders (documents, indicators, their
buckets) are in builders.py."""

from __future__ import annotations

import pytest


@pytest.fixture
def budget(user):
    return user("fin_budget")


@pytest.fixture
def deputy(user):
    return user("fin_budget_deputy")
