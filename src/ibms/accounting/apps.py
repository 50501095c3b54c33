from django.apps import AppConfig


class AccountingConfig(AppConfig):
    name = "ibms.accounting"
    label = "accounting"
    verbose_name = "会计核算"

    def ready(self) -> None:
        from ibms.core import verify
        from ibms.core.views import register_nav

        from .selectors import check_balanced

        # the roles' permissions: data/policy/permissions/accounting.csv
        register_nav("账套与科目", "/accounting/sets/", "accounting.view_accountset", group="会计核算")
        register_nav("记账凭证", "/accounting/vouchers/", "accounting.view_voucher", group="会计核算")
        register_nav("记账规则", "/accounting/rules/", "accounting.view_postingrule", group="会计核算")
        register_nav("账簿与报表", "/accounting/reports/", "accounting.view_accountset", group="会计核算")
        verify.register("accounting.balanced", check_balanced)
