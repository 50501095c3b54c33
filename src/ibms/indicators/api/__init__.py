"""/api/v1/indicators/: the ledger (list, get, entries, lineage), every movement, 调剂 and transfer notices. Thin:
parse, call one service or selector, serialize. Money travels as decimal yuan strings; errors are
{"code","message","detail"} with stable codes (overdraw, cross_fund_nature, sangong_increase, personnel_out,
already_received, not_found …).

The payment reservation (reserve → post / void, restore) has no endpoint: it is a building block of the treasury
services (payment submit, review, withdraw, 实拨, the bank receipts, returns and refunds), which reserve and settle
inside their own transaction after checking their own permission. Reservations are read through the lineage.

The one router (`ibms.indicators.api.router`, mounted by web/api.py) lives in :mod:`.common`; :mod:`.ledger` and
:mod:`.reallocations` register their routes on it when imported, in that order."""

from . import ledger, reallocations  # noqa: F401 - registers the routes
from .common import router

__all__ = ["router"]
