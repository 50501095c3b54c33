"""Set-up data this app needs in every deployment (approval chains, value sets, rules), idempotent."""

from ibms.core.workflow import approval_steps, set_chain


def setup_app(years: list[int]) -> None:
    from .services import DEFAULT_REALLOCATION_CHAIN, DEFAULT_TRANSFER_CHAIN, DOC_REALLOCATION, DOC_TRANSFER

    # default chains ('' = every region); a region's own chain, once set, is left alone
    for doc_type, name, steps in ((DOC_REALLOCATION, "指标调剂审批", DEFAULT_REALLOCATION_CHAIN),
                                  (DOC_TRANSFER, "转移支付接收", DEFAULT_TRANSFER_CHAIN)):
        if not approval_steps(doc_type, ""):
            set_chain(doc_type, "", name, steps)
