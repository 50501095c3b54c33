import logging
import signal
import time

from django.core.management.base import BaseCommand

from ibms.core import outbox

log = logging.getLogger("ibms.worker")


class Command(BaseCommand):
    help = "Drain the outbox and run the periodic jobs (bank exchange, unknown-outcome queries, T+1 batches)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="drain what is due and exit")
        parser.add_argument("--interval", type=float, default=1.0)

    def handle(self, *args, once=False, interval=1.0, **opts):
        stop = {"flag": False}
        signal.signal(signal.SIGTERM, lambda *a: stop.update(flag=True))
        while not stop["flag"]:
            n = outbox.drain() + outbox.run_periodic(force=once)
            if once:
                self.stdout.write(f"delivered {n}")
                return
            if n == 0:
                time.sleep(interval)
