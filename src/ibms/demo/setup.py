"""Set-up every deployment needs: the schema, then each app's `setup.py::setup_app(years)` for this fiscal year
and the next (reference data, roles, default approval chains, rules …), lower layers first."""

from __future__ import annotations

from django.core.management import call_command

from ibms.core import clock

from .registry import app_modules


def setup_system(*, verbosity: int = 1) -> None:
    call_command("migrate", interactive=False, verbosity=max(0, verbosity - 1))
    year = clock.fiscal_year()
    for module in app_modules("setup"):
        setup_app = getattr(module, "setup_app", None)
        if setup_app is not None:
            setup_app([year, year + 1])
