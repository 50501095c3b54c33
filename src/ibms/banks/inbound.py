"""Hooks for what the bank sends us. Upper apps (treasury) register one handler per kind::

    from ibms.banks import inbound
    inbound.register("receipt", on_receipt)   # fn(msg: InboundMessage) -> None

Kinds: ``ack`` (our voucher was accepted / rejected / duplicate, or ``unknown`` after a timeout or a lost
connection), ``receipt``, ``return``, ``refund``, ``clearing``, ``statement``, ``status``. The handler runs in the
transaction that records the BankMessage as applied, so it is applied exactly once; raising :class:`Defer` rolls
the handler's writes back and leaves the message pending for a later poll (e.g. a refund seen before its receipt).
Any other exception does the same and is logged, up to ``IBMS_BANK_MAX_ATTEMPTS`` times. Raising
:class:`Quarantine` (a message for a voucher we never issued, a receipt that cannot be applied) rolls the
handler's writes back too, marks the message ``quarantine`` — never applied, never retried on its own — and hands
it to the quarantine hook (treasury records it as a reconciliation difference someone must look at); so does a
handler that keeps failing. Messages whose bank seal does not verify never reach a handler.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

KINDS = ("ack", "receipt", "return", "refund", "clearing", "statement", "status")
_handlers: dict[str, Callable[[InboundMessage], None]] = {}


class Defer(Exception):  # noqa: N818 - a control signal, not an error
    """Raised by a handler: not now — keep the message pending and try again on a later poll."""


class Quarantine(Exception):  # noqa: N818 - a control signal, not an error
    """Raised by a handler: this message can't be applied — hold it for a person (stable `code`, Chinese reason)."""

    def __init__(self, code: str, reason: str):
        super().__init__(f"{code}: {reason}")
        self.code, self.reason = code, reason


_quarantine_hook: list[Callable[[InboundMessage, str, str], None]] = []


def register_quarantine(fn: Callable[[InboundMessage, str, str], None]) -> None:
    """fn(msg, code, reason), run in the transaction that marks the message quarantined."""
    _quarantine_hook[:] = [fn]


def quarantine_hook() -> Callable[[InboundMessage, str, str], None] | None:
    return _quarantine_hook[0] if _quarantine_hook else None


@dataclass(frozen=True)
class InboundMessage:
    kind: str
    vt_code: str
    voucher_no: str  # the voucher's number (refund: the refund no; clearing: the clearing no; statement: its no)
    region_code: str
    year: int
    fields: dict = field(default_factory=dict)  # header fields; every *Amt is int fen, *Date "YYYY-MM-DD"
    details: list = field(default_factory=list)  # detail lines, same value rules
    message_id: int | None = None  # BankMessage pk of the inbound record (None for a synthesized `unknown` ack)
    outbound_id: int | None = None  # ack: BankMessage pk of the voucher message it answers


def register(kind: str, fn: Callable[[InboundMessage], None]) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown inbound kind {kind!r}")
    _handlers[kind] = fn


def unregister(kind: str) -> None:
    _handlers.pop(kind, None)


@contextlib.contextmanager
def override(kind: str, fn: Callable[[InboundMessage], None] | None) -> Iterator[None]:
    """Temporarily replace a kind's handler (tests); the previous one is restored afterwards."""
    before = _handlers.get(kind)
    if fn is None:
        _handlers.pop(kind, None)
    else:
        register(kind, fn)
    try:
        yield
    finally:
        if before is None:
            _handlers.pop(kind, None)
        else:
            _handlers[kind] = before


def handler_for(kind: str) -> Callable[[InboundMessage], None] | None:
    return _handlers.get(kind)
