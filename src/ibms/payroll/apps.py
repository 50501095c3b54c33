from django.apps import AppConfig


class PayrollConfig(AppConfig):
    name = "ibms.payroll"
    label = "payroll"
    verbose_name = "工资统发"

    def ready(self) -> None:
        from ibms.core import verify

        from . import selectors

        # menu: data/navigation/payroll.csv; permissions: data/policy/permissions/payroll.csv
        verify.register("payroll.runs", selectors.run_problems)
