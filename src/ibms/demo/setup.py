"""Set-up every deployment needs: schema, reference data for the working years, roles, default chains."""

from __future__ import annotations

from django.core.management import call_command

from ibms.accounting.setup import setup_app as setup_accounting
from ibms.banks.setup import setup_app as setup_banks
from ibms.budgeting.setup import setup_app as setup_budgeting
from ibms.core import clock
from ibms.core.workflow import set_chain
from ibms.iam.roles import sync_roles
from ibms.indicators.setup import setup_app as setup_indicators
from ibms.masterdata.reference import load_reference_data
from ibms.masterdata.services import BLACKLIST_DOC, DEFAULT_BLACKLIST_CHAIN
from ibms.monitoring.setup import setup_app as setup_monitoring
from ibms.projects.setup import setup_app as setup_projects
from ibms.treasury.setup import setup_app as setup_treasury


def setup_system(*, verbosity: int = 1) -> None:
    call_command("migrate", interactive=False, verbosity=max(0, verbosity - 1))
    year = clock.fiscal_year()
    for y in (year, year + 1):
        load_reference_data(y)
    sync_roles()
    set_chain(BLACKLIST_DOC, "", "收款人黑名单审批", DEFAULT_BLACKLIST_CHAIN)
    for setup_app in (setup_projects, setup_indicators, setup_budgeting, setup_accounting, setup_monitoring,
                      setup_banks, setup_treasury):
        setup_app([year, year + 1])
