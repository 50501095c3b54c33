from django.apps import AppConfig


class ClosingConfig(AppConfig):
    name = "ibms.closing"
    label = "closing"
    verbose_name = "年终结账与决算"

    def ready(self) -> None:
        from ibms.core import verify

        from . import checks

        # menu: data/navigation/closing.csv; the roles' permissions: data/policy/permissions/closing.csv
        for name, check in checks.CHECKS:
            verify.register(name, check)
