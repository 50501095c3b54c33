"""What the year-end accounting steps share: the region's account sets of the year, the checklist items that name
a set, a refusal's text, and deterministic keys for event ids."""

from __future__ import annotations

from django.urls import reverse

from ibms.accounting.models import AccountSet
from ibms.core.audit import canonical
from ibms.core.crypto import sm3_hex
from ibms.core.errors import DomainError
from ibms.core.money import fen_to_str


def region_sets(region_code: str, year: int) -> list[AccountSet]:
    """Every account set of the region and year: the units' sets (by code), then the finance bureau's 总预算会计."""
    qs = AccountSet.objects.filter(region_code=region_code, year=year).select_related("chart", "unit")
    return (list(qs.filter(kind=AccountSet.Kind.UNIT).order_by("code"))
            + list(qs.filter(kind=AccountSet.Kind.FISCAL).order_by("code")))


def set_item(aset: AccountSet, label: str, kind: str, *, vouchers: bool = False) -> dict:
    url = (reverse("accounting:voucher-list") + f"?set={aset.pk}" if vouchers
           else reverse("accounting:set-detail", args=[aset.pk]))
    return {"label": f"{aset.name}：{label}", "url": url, "kind": kind, "account_set": aset.pk}


def why(exc: DomainError) -> str:
    return exc.message


def dim_key(dims: dict[str, str]) -> str:
    """A short deterministic key of a dimension combination (part of an event id)."""
    return sm3_hex(canonical(sorted((k, v) for k, v in dims.items() if v)).encode())[:16]


def yuan(fen: int) -> str:
    return fen_to_str(fen)
