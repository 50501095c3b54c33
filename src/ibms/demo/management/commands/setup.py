from django.core.management.base import BaseCommand

from ibms.demo.setup import setup_system


class Command(BaseCommand):
    help = "Migrate, load reference data for this and next year, sync roles and default approval chains."

    def handle(self, *args, **opts):
        setup_system(verbosity=opts["verbosity"])
        self.stdout.write(self.style.SUCCESS("system set up"))
