"""Set-up every deployment needs for this app (called by `ibms setup` / `demo.setup.setup_system`): the reference
data of the working years and the default approval chain of the payee blacklist."""

from __future__ import annotations

from ibms.core.workflow import set_chain

from .reference import load_reference_data
from .services import BLACKLIST_DOC, DEFAULT_BLACKLIST_CHAIN


def setup_app(years: list[int]) -> None:
    for year in years:
        load_reference_data(year)
    set_chain(BLACKLIST_DOC, "", "收款人黑名单审批", DEFAULT_BLACKLIST_CHAIN)
