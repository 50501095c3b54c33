"""The bank simulator as a real subprocess on a free port, for tests of any app.

    from tests.banksim_process import BankSim
    sim = BankSim.start(tmp_path)          # its own SQLite DB and key directory under tmp_path
    sim.admin("/admin/tick")               # JSON admin call (X-Admin-Token); sim.get("/api/...") for public ones
    sim.restart()                          # new process on the same DB (after a crash fault or sim.kill())
    sim.stop()

`tests/banks/conftest.py` wraps it as the `bank_sim` fixture (stopped at teardown). The process handling is
`ibms.banks.simprocess.SimProcess` (also used by `ibms demo` and the benchmarks); this adds test shortcuts.
"""

from __future__ import annotations

import json
from pathlib import Path

from ibms.banks.simprocess import SimProcess, free_port  # noqa: F401 - re-exported for tests

ADMIN_TOKEN = "test-admin-token"


class BankSim(SimProcess):
    @classmethod
    def start(cls, workdir: Path, *, pay_delay: float = 3600.0, port: int | None = None) -> BankSim:
        """Start ``ibms bank-sim`` (a long pay delay by default: tests pay with ``/admin/tick``)."""
        sim = cls(workdir, port=port, admin_token=ADMIN_TOKEN, pay_delay=pay_delay)
        sim.spawn()
        return sim

    def admin(self, path: str, data: dict | None = None, *, method: str | None = None) -> dict:
        try:
            return super().admin(path, data, method=method)
        except RuntimeError as exc:
            raise AssertionError(str(exc)) from None

    def get(self, path: str) -> tuple[int, bytes]:
        return self.request("GET", path)

    def post_xml(self, xml: bytes, *, timeout: float = 30) -> tuple[int, bytes]:
        return self.request("POST", "/api/vouchers", raw=xml, timeout=timeout)

    def public_key(self) -> dict:
        return json.loads(self.get("/api/public-key")[1])

    def feed(self, after: int = 0, limit: int = 1000) -> dict:
        return json.loads(self.get(f"/api/messages?after={after}&limit={limit}")[1])

    def faults(self, **faults) -> dict:
        return self.admin("/admin/faults", faults)

    def invariants(self) -> dict:
        return self.admin("/admin/invariants")

    def vouchers(self) -> dict[str, dict]:
        return {v["voucher_no"]: v for v in self.admin("/admin/vouchers")["vouchers"]}

    def settled_day(self, voucher_no: str) -> str:
        """The bank's business day the voucher settled on (a run may cross midnight in Beijing)."""
        return self.vouchers()[voucher_no]["settled_day"]
