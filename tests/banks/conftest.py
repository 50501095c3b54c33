"""`bank_sim`: the bank simulator as a real subprocess (see tests/banksim_process.py), stopped at teardown."""

from __future__ import annotations

import pytest

from tests.banksim_process import BankSim


@pytest.fixture
def bank_sim(tmp_path):
    sim = BankSim.start(tmp_path / "bank-sim")
    yield sim
    sim.stop()
