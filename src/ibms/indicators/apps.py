from django.apps import AppConfig


class IndicatorsConfig(AppConfig):
    name = "ibms.indicators"
    label = "indicators"
    verbose_name = "指标管理"

    def ready(self) -> None:
        from ibms.core import verify
        from ibms.core.views import register_nav

        from .selectors import balance_problems

        # the roles' permissions: data/policy/permissions/indicators.csv (no role writes reservations or
        # ledger entries: only the treasury services do, through the reservation building blocks)
        register_nav("预算指标", "/indicators/", "indicators.view_indicator", group="指标管理")
        register_nav("指标调剂", "/indicators/reallocations/", "indicators.view_reallocation", group="指标管理")
        register_nav("转移支付", "/indicators/transfers/", "indicators.view_transfernotice", group="指标管理")
        register_nav("指标来源文件", "/indicators/documents/", "indicators.view_sourcedocument", group="指标管理")
        verify.register("indicators.balances", balance_problems)
