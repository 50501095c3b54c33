"""The fiscal year's say on vouchers: a voucher belongs to its account set's year, and that year must accept it
(`masterdata.selectors.fiscal_year_require`, purpose "voucher").

- A preparing or executing year takes vouchers; a year the region has not set up takes none
  (`fiscal_year_missing`).
- A closed year takes vouchers only into its adjustment period (调整期): the period named for the region in
  `data/accounting/adjustment_periods.csv` (the region's own row, else the nearest upper region's, else the
  national row with an empty region code; a blank period means none). Elsewhere it refuses
  (`fiscal_year_closed`). The period itself must still be open, as for every voucher, so closing the
  adjustment period (and then the set, 年结) ends the year's bookings for good.
- Bookings the system makes on its own (`event_post` / `voucher_post_system` with no actor or the system
  user: the accounting of bank receipts and refunds of payment vouchers sent while the year accepted them) are
  not refused here; they record what has already happened.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools

from ibms.iam.services import SYSTEM_USERNAME
from ibms.masterdata.selectors import fiscal_year_require, region_chain

from .charts import accounting_dir
from .models import AccountSet

ADJUSTMENT_FILE = "adjustment_periods.csv"


@functools.cache
def adjustment_periods() -> dict[str, int | None]:
    """region code ('' national) → the adjustment period of a closed year (1–12), or None for none."""
    out: dict[str, int | None] = {}
    with open(accounting_dir() / ADJUSTMENT_FILE, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            raw = (row.get("period") or "").strip()
            period = int(raw) if raw else None
            if period is not None and not 1 <= period <= 12:
                raise ValueError(f"{ADJUSTMENT_FILE}: period {raw} of region '{row['region_code']}' is not 1–12")
            out[(row.get("region_code") or "").strip()] = period
    return out


def adjustment_period(region_code: str) -> int | None:
    """The adjustment period of the region's closed years: its own row, else the nearest upper region's, else
    the national one."""
    table = adjustment_periods()
    for code in reversed(region_chain(region_code)):  # the region first, national ('') last
        if code in table:
            return table[code]
    return None


def is_system(actor) -> bool:
    """No actor, or the system user: a booking the system makes on its own."""
    return actor is None or getattr(actor, "username", None) == SYSTEM_USERNAME


def year_require(aset: AccountSet, date: dt.date) -> None:
    """Refuse a voucher dated `date` in `aset` unless the set's fiscal year accepts it (see the module)."""
    adj = adjustment_period(aset.region_code)
    in_adjustment = adj is not None and date.year == aset.year and date.month == adj
    fiscal_year_require(aset.region_code, aset.year, purpose="voucher_adjustment" if in_adjustment else "voucher",
                        closed_hint=f"（仅调整期 {adj} 月在结账前仍可记账）" if adj else "")
