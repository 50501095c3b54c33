from django.apps import AppConfig


class AccountingConfig(AppConfig):
    name = "ibms.accounting"
    label = "accounting"
    verbose_name = "会计核算"

    def ready(self) -> None:
        from ibms.core import verify

        from .selectors import check_balanced

        # menu: data/navigation/accounting.csv; the roles' permissions: data/policy/permissions/accounting.csv
        verify.register("accounting.balanced", check_balanced)
