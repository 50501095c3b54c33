from django.apps import AppConfig


class TreasuryConfig(AppConfig):
    name = "ibms.treasury"
    label = "treasury"
    verbose_name = "国库集中支付"

    def ready(self) -> None:
        from ibms.core import outbox, verify
        from ibms.core.views import register_nav

        from . import handlers, selectors

        # the roles' permissions: data/policy/permissions/treasury.csv
        register_nav("支付申请", "/treasury/", "treasury.view_paymentrequest", group="国库集中支付")
        register_nav("待我审核", "/treasury/review/", "treasury.review_paymentrequest", group="国库集中支付")
        register_nav("支付凭证", "/treasury/vouchers/", "treasury.view_paymentvoucher", group="国库集中支付")
        register_nav("合同备案", "/treasury/contracts/", "treasury.view_contract", group="国库集中支付")
        register_nav("实拨拨款", "/treasury/allocations/", "treasury.view_allocation", group="国库集中支付")
        register_nav("对账", "/treasury/reconciliation/", "treasury.view_reconciliationrun", group="国库集中支付")

        verify.register("treasury.spent", selectors.spent_problems)
        verify.register("treasury.paid_once", selectors.paid_twice_problems)
        verify.register("treasury.reservations", selectors.reservation_problems)
        verify.register("treasury.finance_books", selectors.finance_books_problems)

        handlers.register_all()
        try:
            from ibms.monitoring import sources
        except ImportError:
            sources = None
        if sources is not None:
            from .monitoring_context import payment_source

            sources.register_payment_source(payment_source)

        from .services import voucher_query_stuck

        outbox.periodic("treasury.query_stuck", 60)(voucher_query_stuck)
