"""/api/v1/banks/: bank messages (list, detail with raw XML and seal results), endpoints (list, register), a voucher
status query and the daily statement fetch, signers (list, one's own, enrol one's own key under a PIN, revoke).
Money as yuan strings; the query/statement answers are the parsed, verified bank messages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Router, Schema, Status

from ibms.core.errors import Conflict
from ibms.core.money import fen_to_str
from ibms.core.paging import Limit, Offset, window
from ibms.core.scoping import check_write_scope, require_perm

from . import selectors, services
from .inbound import InboundMessage
from .models import BankEndpoint, BankMessage, Signer

router = Router(tags=["银行接口"])


class MessageOut(Schema):
    id: int
    direction: str
    kind: str
    agent_bank_code: str
    region_code: str
    year: int
    vt_code: str
    voucher_no: str
    msg_id: str
    seq: int | None
    amount: str
    verified: bool | None
    status: str
    result_code: str
    error: str
    related_id: int | None
    created_at: dt.datetime
    applied_at: dt.datetime | None


class MessageDetailOut(MessageOut):
    digest: str
    verify_result: dict
    raw_xml: str


class MessagePage(Schema):
    count: int
    items: list[MessageOut]


class EndpointOut(Schema):
    id: int
    region_code: str
    agent_bank_code: str
    name: str
    base_url: str
    bank_fingerprint: str
    timeout_seconds: float
    enabled: bool
    last_seq: int


class EndpointIn(Schema):
    region_code: str
    agent_bank_code: str
    base_url: str
    name: str = ""
    timeout_seconds: float = 10.0
    admin_token: str = ""
    public_pem: str = ""


class QueryIn(Schema):
    region_code: str
    year: int
    voucher_no: str
    agent_bank_code: str | None = None


class StatementIn(Schema):
    agent_bank_code: str
    date: dt.date
    region_code: str | None = None


class BankAnswerOut(Schema):
    kind: str
    vt_code: str
    voucher_no: str
    region_code: str
    year: int
    message_id: int | None
    fields: dict[str, Any]
    details: list[dict[str, Any]]


class SignerOut(Schema):
    id: int
    region_code: str
    kind: str
    user_id: int
    name: str
    unit_code: str
    role: str
    provider: str
    fingerprint: str
    public_pem: str
    status: str
    valid_from: dt.datetime
    valid_to: dt.datetime
    revoked_at: dt.datetime | None
    created_at: dt.datetime


class SignerEnrolIn(Schema):
    pin: str
    pin_confirm: str | None = None


class SignerRevokeIn(Schema):
    reason: str = ""


def _signer(x: Signer) -> dict:
    return {"id": x.pk, "region_code": x.region_code, "kind": x.kind, "user_id": x.user_id, "name": x.name,
            "unit_code": x.unit_code, "role": x.role, "provider": x.provider, "fingerprint": x.fingerprint,
            "public_pem": x.public_pem, "status": x.status, "valid_from": x.valid_from, "valid_to": x.valid_to,
            "revoked_at": x.revoked_at, "created_at": x.created_at}


def _msg(m: BankMessage) -> dict:
    return {"id": m.pk, "direction": m.direction, "kind": m.kind, "agent_bank_code": m.endpoint.agent_bank_code,
            "region_code": m.region_code, "year": m.year, "vt_code": m.vt_code, "voucher_no": m.voucher_no,
            "msg_id": m.msg_id, "seq": m.seq, "amount": fen_to_str(m.amount), "verified": m.verified,
            "status": m.status, "result_code": m.result_code, "error": m.error, "related_id": m.related_id,
            "created_at": m.created_at, "applied_at": m.applied_at}


def _yuan_values(row: dict) -> dict:
    return {k: fen_to_str(v) if k.endswith("Amt") and isinstance(v, int) else v for k, v in row.items()}


def _answer(a: InboundMessage | None) -> dict:
    if a is None:
        raise Conflict("bank_message_rejected", "银行应答未通过验签，已拒收并记录")
    return {"kind": a.kind, "vt_code": a.vt_code, "voucher_no": a.voucher_no, "region_code": a.region_code,
            "year": a.year, "message_id": a.message_id, "fields": _yuan_values(a.fields),
            "details": [_yuan_values(d) for d in a.details]}


def _endpoint(e: BankEndpoint) -> dict:
    cursor = getattr(e, "cursor", None)
    return {"id": e.pk, "region_code": e.region_code, "agent_bank_code": e.agent_bank_code, "name": e.name,
            "base_url": e.base_url, "bank_fingerprint": e.bank_fingerprint, "timeout_seconds": e.timeout_seconds,
            "enabled": e.enabled, "last_seq": cursor.last_seq if cursor else 0}


@router.get("/messages", response=MessagePage, summary="银行报文列表", operation_id="bank_message_list")
def list_messages(request, direction: str = "", kind: str = "", status: str = "", voucher_no: str = "",
                  region_code: str = "", limit: Limit = 50, offset: Offset = 0):
    qs = selectors.message_list(actor=request.auth, direction=direction, kind=kind, status=status,
                            voucher_no=voucher_no, region_code=region_code)
    return {"count": qs.count(), "items": [_msg(m) for m in window(qs, limit, offset)]}


@router.get("/messages/{int:pk}", response=MessageDetailOut, summary="银行报文详情（原文、签章与验签结果）",
            operation_id="bank_message_get")
def get_message(request, pk: int):
    m = selectors.message_get(actor=request.auth, pk=pk)
    return {**_msg(m), "digest": m.digest, "verify_result": m.verify_result or {}, "raw_xml": m.raw_xml}


@router.get("/endpoints", response=list[EndpointOut], summary="代理银行接口", operation_id="bank_endpoint_list")
def list_endpoints(request):
    return [_endpoint(e) for e in selectors.endpoint_list(actor=request.auth).select_related("cursor")]


@router.post("/endpoints", response={201: EndpointOut}, summary="登记代理银行接口（获取银行公钥）",
             operation_id="bank_endpoint_register")
def register_endpoint(request, payload: EndpointIn):
    e = services.endpoint_register(actor=request.auth, agent_bank_code=payload.agent_bank_code,
                                   region_code=payload.region_code, base_url=payload.base_url, name=payload.name,
                                   timeout_seconds=payload.timeout_seconds, admin_token=payload.admin_token,
                                   public_pem=payload.public_pem)
    return Status(201, _endpoint(BankEndpoint.objects.select_related("cursor").get(pk=e.pk)))


@router.post("/vouchers/query", response=BankAnswerOut, summary="向代理银行查询凭证状态",
             operation_id="bank_voucher_query")
def query_voucher(request, payload: QueryIn):
    require_perm(request.auth, "banks.change_bankmessage")
    check_write_scope(request.auth, region_code=payload.region_code)
    return _answer(services.voucher_query(actor=request.auth, region_code=payload.region_code, year=payload.year,
                                          voucher_no=payload.voucher_no, agent_bank_code=payload.agent_bank_code))


@router.post("/statements/fetch", response=BankAnswerOut, summary="获取代理银行日对账单",
             operation_id="bank_statement_fetch")
def fetch_statement(request, payload: StatementIn):
    require_perm(request.auth, "banks.change_bankmessage")
    return _answer(services.statement_fetch(actor=request.auth, agent_bank_code=payload.agent_bank_code,
                                            date=payload.date, region_code=payload.region_code))


@router.get("/signers", response=list[SignerOut], summary="签名人列表", operation_id="bank_signer_list")
def list_signers(request, status: str = ""):
    return [_signer(x) for x in selectors.signer_list(actor=request.auth, status=status)[:500]]


@router.get("/signers/me", response=list[SignerOut], summary="我的签名证书", operation_id="bank_signer_mine")
def my_signers(request):
    return [_signer(x) for x in selectors.signer_mine(actor=request.auth)[:50]]


@router.post("/signers", response={201: SignerOut}, summary="登记本人签名证书（私钥以签名口令加密保存）",
             operation_id="bank_signer_enrol")
def enrol_signer(request, payload: SignerEnrolIn):
    return Status(201, _signer(services.signer_enrol(actor=request.auth, pin=payload.pin,
                                                     pin_confirm=payload.pin_confirm)))


@router.post("/signers/{int:pk}/revoke", response=SignerOut, summary="注销签名证书", operation_id="bank_signer_revoke")
def revoke_signer(request, pk: int, payload: SignerRevokeIn):
    return _signer(services.signer_revoke(actor=request.auth, pk=pk, reason=payload.reason))
