"""Bank interface services: endpoints and seal keys (:mod:`.endpoints`), the persons who sign vouchers with their own
keys (:mod:`.signers`), sending vouchers (:mod:`.outbound`), reading the bank's feed (:mod:`.feed`), status queries
and statements (:mod:`.queries`); HTTP and its failure modes in :mod:`.transport`. Importing this package registers
the outbox handlers ``banks.send`` and ``banks.signers`` and the periodic ``banks.poll``.

Nothing here talks to the bank inside a transaction except the outbox handler (see :func:`.outbound._send`).
"""

from .endpoints import endpoint_register, signing_key_ensure_for_finance, signing_key_ensure_for_unit
from .feed import (
    FEED_KINDS,
    POLL_LOCK,
    endpoint_poll,
    endpoint_poll_all,
    message_reapply,
    message_receive,
    message_retry_deferred,
)
from .outbound import SEND_TOPIC, voucher_dispatch
from .queries import (
    BankAnswer,
    account_statement_fetch,
    bank_answer_apply,
    statement_fetch,
    voucher_query,
    voucher_status_fetch,
)
from .signers import PersonalSigner, pin_violations, signer_enrol, signer_record, signer_revoke, signer_unlock
from .transport import BankUnavailable, OutcomeUnknown

__all__ = [
    "FEED_KINDS",
    "POLL_LOCK",
    "SEND_TOPIC",
    "BankAnswer",
    "BankUnavailable",
    "OutcomeUnknown",
    "PersonalSigner",
    "account_statement_fetch",
    "bank_answer_apply",
    "endpoint_poll",
    "endpoint_poll_all",
    "endpoint_register",
    "message_reapply",
    "message_receive",
    "message_retry_deferred",
    "pin_violations",
    "signer_enrol",
    "signer_record",
    "signer_revoke",
    "signer_unlock",
    "signing_key_ensure_for_finance",
    "signing_key_ensure_for_unit",
    "statement_fetch",
    "voucher_dispatch",
    "voucher_query",
    "voucher_status_fetch",
]
