from django.apps import AppConfig


class ClosingConfig(AppConfig):
    name = "ibms.closing"
    label = "closing"
    verbose_name = "年终结账与决算"

    def ready(self) -> None:
        from ibms.core import verify

        from . import checks, services  # noqa: F401 - services registers the step runners and the outbox topic
        from .final import ties  # noqa: F401 - registers the final_accounts runner

        # menu: data/navigation/closing.csv; the roles' permissions: data/policy/permissions/closing.csv
        for name, check in checks.CHECKS:
            verify.register(name, check)
