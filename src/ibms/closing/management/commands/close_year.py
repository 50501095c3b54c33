"""`ibms close-year --region CODE --year N [--step CODE] [--user NAME]`: run the year-end checklist from the first
step not done, in order, printing each step's progress and result; stops at the first step that is blocked,
listing what blocks it (exit 2). `--step` runs that one step only. Acts as `--user` (their permissions and
scope), by default the system user. The carry-over step completes when the budget division has executed the
reviewed proposal (or `--execute-carry-over` executes it as proposed)."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError

from ibms.core.errors import DomainError
from ibms.iam.models import User
from ibms.iam.services import system_user

from ...models import YearStep
from ...services import lifecycle


class Command(BaseCommand):
    help = "run the year-end checklist of a region and year"

    def add_arguments(self, parser):
        parser.add_argument("--region", required=True)
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--step", default="")
        parser.add_argument("--user", default="")
        parser.add_argument("--execute-carry-over", action="store_true",
                            help="propose and execute the carry-over as the rules decide (no line-by-line review)")

    def handle(self, *args, region, year, step, user, execute_carry_over, **options):
        actor = system_user() if not user else User.objects.filter(username=user).first()
        if actor is None:
            raise CommandError(f"no such user: {user}")
        codes = [step] if step else [d.code for d in lifecycle.step_defs()]
        for code in codes:
            d = lifecycle.step_def(code)
            if code == "carry_over" and execute_carry_over:
                self._carry(actor, region, year)
            try:
                row = lifecycle.step_run(actor=actor, region_code=region, year=year, step=code)
            except lifecycle.Blocked as exc:
                self.stdout.write(f"[{d.order:>2}] {d.name}: 未通过")
                for item in exc.items:
                    self.stdout.write(f"       - {item['label']}")
                sys.exit(2)
            except DomainError as exc:
                raise CommandError(f"{d.name}: {exc.message} ({exc.code})") from exc
            self.stdout.write(f"[{d.order:>2}] {d.name}: {row.get_status_display()} "
                              f"{row.done}/{row.total} {row.result}")
            if row.status != YearStep.Status.DONE:
                sys.exit(2)

    def _carry(self, actor, region: str, year: int) -> None:
        from ...services import carryover

        run = carryover.carry_run_propose(actor=actor, region_code=region, year=year)
        carryover.carry_run_execute(actor=actor, run_id=run.pk)
