"""The business document behind a posted voucher: an upper app registers, per event-id prefix (`pay:…`), how to
name and open it, so the voucher page drills down to the payment without accounting knowing the treasury."""

from __future__ import annotations

from collections.abc import Callable

SourceLink = Callable[[str], "tuple[str, str] | None"]  # event id → (label, address) or None
_links: dict[str, SourceLink] = {}


def register_source_link(prefix: str, fn: SourceLink) -> None:
    _links[prefix] = fn


def source_link(event_id: str) -> tuple[str, str] | None:
    fn = _links.get((event_id or "").split(":", 1)[0])
    return fn(event_id) if fn is not None else None
