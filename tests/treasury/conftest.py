"""Fixtures for the treasury tests: the people who do each step and the bank simulator. Builders (indicators,
drafts, one round of the worker) are in builders.py."""

from __future__ import annotations

import pytest

from tests.banksim_process import BankSim


@pytest.fixture
def treasury(user):
    return user("fin_treasury")


@pytest.fixture
def sim(tmp_path):
    """The bank simulator as a real subprocess (tests/banksim_process.py), stopped at teardown."""
    bank = BankSim.start(tmp_path / "bank-sim")
    yield bank
    bank.stop()
