"""The demo's agent bank: the bank simulator runs as its own process beside the app (its database and keys under
var/banksim/), every agent bank of the demo province is registered against it, and the worker runs beside the web
server so that approved vouchers are sent, paid and receipted."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

from django.conf import settings

from ibms.banks.services import endpoint_register
from ibms.banks.simprocess import SimProcess
from ibms.iam.services import system_user
from ibms.masterdata.models import AgentBank

SIM_PORT = int(os.environ.get("IBMS_BANKSIM_PORT", 8100))
# A new admin token per start unless given: only the simulator this process started accepts it (see SimProcess.spawn)
SIM_TOKEN = os.environ.get("IBMS_BANKSIM_ADMIN_TOKEN") or secrets.token_hex(16)


def demo_sim(*, port: int = SIM_PORT, pay_delay: float = 2.0) -> SimProcess:
    """Not started yet: `spawn()` it (`PortTaken` when the port belongs to a process not started here)."""
    return SimProcess(settings.VAR_DIR / "banksim", port=port, admin_token=SIM_TOKEN, pay_delay=pay_delay)


def connect_demo_banks(sim: SimProcess) -> int:
    """Register every active agent bank of every region against the simulator (idempotent)."""
    actor = system_user()
    banks = AgentBank.objects.filter(is_active=True).order_by("region_code", "code")
    for bank in banks:
        endpoint_register(actor=actor, agent_bank_code=bank.code, region_code=bank.region_code, base_url=sim.url,
                          name=f"{bank.name}（模拟）", admin_token=sim.admin_token)
    return len(banks)


def start_worker() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ibms.cli", "worker", "--interval", "0.5"])
