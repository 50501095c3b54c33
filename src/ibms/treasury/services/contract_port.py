"""Treasury's side of a 合同变更/终止 (procurement.changes, through procurement.hooks.register_contract_port): find and
lock the contract, what each payment period already holds, and the two changes the contract takes — a new amount
and/or payment schedule, and 终止 (status 已终止: the payment controls refuse any further request against it,
`contract_not_active`). In the caller's transaction; the plan's freeze is moved by procurement.ledger."""

from __future__ import annotations

from django.db.models import Sum

from ibms.core import audit, workflow
from ibms.core.scoping import CHANGE, VIEW, get_in_scope
from ibms.core.transactions import in_callers_transaction

from ..models import Contract, PaymentRequest
from .contract_funds import OPEN_OR_PAID


class ContractPort:
    def find(self, actor, pk: int, *, write: bool) -> Contract:
        return get_in_scope(Contract.objects.select_related("unit", "plan"), actor, CHANGE if write else VIEW,
                            what="合同", pk=pk)

    def lock(self, pk: int) -> Contract:
        return Contract.objects.select_for_update().get(pk=pk)

    def milestone_use(self, contract: Contract) -> dict[int, int]:
        rows = (PaymentRequest.objects.filter(contract_id=contract.pk, status__in=OPEN_OR_PAID, milestone__isnull=False)
                .values_list("milestone").annotate(s=Sum("amount")).values_list("milestone", "s"))
        return {int(m): int(s or 0) for m, s in rows if s}

    @in_callers_transaction
    def amend(self, actor, contract: Contract, *, amount: int, schedule: list[dict], change_number: str) -> None:
        old = contract.amount
        audit.update_fields(contract, amount=amount, schedule=schedule)
        audit.record_event("treasury.contract_changed", obj=contract, region_code=contract.region_code,
                           payload={"change": change_number, "old_amount": old, "amount": amount})

    @in_callers_transaction
    def terminate(self, actor, contract: Contract, *, reason: str, change_number: str) -> None:
        workflow.transition(contract, Contract.Status.CLOSED,
                            transitions={Contract.Status.ACTIVE: {Contract.Status.CLOSED}},
                            event_code="treasury.contract_terminated", message=reason[:300],
                            payload={"change": change_number})
        audit.record_event("treasury.contract_closed", obj=contract, region_code=contract.region_code,
                           payload={"paid": contract.paid, "released": contract.amount - contract.committed,
                                    "change": change_number})
