"""The bank simulator as a real subprocess on a free port, for tests of any app.

    from tests.banksim_process import BankSim
    sim = BankSim.start(tmp_path)          # its own SQLite DB and key directory under tmp_path
    sim.admin("/admin/tick")               # JSON admin call (X-Admin-Token); sim.get("/api/...") for public ones
    sim.restart()                          # new process on the same DB (after a crash fault or sim.kill())
    sim.stop()

`tests/banks/conftest.py` wraps it as the `bank_sim` fixture (stopped at teardown).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ADMIN_TOKEN = "test-admin-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class BankSim:
    workdir: Path
    port: int
    pay_delay: float = 3600.0
    admin_token: str = ADMIN_TOKEN
    proc: subprocess.Popen | None = None
    log_path: Path = field(default=None)  # type: ignore[assignment]

    @classmethod
    def start(cls, workdir: Path, *, pay_delay: float = 3600.0, port: int | None = None) -> BankSim:
        """Start ``ibms bank-sim`` (a long pay delay by default: tests pay with ``/admin/tick``)."""
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        sim = cls(workdir=workdir, port=port or free_port(), pay_delay=pay_delay)
        sim.log_path = workdir / "bank-sim.log"
        sim._spawn()
        return sim

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def db_path(self) -> Path:
        return self.workdir / "bank.sqlite3"

    def _spawn(self) -> None:
        cmd = [sys.executable, "-m", "ibms.cli", "bank-sim", "--port", str(self.port), "--db", str(self.db_path),
               "--keys", str(self.workdir / "keys"), "--admin-token", self.admin_token,
               "--pay-delay", str(self.pay_delay)]
        env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child process
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(ROOT))
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bank-sim exited with {self.proc.returncode}: {self.log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
        self.kill()
        raise RuntimeError("bank-sim did not start in 30 s")

    def _request(self, method: str, path: str, data: dict | None = None, *, admin: bool = False,
                 raw: bytes | None = None, timeout: float = 30) -> tuple[int, bytes]:
        body = raw if raw is not None else (json.dumps(data).encode() if data is not None else None)
        req = urllib.request.Request(self.url + path, data=body, method=method)
        if admin:
            req.add_header("X-Admin-Token", self.admin_token)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def admin(self, path: str, data: dict | None = None, *, method: str | None = None) -> dict:
        status, body = self._request(method or ("POST" if data is not None or path in (
            "/admin/tick",) else "GET"), path, data if data is not None else ({} if path == "/admin/tick" else None),
            admin=True)
        if status != 200:
            raise AssertionError(f"bank-sim {path}: HTTP {status} {body[:300]!r}")
        return json.loads(body)

    def get(self, path: str) -> tuple[int, bytes]:
        return self._request("GET", path)

    def post_xml(self, xml: bytes, *, timeout: float = 30) -> tuple[int, bytes]:
        return self._request("POST", "/api/vouchers", raw=xml, timeout=timeout)

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

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_exit(self, timeout: float = 30) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self) -> None:
        """A new process on the same database and keys (and port)."""
        self.stop()
        self._spawn()
