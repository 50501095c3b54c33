from django.apps import AppConfig


class UnitfundsConfig(AppConfig):
    name = "ibms.unitfunds"
    label = "unitfunds"
    verbose_name = "单位资金"

    def ready(self) -> None:
        from ibms.core import verify
        from ibms.monitoring import sources
        from ibms.treasury import hooks as treasury_hooks

        from . import feed, listeners, selectors

        # menu: data/navigation/unitfunds.csv; the roles' permissions: data/policy/permissions/unitfunds.csv
        verify.register("unitfunds.balances", selectors.balance_problems)
        verify.register("unitfunds.statement_matches", selectors.match_problems)
        treasury_hooks.register_request_profile(listeners.profile)
        treasury_hooks.register_submit_check(listeners.submit_check)
        treasury_hooks.register_receipt_listener(listeners.on_receipt)
        sources.register_payment_source(listeners.statement_source)
        sources.register_subject_kind(selectors.ALERT_KIND, "实有资金账户支出")
        feed.register()  # the worker's daily T+1 read of every unit account's bank statement
