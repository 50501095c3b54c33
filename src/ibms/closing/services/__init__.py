"""Year-end services. Importing the package registers every step runner (`lifecycle.RUNNERS`)."""

from . import books, carryover, lifecycle, year  # noqa: F401 - year, books, carryover register their step runners
from .lifecycle import Blocked, StepContext, runner, step_defs, step_run, step_start, steps_ensure
from .year import fiscal_year_start

__all__ = ["Blocked", "StepContext", "fiscal_year_start", "lifecycle", "runner", "step_defs", "step_run",
           "step_start", "steps_ensure"]
