from django.core.management import call_command
from django.core.management.base import BaseCommand

from ibms.demo.bank import connect_demo_banks, start_bank_sim, start_worker
from ibms.demo.payments import load_demo_payments
from ibms.demo.province import DEMO_PASSWORD, USERS, load_demo_province
from ibms.demo.setup import setup_system


class Command(BaseCommand):
    help = ("Set up, load the demo province 华夏省, start the bank simulator and the worker beside the app, print the "
            "demo logins and serve on http://127.0.0.1:8000.")

    def add_arguments(self, parser):
        parser.add_argument("--no-serve", action="store_true")
        parser.add_argument("--bind", default="127.0.0.1:8000")

    def handle(self, *args, no_serve=False, bind="127.0.0.1:8000", **opts):
        setup_system(verbosity=opts["verbosity"])
        counts = load_demo_province()
        if counts:
            self.stdout.write(f"demo province loaded: {counts}")
        call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write(f"\n演示账号（密码均为 {DEMO_PASSWORD}）:")
        for username, real, region, _, roles in USERS:
            self.stdout.write(f"  {username:<20} {real:<24} {region}  {','.join(roles)}")
        sim = start_bank_sim()
        try:
            n = connect_demo_banks(sim)
            self.stdout.write(f"\n银行模拟器 {sim.url}（独立进程，数据在 var/banksim/）已接入 {n} 家代理银行。")
            paid = load_demo_payments(sim)
            if paid:
                self.stdout.write(f"演示支付已办理：{paid}")
            if no_serve:
                return
            worker = start_worker()
            try:
                self.stdout.write(f"后台作业进程已启动（pid {worker.pid}）。\n打开 http://{bind}/ 登录。")
                call_command("serve", bind=bind)
            finally:
                worker.terminate()
        finally:
            sim.stop()
