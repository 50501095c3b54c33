from django.apps import AppConfig


class BanksConfig(AppConfig):
    name = "ibms.banks"
    label = "banks"
    verbose_name = "银行接口"

    def ready(self) -> None:
        from ibms.core import verify

        from . import selectors, services  # noqa: F401 - registers the outbox handler `banks.send` and periodic `banks.poll`

        # menu: data/navigation/banks.csv; the roles' permissions: data/policy/permissions/banks.csv
        verify.register("banks.messages", selectors.message_problems)
