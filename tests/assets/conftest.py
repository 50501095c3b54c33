"""Fixtures for the asset tests: the people who do each step."""

from __future__ import annotations

import pytest


@pytest.fixture
def accountant(user):
    return user("fin_accounting")

