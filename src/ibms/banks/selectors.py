"""Reads for the bank interface pages and API: lists start from `permitted(actor)` (403 without the view
permission), one message from `get_in_scope`, the rest from `restrict(actor)`."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from django.db.models import Count

from ibms.core.errors import invalid
from ibms.core.scoping import VIEW, get_in_scope

from .models import BankEndpoint, BankMessage, Signer

PRETTY_LIMIT = 400_000  # characters shown of a raw message (a 10,000-line batch is ~1.6 MB)


def message_list(*, actor, direction: str = "", kind: str = "", status: str = "", voucher_no: str = "",
             region_code: str = "", endpoint_id: int | None = None):
    qs = BankMessage.objects.permitted(actor).select_related("endpoint").defer("raw_xml")
    if direction:
        qs = qs.filter(direction=direction)
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    if voucher_no:
        qs = qs.filter(voucher_no__icontains=voucher_no.strip())
    if region_code:
        qs = qs.filter(region_code=region_code)
    if endpoint_id:
        qs = qs.filter(endpoint_id=endpoint_id)
    return qs.order_by("-id")


def message_get(*, actor, pk: int) -> BankMessage:
    return get_in_scope(BankMessage.objects.select_related("endpoint", "related"), actor, VIEW, what="银行报文", pk=pk)


def message_related_list(*, actor, msg: BankMessage):
    """The other messages of the same voucher (or refund / clearing), oldest first."""
    return (BankMessage.objects.restrict(actor, VIEW).filter(region_code=msg.region_code, year=msg.year,
                                                              voucher_no=msg.voucher_no)
            .exclude(pk=msg.pk).defer("raw_xml").order_by("id"))


def endpoint_list(*, actor):
    return BankEndpoint.objects.permitted(actor).order_by("region_code", "agent_bank_code")


def endpoint_find(region_code: str, agent_bank_code: str | None = None) -> BankEndpoint:
    """The one enabled endpoint of the region (and agent bank); refused when there is none or, without a bank
    code, more than one."""
    qs = BankEndpoint.objects.filter(region_code=region_code, enabled=True)
    if agent_bank_code:
        qs = qs.filter(agent_bank_code=agent_bank_code)
    eps = list(qs[:2])
    if len(eps) != 1:
        raise invalid("no_bank_endpoint", f"财政区划 {region_code} 未登记代理银行 {agent_bank_code or ''} 的接口".replace(
            "  ", " "), "agent_bank_code")
    return eps[0]


def pretty_xml(raw: str) -> str:
    """Indented XML for reading; the raw text itself when it is not well-formed, has a DTD or is huge."""
    if len(raw) > PRETTY_LIMIT or "<!DOCTYPE" in raw.upper() or "<!ENTITY" in raw.upper():
        return raw[:PRETTY_LIMIT] + ("\n…（报文过长，已截断）" if len(raw) > PRETTY_LIMIT else "")
    try:
        root = ET.fromstring(raw.encode("utf-8"))  # noqa: S314 - DTDs/entities excluded above
    except ET.ParseError:
        return raw
    ET.indent(root)
    return ET.tostring(root, encoding="unicode")


def message_problems() -> list[str]:
    """`ibms verify`: an inbound message applied without a verified bank seal, or an identity applied twice."""
    problems = [f"bank message {m.pk} ({m.kind} {m.voucher_no}) applied without a verified bank seal"
                for m in BankMessage.objects.filter(direction="in", status="applied").exclude(verified=True)
                .only("pk", "kind", "voucher_no")]
    dupes = (BankMessage.objects.filter(direction="in", status="applied", kind__in=("receipt", "return"))
             .values("region_code", "year", "voucher_no", "kind").annotate(n=Count("id")).filter(n__gt=1))
    problems += [f"bank {d['kind']} of voucher {d['region_code']}/{d['year']}/{d['voucher_no']} applied {d['n']} times"
                 for d in dupes]
    return problems


def signer_list(*, actor, status: str = ""):
    """The signers in the actor's scope (403 without ``banks.view_signer``)."""
    qs = Signer.objects.permitted(actor).select_related("unit", "user").defer("key_blob")
    return qs.filter(status=status) if status else qs


def signer_mine(*, actor):
    """The actor's own signer records, newest first (everyone may see their own)."""
    return Signer.objects.filter(user_id=getattr(actor, "pk", None)).defer("key_blob").order_by("-created_at")
