from django.apps import AppConfig


class BanksConfig(AppConfig):
    name = "ibms.banks"
    label = "banks"
    verbose_name = "银行接口"

    def ready(self) -> None:
        from ibms.core import verify
        from ibms.core.views import register_nav

        from . import selectors, services  # noqa: F401 - registers the outbox handler `banks.send` and periodic `banks.poll`

        # the roles' permissions: data/policy/permissions/banks.csv
        register_nav("银行报文", "/banks/", "banks.view_bankmessage", group="国库集中支付")
        verify.register("banks.messages", selectors.message_problems)
        register_nav("代理银行接口", "/banks/endpoints/", "banks.view_bankendpoint", group="国库集中支付")
