"""Hooks for what the bank sends us. Upper apps (treasury) register one handler per kind::

    from ibms.banks import inbound
    inbound.register("receipt", on_receipt)   # fn(msg: InboundMessage) -> None

Kinds: ``ack`` (our voucher was accepted / rejected / duplicate, or ``unknown`` after a timeout or a lost
connection), ``receipt``, ``return``, ``refund``, ``clearing``, ``statement``, ``status``. The handler runs in the
transaction that records the BankMessage as applied, so it is applied exactly once; raising :class:`Defer` rolls
the handler's writes back and leaves the message pending for a later poll (e.g. a refund seen before its receipt).
Any other exception does the same and is logged. Messages whose bank seal does not verify never reach a handler.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

KINDS = ("ack", "receipt", "return", "refund", "clearing", "statement", "status")
_handlers: dict[str, Callable[[InboundMessage], None]] = {}


class Defer(Exception):  # noqa: N818 - a control signal, not an error
    """Raised by a handler: not now — keep the message pending and try again on a later poll."""


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
