from django.apps import AppConfig


class IndicatorsConfig(AppConfig):
    name = "ibms.indicators"
    label = "indicators"
    verbose_name = "指标管理"

    def ready(self) -> None:
        from ibms.core import verify

        from .selectors import balance_problems

        # menu: data/navigation/indicators.csv; the roles' permissions: data/policy/permissions/indicators.csv (no
        # role writes reservations or ledger entries: only the treasury services do, through the reservation building blocks)
        verify.register("indicators.balances", balance_problems)
