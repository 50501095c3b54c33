"""Start the bank simulator as its own process (for `ibms demo`, the benchmarks and the tests) and wait until it
answers. Django-free, like the simulator itself. It lives in `ibms.banks` (not `ibms.banksim`) so that the layers
below the simulator (demo, bench helpers) may import it."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

SRC = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PortTaken(RuntimeError):
    """The simulator's port belongs to a process not started here: never register keys with it or send it
    vouchers."""


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Something listens on the port (it answers, or it cannot be bound)."""
    with socket.socket() as s:
        s.settimeout(1)
        if s.connect_ex((host, port)) == 0:
            return True
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a closed connection in TIME_WAIT is no owner
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


class SimProcess:
    """`ibms bank-sim` on `port` with its database and keys under `workdir`; `restart()` keeps both."""

    def __init__(self, workdir: Path | str, *, port: int | None = None, admin_token: str = "",
                 pay_delay: float = 1.0, extra_args: tuple[str, ...] = ()) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.admin_token = admin_token or secrets.token_hex(16)
        self.pay_delay = pay_delay
        self.extra_args = extra_args
        self.log_path = self.workdir / "bank-sim.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def db_path(self) -> Path:
        return self.workdir / "bank.sqlite3"

    def spawn(self, timeout: float = 30) -> SimProcess:
        """Start the process and wait until it answers `/healthz` — and is ours: it knows our admin token (another
        process that took the port meanwhile would answer the health check too). `PortTaken` if the port is
        another process's."""
        if port_in_use(self.port):
            raise PortTaken(f"银行模拟器端口 {self.port} 已被其他进程占用（不是本命令启动的模拟器），拒绝启动")
        cmd = [sys.executable, "-m", "ibms.cli", "bank-sim", "--port", str(self.port), "--db", str(self.db_path),
               "--keys", str(self.workdir / "keys"), "--admin-token", self.admin_token,
               "--pay-delay", str(self.pay_delay), *self.extra_args]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")])))
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bank-sim exited with {self.proc.returncode}: "
                                   f"{self.log_path.read_text(errors='replace')[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as r:  # noqa: S310 - our http URL
                    healthy = r.status == 200
            except (urllib.error.URLError, OSError):
                healthy = False
            if not healthy:
                time.sleep(0.05)
                continue
            if self.alive() and self.request("GET", "/admin/faults", admin=True, timeout=5)[0] == 200:
                return self
            self.kill()
            raise PortTaken(f"银行模拟器端口 {self.port} 上应答的不是本命令启动的模拟器，拒绝使用")
        self.kill()
        raise RuntimeError(f"bank-sim did not answer within {timeout:.0f} s")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self) -> SimProcess:
        """A new process on the same database, keys and port (after a crash fault or `kill()`)."""
        self.stop()
        return self.spawn()

    def wait_exit(self, timeout: float = 30) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    # --- talking to it ------------------------------------------------------------------------------------------

    def request(self, method: str, path: str, data: dict | None = None, *, admin: bool = False,
                raw: bytes | None = None, timeout: float = 30) -> tuple[int, bytes]:
        body = raw if raw is not None else (json.dumps(data).encode() if data is not None else None)
        req = urllib.request.Request(self.url + path, data=body, method=method)  # noqa: S310 - our http URL
        if admin:
            req.add_header("X-Admin-Token", self.admin_token)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:  # noqa: S310 - our http URL
                return r.status, r.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def admin(self, path: str, data: dict | None = None, *, method: str | None = None) -> dict:
        """An admin call (JSON, X-Admin-Token): POST when there is a body (or `/admin/tick`), else GET."""
        if data is None and path == "/admin/tick":
            data = {}
        status, body = self.request(method or ("POST" if data is not None else "GET"), path, data, admin=True)
        if status != 200:
            raise RuntimeError(f"bank-sim {path}: HTTP {status} {body[:300]!r}")
        return json.loads(body)
