from django.apps import AppConfig


class TreasuryConfig(AppConfig):
    name = "ibms.treasury"
    label = "treasury"
    verbose_name = "国库集中支付"

    def ready(self) -> None:
        from ibms.core import outbox, verify

        from . import handlers, selectors

        # menu: data/navigation/treasury.csv; the roles' permissions: data/policy/permissions/treasury.csv
        verify.register("treasury.spent", selectors.spent_problems)
        verify.register("treasury.paid_once", selectors.paid_twice_problems)
        verify.register("treasury.reservations", selectors.reservation_problems)
        verify.register("treasury.finance_books", selectors.finance_books_problems)
        verify.register("treasury.contract_plans", selectors.contract_plan_problems)

        handlers.register_all()
        from ibms.procurement.hooks import register_contract_port

        from .services.contract_port import ContractPort

        register_contract_port(ContractPort())  # 合同变更/终止 (procurement.changes) moves the contract through it
        from ibms.accounting import sources as accounting_sources

        for prefix in ("pay", "refund"):  # a posted voucher's page opens the payment behind it
            accounting_sources.register_source_link(prefix, selectors.voucher_source_link)
        try:
            from ibms.monitoring import sources
        except ImportError:
            sources = None
        if sources is not None:
            from .monitoring_context import payment_source

            sources.register_payment_source(payment_source)
            sources.register_subject_kind("payment_request", "支付申请")

        from .services import voucher_query_stuck

        outbox.periodic("treasury.query_stuck", 60)(voucher_query_stuck)
