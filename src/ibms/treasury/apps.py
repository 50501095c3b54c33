from django.apps import AppConfig

VIEW_MODELS = ("paymentrequest", "paymentvoucher", "contract", "refund", "allocation", "reconciliationrun",
               "recondifference")


def _perms(actions: tuple[str, ...], models: tuple[str, ...]) -> list[str]:
    return [f"treasury.{a}_{m}" for m in models for a in actions]


class TreasuryConfig(AppConfig):
    name = "ibms.treasury"
    label = "treasury"
    verbose_name = "国库集中支付"

    def ready(self) -> None:
        from ibms.core import outbox, verify
        from ibms.core.views import register_nav
        from ibms.iam.roles import grant

        from . import handlers, selectors

        view = _perms(("view",), VIEW_MODELS)
        # 单位经办: enter, submit, withdraw requests (reserving the indicator), register contracts
        grant("unit_clerk", [*view, "treasury.add_paymentrequest", "treasury.change_paymentrequest",
                             "treasury.submit_paymentrequest", "treasury.add_contract", "treasury.change_contract"])
        # 单位审核: review; a 退回 voids the reservation, the last approval signs and sends the voucher
        grant("unit_reviewer", [*view, "treasury.review_paymentrequest", "indicators.change_reservation"])
        # 国库处: review where the region's chain says so, 实拨, reconciliation, voucher queries/resend
        grant("treasury_division", [*view, "treasury.review_paymentrequest", "treasury.add_allocation",
                                    "treasury.add_reconciliationrun", "treasury.change_recondifference",
                                    "treasury.change_paymentvoucher", "treasury.add_contract"])
        for role in ("dept_reviewer", "dept_clerk", "oversight", "unit_head", "budget_division",
                     "accounting_division", "sector_division"):
            grant(role, view)

        register_nav("支付申请", "/treasury/", "treasury.view_paymentrequest", group="国库集中支付")
        register_nav("待我审核", "/treasury/review/", "treasury.review_paymentrequest", group="国库集中支付")
        register_nav("支付凭证", "/treasury/vouchers/", "treasury.view_paymentvoucher", group="国库集中支付")
        register_nav("合同备案", "/treasury/contracts/", "treasury.view_contract", group="国库集中支付")
        register_nav("实拨拨款", "/treasury/allocations/", "treasury.view_allocation", group="国库集中支付")
        register_nav("对账", "/treasury/reconciliation/", "treasury.view_reconciliationrun", group="国库集中支付")

        verify.register("treasury.spent", selectors.spent_problems)
        verify.register("treasury.paid_once", selectors.paid_twice_problems)
        verify.register("treasury.reservations", selectors.reservation_problems)

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
