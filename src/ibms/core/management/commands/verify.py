from django.core.management.base import BaseCommand, CommandError

from ibms.core.verify import run_all


class Command(BaseCommand):
    help = "Check every invariant (audit chains, audited rows, ledgers); exit non-zero naming what is broken."

    def handle(self, *args, **opts):
        results = run_all()
        broken = 0
        for name, problems in results.items():
            if problems:
                broken += len(problems)
                self.stdout.write(self.style.ERROR(f"FAIL {name}: {len(problems)} problem(s)"))
                for p in problems[:200]:
                    self.stdout.write(f"  - {p}")
            else:
                self.stdout.write(self.style.SUCCESS(f"ok   {name}"))
        if broken:
            raise CommandError(f"verify found {broken} problem(s)")
