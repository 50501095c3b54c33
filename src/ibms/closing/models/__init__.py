"""Year-end models: the life cycle's checklist steps (`lifecycle`) and the carry-over batches (`carryover`)."""

from .carryover import CarryLine, CarryRun
from .lifecycle import YearStep

__all__ = ["CarryLine", "CarryRun", "YearStep"]
