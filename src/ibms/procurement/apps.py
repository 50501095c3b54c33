from django.apps import AppConfig


class ProcurementConfig(AppConfig):
    name = "ibms.procurement"
    label = "procurement"
    verbose_name = "政府采购"

    def ready(self) -> None:
        from ibms.core import verify

        from . import selectors

        # menu: data/navigation/procurement.csv; the roles' permissions: data/policy/permissions/procurement.csv;
        # the asset app hangs its 资产配置标准 check on procurement.hooks.register_plan_check
        verify.register("procurement.frozen", selectors.frozen_problems)
        verify.register("procurement.contract_changes", selectors.change_problems)
