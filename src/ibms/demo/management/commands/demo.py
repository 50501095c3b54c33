from django.core.management import call_command
from django.core.management.base import BaseCommand

from ibms.demo.province import DEMO_PASSWORD, USERS, load_demo_province
from ibms.demo.setup import setup_system


class Command(BaseCommand):
    help = "Set up, load the demo province 华夏省, print the demo logins and serve on http://127.0.0.1:8000."

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
        self.stdout.write(f"\n打开 http://{bind}/ 登录。")
        if not no_serve:
            call_command("serve", bind=bind)
