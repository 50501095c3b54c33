"""Asking the bank: a voucher's state (``GET /api/vouchers/…``) and the daily statement (``GET /api/statements``).
The bank is asked over HTTP outside any transaction; its signed answer is then recorded once and handed to its
handler (``status`` / ``statement``) inside one."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

from django.db import transaction

from ibms.core.errors import Conflict, invalid
from ibms.core.scoping import check_write_scope, require_perm
from ibms.core.transactions import in_callers_transaction

from .. import inbound, protocol
from ..models import BankEndpoint, BankMessage
from ..selectors import endpoint_find
from .feed import _inbound_of, message_receive
from .transport import BankUnavailable, OutcomeUnknown, _http, _trusted, _url


@dataclass(frozen=True)
class BankAnswer:
    """A signed answer fetched from the bank, not yet verified or recorded."""

    endpoint: BankEndpoint
    kind: str
    raw: str


def _endpoint_of_voucher(region_code: str, year: int, voucher_no: str, agent_bank_code: str | None) -> BankEndpoint:
    if agent_bank_code:
        return endpoint_find(region_code, agent_bank_code)
    out = (BankMessage.objects.filter(direction=BankMessage.Direction.OUT, kind="voucher",
                                      identity=f"{region_code}/{year}/{voucher_no}").select_related("endpoint").first())
    return out.endpoint if out else endpoint_find(region_code)


def _fetch(ep: BankEndpoint, path: str, kind: str, what: str) -> BankAnswer:
    try:
        status, body = _http("GET", _url(ep, path), timeout=ep.timeout_seconds)
    except (BankUnavailable, OutcomeUnknown) as exc:
        raise Conflict("bank_unreachable", f"代理银行暂时无法连接，请稍后再{what}", str(exc)) from None
    if status != 200:
        raise Conflict("bank_unreachable", f"代理银行{what}失败（HTTP {status}）")
    return BankAnswer(ep, kind, body.decode("utf-8", "replace"))


@in_callers_transaction
def bank_answer_apply(answer: BankAnswer) -> inbound.InboundMessage | None:
    """Verify and record a fetched answer and hand it to its handler (:func:`.feed.message_receive`), inside
    the caller's transaction. None when it did not verify (recorded as rejected)."""
    with transaction.atomic():
        outcome, row = message_receive(answer.endpoint, answer.raw, kinds=frozenset({answer.kind}))
        if outcome == "rejected" or row is None:
            return None
        return _inbound_of(row, protocol.parse(row.raw_xml.encode("utf-8")))


def voucher_status_fetch(*, actor, region_code: str, year: int, voucher_no: str,
                         agent_bank_code: str | None = None) -> BankAnswer:
    """Ask the bank for a voucher's state, over HTTP: call it before (outside) the transaction that applies the
    answer with :func:`bank_answer_apply`. An unreachable bank raises Conflict ``bank_unreachable``. The actor must
    be able to write in the voucher's region (the answer changes the voucher's state)."""
    check_write_scope(actor, region_code=region_code)
    ep = _endpoint_of_voucher(region_code, year, voucher_no, agent_bank_code)
    return _fetch(ep, f"/api/vouchers/{region_code}/{int(year)}/{urllib.parse.quote(voucher_no, safe='')}",
                  "status", "查询")


def voucher_query(*, actor, region_code: str, year: int, voucher_no: str,
                  agent_bank_code: str | None = None) -> inbound.InboundMessage | None:
    """Ask the bank for a voucher's state and apply the signed answer (``status`` handler) in this service's own
    transaction. Returns the answer, or None when it did not verify (recorded as rejected)."""
    answer = voucher_status_fetch(actor=actor, region_code=region_code, year=year, voucher_no=voucher_no,
                                  agent_bank_code=agent_bank_code)
    with transaction.atomic(durable=True):
        return bank_answer_apply(answer)


def statement_fetch(*, actor, agent_bank_code: str, date, region_code: str | None = None
                    ) -> inbound.InboundMessage | None:
    """Fetch the bank's signed daily statement (对账单) for ``date``; recorded once per distinct content and handed
    to the ``statement`` handler in this service's own transaction."""
    require_perm(actor, "banks.view_bankmessage")
    qs = BankEndpoint.objects.restrict(actor).filter(agent_bank_code=agent_bank_code, enabled=True)
    eps = list((qs if region_code is None else qs.filter(region_code=region_code))[:2])
    if not eps:
        raise invalid("no_bank_endpoint", f"未登记代理银行 {agent_bank_code} 的接口", "agent_bank_code")
    if len(eps) > 1:
        raise invalid("no_bank_endpoint", f"请指定财政区划（代理银行 {agent_bank_code}）", "region_code")
    ep = eps[0]
    day = date.isoformat() if hasattr(date, "isoformat") else str(date)
    answer = _fetch(ep, f"/api/statements?adm={ep.region_code}&date={urllib.parse.quote(day)}", "statement",
                    "获取对账单")
    with transaction.atomic(durable=True):
        return bank_answer_apply(answer)


def account_statement_fetch(*, region_code: str, agent_bank_code: str | None, account_no: str, date
                            ) -> protocol.Message:
    """Fetch one account's signed daily statement (对账单, VT 4005, ``GET /api/statements?…&account=``) over HTTP
    and verify the bank's seal; the verified message is returned to the caller (unitfunds stores its lines once per
    bank serial), not recorded as a BankMessage nor handed to the region's ``statement`` handler. Call it outside
    any transaction. Unreachable bank → Conflict ``bank_unreachable``; a bad seal or form → ``bank_message_invalid``."""
    ep = endpoint_find(region_code, agent_bank_code or None)
    day = date.isoformat() if hasattr(date, "isoformat") else str(date)
    answer = _fetch(ep, f"/api/statements?adm={ep.region_code}&date={urllib.parse.quote(day)}"
                        f"&account={urllib.parse.quote(account_no, safe='')}", "statement", "获取账户对账单")
    try:
        msg = protocol.parse(answer.raw.encode("utf-8"))
        check = protocol.verify(msg, _trusted(ep), required_kinds=("bank",))
    except protocol.ProtocolError as exc:
        raise Conflict("bank_message_invalid", "代理银行的账户对账单格式有误，未读入", exc.code) from None
    if not check.ok or msg.kind != "statement" or msg.fields.get("AcctNo") != account_no:
        raise Conflict("bank_message_invalid", "代理银行的账户对账单未通过验签，未读入", check.code or msg.kind)
    return msg
