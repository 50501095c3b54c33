import os
import subprocess
import sys

from django.core.management import call_command
from django.core.management.base import BaseCommand


def gunicorn_command(bind: str, workers: int, *, graceful_timeout: int = 30) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "ibms.config.wsgi:application", "--bind", bind,
            "--workers", str(workers), "--access-logfile", "-", "--timeout", "120",
            "--graceful-timeout", str(graceful_timeout)]


class Command(BaseCommand):
    help = "Serve the web app (gunicorn; --dev for Django's development server)."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default="127.0.0.1:8000")
        parser.add_argument("--workers", type=int, default=int(os.environ.get("IBMS_WEB_WORKERS", 3)))
        parser.add_argument("--dev", action="store_true")

    def handle(self, *args, bind, workers, dev, **opts):
        if dev:
            call_command("runserver", bind, use_reloader=False)
            return
        raise SystemExit(subprocess.call(gunicorn_command(bind, workers)))
