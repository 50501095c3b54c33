from django.apps import AppConfig

MODELS = ("sourcedocument", "indicator", "indicatorentry", "reservation", "reallocation", "reallocationline",
          "transfernotice")


def _perms(actions: tuple[str, ...], models: tuple[str, ...] = MODELS) -> list[str]:
    return [f"indicators.{a}_{m}" for m in models for a in actions]


class IndicatorsConfig(AppConfig):
    name = "ibms.indicators"
    label = "indicators"
    verbose_name = "指标管理"

    def ready(self) -> None:
        from ibms.core import verify
        from ibms.core.views import register_nav
        from ibms.iam.roles import grant

        from .selectors import balance_problems

        # 预算处 manages the ledger; everyone else reads what their scope shows them (units: their own).
        grant("budget_division", _perms(("view", "add", "change"), tuple(m for m in MODELS if m != "indicatorentry"))
              + _perms(("view",), ("indicatorentry",)))
        view = _perms(("view",), ("sourcedocument", "indicator", "indicatorentry", "reservation", "transfernotice"))
        for role in ("sector_division", "accounting_division", "oversight", "dept_reviewer", "dept_clerk",
                     "unit_reviewer", "unit_head"):
            grant(role, view)
        # Payment requests reserve and settle indicators (the treasury module calls the reservation services).
        grant("treasury_division", [*view, *_perms(("add", "change"), ("reservation",))])
        grant("unit_clerk", [*view, *_perms(("add", "change"), ("reservation",))])

        register_nav("预算指标", "/indicators/", "indicators.view_indicator", group="指标管理")
        register_nav("指标调剂", "/indicators/reallocations/", "indicators.view_reallocation", group="指标管理")
        register_nav("转移支付", "/indicators/transfers/", "indicators.view_transfernotice", group="指标管理")
        register_nav("指标来源文件", "/indicators/documents/", "indicators.view_sourcedocument", group="指标管理")
        verify.register("indicators.balances", balance_problems)
