"""`ibms demo` as a person runs it (a real process tree, Linux /proc): SIGTERM or SIGINT stops the simulator,
the worker and the web server it started; it refuses to start when its simulator port is already another
process's, and never talks to that process (no key registered, no voucher sent)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ibms.banks import simprocess
from ibms.banks.simprocess import PortTaken, SimProcess, free_port, port_in_use
from tests.conftest import BASE_KEY

ROOT = Path(__file__).resolve().parents[2]


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def alive(pid: int) -> bool:
    st = _stat(pid)
    return st is not None and st[0] != "Z"


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit() and (st := _stat(int(d.name))):
            children.setdefault(int(st[1]), []).append(int(d.name))
    found, todo = set(), [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            found.add(c)
            todo.append(c)
    return found


class Foreign(ThreadingHTTPServer):
    """Someone else's server on the port: answers /healthz like a simulator, refuses everything else, and
    records every request it gets."""

    def __init__(self, port: int) -> None:
        self.seen: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                outer.seen.append(f"{self.command} {self.path}")
                self.send_response(200 if self.path == "/healthz" else 403)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", port), Handler)
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.shutdown()
        self.server_close()


@pytest.fixture
def demo_home(request, django_db_setup, tmp_path):
    """A var directory for the demo process: on SQLite a copy of this run's base database (schema, reference
    data, the demo province); otherwise the demo builds its own."""
    base = request.config.stash[BASE_KEY]
    if base.vendor == "sqlite" and base.sqlite_file.exists():
        src = sqlite3.connect(f"file:{base.sqlite_file}?mode=ro", uri=True)
        dst = sqlite3.connect(tmp_path / "ibms.sqlite3")
        src.backup(dst)
        src.close()
        dst.close()
    return tmp_path


def demo_env(home: Path, sim_port: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IBMS_") and k != "DJANGO_SETTINGS_MODULE"}
    env.update(IBMS_VAR_DIR=str(home), IBMS_BANKSIM_PORT=str(sim_port), PYTHONPATH=str(ROOT / "src"))
    return env


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:  # noqa: S310 - our local server
            return r.status == 200
    except OSError:
        return False


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_the_simulator_worker_and_web_server(demo_home, signum):
    sim_port, web_port = free_port(), free_port()
    log = open(demo_home / "demo.log", "w+b")  # noqa: SIM115 - read back on failure
    proc = subprocess.Popen([sys.executable, "-m", "ibms.cli", "demo", "--bind", f"127.0.0.1:{web_port}",
                             "--workers", "1"], env=demo_env(demo_home, sim_port), cwd=str(demo_home),
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    started: set[int] = set()
    try:
        deadline = time.monotonic() + 300
        while not answers(f"http://127.0.0.1:{web_port}/login/"):
            assert proc.poll() is None and time.monotonic() < deadline, log_text(log)
            time.sleep(0.5)
        started = descendants(proc.pid)
        assert answers(f"http://127.0.0.1:{sim_port}/healthz")
        cmdlines = [Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ") for p in started]
        assert any(b" bank-sim " in c for c in cmdlines) and any(b" worker " in c for c in cmdlines)
        assert any(b"gunicorn" in c for c in cmdlines), cmdlines

        proc.send_signal(signum)  # to the demo process only, not its process group
        assert proc.wait(timeout=90) == 0, log_text(log)
        assert [p for p in started if alive(p)] == []
        assert not port_in_use(sim_port) and not port_in_use(web_port)
        assert "均已停止" in log_text(log)
        assert "演示支付已办理" in log_text(log) and "演示采购与资产已办理" in log_text(log)  # procurement, assets
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for p in started:
            if alive(p):
                os.kill(p, signal.SIGKILL)
        log.close()


def log_text(log) -> str:
    log.flush()
    log.seek(0)
    return log.read().decode(errors="replace")[-4000:]


def test_refuses_to_start_when_the_simulator_port_is_someone_elses(tmp_path):
    port = free_port()
    foreign = Foreign(port)
    try:
        out = subprocess.run([sys.executable, "-m", "ibms.cli", "demo", "--no-serve"], env=demo_env(tmp_path, port),
                             cwd=str(tmp_path), capture_output=True, text=True, timeout=120)
    finally:
        foreign.close()
    assert out.returncode == 1, out.stdout + out.stderr
    assert f"银行模拟器端口 {port} 已被其他进程占用" in out.stderr
    assert foreign.seen == []  # not a single request: no key registered, no voucher sent
    assert not (tmp_path / "banksim").exists()  # refused before setting anything up


def test_a_simulator_that_is_not_ours_is_refused_even_after_the_port_check(tmp_path, monkeypatch):
    """Another process takes the port between the check and our simulator's start: it answers the health check,
    but not with our admin token, so we stop ours and use nothing."""
    port = free_port()
    foreign = Foreign(port)
    monkeypatch.setattr(simprocess, "port_in_use", lambda *a, **k: False)
    sim = SimProcess(tmp_path / "sim", port=port)
    try:
        with pytest.raises(PortTaken, match=f"端口 {port} 上应答的不是本命令启动的模拟器"):
            sim.spawn()
        assert not sim.alive()
    finally:
        sim.stop()
        foreign.close()
    assert set(foreign.seen) <= {"GET /healthz", "GET /admin/faults"}


def test_spawn_refuses_a_port_in_use(tmp_path):
    port = free_port()
    foreign = Foreign(port)
    try:
        with pytest.raises(PortTaken, match=f"银行模拟器端口 {port} 已被其他进程占用"):
            SimProcess(tmp_path / "sim", port=port).spawn()
    finally:
        foreign.close()
    assert foreign.seen == []
