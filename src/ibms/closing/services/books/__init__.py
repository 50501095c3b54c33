"""Year-end accounting (issue 13, item 3): the checklist steps that close the region's books and open next year's.

Importing the package registers the step runners (`lifecycle.RUNNERS`):
- `periods_closed` (:mod:`.periods`): months 1–11 of every set closed;
- `year_end_entries` (:mod:`.entries`): 财政应返还额度 per unit and 国库集中支付结余 for the finance bureau, from
  the executed carry-over batch;
- `accounts_closed` (:mod:`.periods`): closing entries, December, 年结 of every set;
- `next_year_opened` (:mod:`.newyear`): next year's sets with their opening balances (and the authorised quota
  restored in January).
Every runner works over every account set of the region and year (the units' sets and the 总预算会计 set), is
idempotent and resumable, and reports its progress per set.
"""

from .entries import carried_amounts, unit_entries, year_end_entries
from .newyear import next_year_opened
from .periods import accounts_closed, periods_closed

__all__ = ["accounts_closed", "carried_amounts", "next_year_opened", "periods_closed", "unit_entries",
           "year_end_entries"]
