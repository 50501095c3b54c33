"""Year-end services. Importing the package registers every step runner (`lifecycle.RUNNERS`)."""

from . import lifecycle, year  # noqa: F401 - year registers its step runners
from .lifecycle import Blocked, StepContext, runner, step_defs, step_run, steps_ensure

__all__ = ["Blocked", "StepContext", "lifecycle", "runner", "step_defs", "step_run", "steps_ensure"]
