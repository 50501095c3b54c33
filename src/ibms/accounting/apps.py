from django.apps import AppConfig

VIEW = [f"accounting.view_{m}" for m in ("accountset", "account", "period", "voucher", "voucherline",
                                         "postingrule", "postingruleline", "charttemplate", "chartaccount")]
CLERK = ["accounting.add_voucher", "accounting.change_voucher", "accounting.delete_voucher"]
REVIEWER = ["accounting.review_voucher", "accounting.post_voucher", "accounting.close_period",
            "accounting.add_account", "accounting.change_account"]


class AccountingConfig(AppConfig):
    name = "ibms.accounting"
    label = "accounting"
    verbose_name = "会计核算"

    def ready(self) -> None:
        from ibms.core import verify
        from ibms.core.views import register_nav
        from ibms.iam.roles import grant

        from .selectors import check_balanced

        grant("unit_clerk", VIEW + CLERK)
        grant("unit_reviewer", VIEW + REVIEWER)
        grant("unit_head", VIEW)
        grant("dept_reviewer", VIEW)
        grant("dept_clerk", VIEW)
        grant("oversight", VIEW)
        grant("budget_division", VIEW)
        grant("treasury_division", [*VIEW, "accounting.post_event"])
        grant("accounting_division", VIEW + CLERK + REVIEWER + ["accounting.add_accountset",
                                                                "accounting.change_accountset",
                                                                "accounting.post_event"])
        register_nav("账套与科目", "/accounting/sets/", "accounting.view_accountset", group="会计核算")
        register_nav("记账凭证", "/accounting/vouchers/", "accounting.view_voucher", group="会计核算")
        register_nav("记账规则", "/accounting/rules/", "accounting.view_postingrule", group="会计核算")
        register_nav("账簿与报表", "/accounting/reports/", "accounting.view_accountset", group="会计核算")
        verify.register("accounting.balanced", check_balanced)
