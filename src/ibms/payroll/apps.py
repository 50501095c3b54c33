from django.apps import AppConfig


class PayrollConfig(AppConfig):
    name = "ibms.payroll"
    label = "payroll"
    verbose_name = "工资统发"

    def ready(self) -> None:
        from ibms.core import verify
        from ibms.treasury import hooks as treasury_hooks

        from . import listeners, selectors

        # menu: data/navigation/payroll.csv; permissions: data/policy/permissions/payroll.csv
        verify.register("payroll.runs", selectors.run_problems)
        treasury_hooks.register_return_listener(listeners.on_return)
