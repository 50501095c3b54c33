from django.apps import AppConfig


class BanksConfig(AppConfig):
    name = "ibms.banks"
    label = "banks"
    verbose_name = "银行接口"

    def ready(self) -> None:
        from ibms.core import verify
        from ibms.core.views import register_nav
        from ibms.iam.roles import grant

        from . import selectors, services  # noqa: F401 - registers the outbox handler `banks.send` and periodic `banks.poll`

        view = ["banks.view_bankmessage", "banks.view_bankendpoint"]
        # 国库处 manages the bank interface; units read their own messages (scoped by unit path), others read.
        grant("treasury_division", [*view, "banks.add_bankendpoint", "banks.change_bankendpoint",
                                    "banks.change_bankmessage", "banks.view_signingkey"])
        for role in ("accounting_division", "oversight", "it_division"):
            grant(role, view)
        for role in ("unit_clerk", "unit_reviewer", "unit_head", "dept_clerk", "dept_reviewer"):
            grant(role, ["banks.view_bankmessage"])
        register_nav("银行报文", "/banks/", "banks.view_bankmessage", group="国库集中支付")
        verify.register("banks.messages", selectors.message_problems)
        register_nav("代理银行接口", "/banks/endpoints/", "banks.view_bankendpoint", group="国库集中支付")
