from django.apps import AppConfig


class AssetsConfig(AppConfig):
    name = "ibms.assets"
    label = "assets"
    verbose_name = "资产管理"

    def ready(self) -> None:
        from ibms.core import verify
        from ibms.procurement import hooks as procurement_hooks
        from ibms.treasury import hooks as treasury_hooks

        from . import listeners, selectors

        # menu: data/navigation/assets.csv; the roles' permissions: data/policy/permissions/assets.csv
        verify.register("assets.register_books", selectors.register_problems)
        treasury_hooks.register_receipt_listener(listeners.card_from_receipt)
        procurement_hooks.register_plan_check(listeners.plan_standard_check)
