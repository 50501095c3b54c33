"""`ibms demo`: set up, load the demo province, start the bank simulator, the worker and the web server beside it.

The three children are this command's: on SIGTERM or SIGINT (or when the web server ends) it stops the web server,
the worker and the simulator, in that order, and waits for them. It refuses to start when the simulator's port (or
the web server's) is already another process's: it must never register keys with, or send vouchers to, a
simulator it did not start."""

import os
import signal
import subprocess
from contextlib import ExitStack, contextmanager

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from ibms.banks.simprocess import PortTaken, port_in_use
from ibms.demo.bank import SIM_PORT, connect_demo_banks, demo_sim, start_worker
from ibms.demo.management.commands.serve import gunicorn_command
from ibms.demo.payments import load_demo_payments
from ibms.demo.payroll import load_demo_payroll
from ibms.demo.procurement import load_demo_procurement
from ibms.demo.province import DEMO_PASSWORD, USERS, load_demo_province
from ibms.demo.setup import setup_system
from ibms.demo.unitfunds import load_demo_unitfunds
from ibms.demo.users import DEMO_PIN, DEMO_SIGNERS

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Stopped(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextmanager
def stop_on_signals():
    """SIGTERM/SIGINT raise `Stopped` in the main thread, so the children are stopped on the way out; once
    stopping, further signals are ignored (a second Ctrl-C must not leave a child behind)."""
    def handler(signum, frame):
        for s in STOP_SIGNALS:
            signal.signal(s, signal.SIG_IGN)
        raise Stopped(signum)

    previous = {s: signal.signal(s, handler) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def stop_process(proc: subprocess.Popen, timeout: float = 15) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)


def _host_port(bind: str) -> tuple[str, int] | None:
    host, _, port = bind.rpartition(":")
    if not port.isdigit() or bind.startswith("unix:"):
        return None
    return (host.strip("[]") if host not in ("", "0.0.0.0") else "127.0.0.1"), int(port)  # noqa: S104


class Command(BaseCommand):
    help = ("Set up, load the demo province 华夏省, start the bank simulator and the worker beside the app, print the "
            "demo logins and serve on http://127.0.0.1:8000; SIGTERM/SIGINT stop all three.")

    def add_arguments(self, parser):
        parser.add_argument("--no-serve", action="store_true")
        parser.add_argument("--bind", default="127.0.0.1:8000")
        parser.add_argument("--workers", type=int, default=int(os.environ.get("IBMS_WEB_WORKERS", 3)),
                            help="web server worker processes")

    def handle(self, *args, no_serve=False, bind="127.0.0.1:8000", workers=3, **opts):
        if port_in_use(SIM_PORT):
            raise CommandError(f"银行模拟器端口 {SIM_PORT} 已被其他进程占用：演示不会向不是自己启动的模拟器登记密钥或发送"
                               "凭证。请停止该进程，或以 IBMS_BANKSIM_PORT 指定其他端口。")
        web = _host_port(bind)
        if not no_serve and web and port_in_use(web[1], web[0]):
            raise CommandError(f"网页服务地址 {bind} 已被其他进程占用，请以 --bind 指定其他地址。")
        try:
            with stop_on_signals(), ExitStack() as children:
                self._run(children, no_serve=no_serve, bind=bind, workers=workers, verbosity=opts["verbosity"])
        except Stopped as stop:
            self.stdout.write(f"收到 {stop}：网页服务、后台作业进程与银行模拟器均已停止。")

    def _run(self, children: ExitStack, *, no_serve: bool, bind: str, workers: int, verbosity: int) -> None:
        """Each child is stopped by `children` on the way out, the last started first."""
        setup_system(verbosity=verbosity)
        counts = load_demo_province()
        if counts:
            self.stdout.write(f"demo province loaded: {counts}")
        call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write(f"\n演示账号（密码均为 {DEMO_PASSWORD}）:")
        for username, real, region, _, roles in USERS:
            self.stdout.write(f"  {username:<20} {real:<24} {region}  {','.join(roles)}")
        self.stdout.write(f"签名人（审核签发支付凭证时输入签名口令 {DEMO_PIN}）: {', '.join(DEMO_SIGNERS)}")
        sim = demo_sim()
        children.callback(sim.stop)  # before spawning: a signal while it starts up stops it too
        try:
            sim.spawn()
        except PortTaken as exc:
            raise CommandError(str(exc)) from None
        n = connect_demo_banks(sim)
        self.stdout.write(f"\n银行模拟器 {sim.url}（独立进程 pid {sim.proc.pid}，数据在 var/banksim/）已接入 {n} 家代理银行。")
        paid = load_demo_payments(sim)
        if paid:
            self.stdout.write(f"演示支付已办理：{paid}")
        bought = load_demo_procurement(sim)
        if bought:
            self.stdout.write(f"演示采购与资产已办理：{bought}")
        if salaries := load_demo_payroll(sim):
            self.stdout.write(f"演示工资统发已办理：{salaries}")
        if own := load_demo_unitfunds(sim):
            self.stdout.write(f"演示单位资金已办理：{own}")
        if no_serve:
            return
        worker = start_worker()
        children.callback(stop_process, worker)
        server = subprocess.Popen(gunicorn_command(bind, workers, graceful_timeout=5))
        children.callback(stop_process, server)
        self.stdout.write(f"后台作业进程（pid {worker.pid}）与网页服务（pid {server.pid}）已启动。\n"
                          f"打开 http://{bind}/ 登录；按 Ctrl-C 停止。")
        self.stdout.flush()
        code = server.wait()
        if code:
            raise CommandError(f"网页服务进程已退出（返回码 {code}）")
