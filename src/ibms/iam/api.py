"""/api/v1/iam/: users, certificates and tokens. Thin: parse, call one service or selector, serialize.
Errors are DomainErrors rendered by the shared handler as {"code","message","detail"}."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from ninja import Router, Schema, Status

from ibms.core.scoping import VIEW, get_in_scope

from . import selectors, services
from .models import Organization, User, UserCertificate

router = Router(tags=["用户与权限"])
MAX_LIMIT = 500


class UserIn(Schema):
    username: str
    password: str
    real_name: str = ""
    phone: str = ""
    organization_id: int | None = None
    roles: list[str] = []


class UserOut(Schema):
    id: int
    username: str
    real_name: str
    organization_id: int | None
    organization: str
    region_code: str
    roles: list[str]
    is_active: bool
    locked: bool


class UserPage(Schema):
    count: int
    items: list[UserOut]


class CertificateIn(Schema):
    public_key_pem: str
    subject: str = ""


class CertificateOut(Schema):
    id: int
    user_id: int
    fingerprint: str
    subject: str
    bound_at: dt.datetime


class TokenIn(Schema):
    user_id: int
    name: str
    expires_at: dt.datetime | None = None


class TokenOut(Schema):
    id: int
    user_id: int
    name: str
    prefix: str
    expires_at: dt.datetime | None
    token: str  # returned once, at issue; never retrievable again


def _user_out(u: User, roles: list[str] | None = None) -> dict:
    return {"id": u.pk, "username": u.username, "real_name": u.real_name, "organization_id": u.organization_id,
            "organization": u.organization.name if u.organization_id else "", "region_code": u.region_code,
            "roles": roles if roles is not None else sorted(u.role_codes), "is_active": u.is_active,
            "locked": bool(u.locked_until and u.locked_until > timezone.now())}


@router.get("/users", response=UserPage, summary="用户列表（数据权限范围内）", operation_id="iam_user_list")
def list_users(request, q: str = "", region_code: str = "", limit: int = 50, offset: int = 0):
    qs = selectors.user_list(actor=request.auth, q=q, region_code=region_code)
    limit = max(1, min(limit, MAX_LIMIT))
    items = []
    for u in qs[max(0, offset):max(0, offset) + limit]:
        items.append(_user_out(u, sorted(g.role.code for g in u.groups.all() if hasattr(g, "role"))))
    return {"count": qs.count(), "items": items}


@router.post("/users", response={201: UserOut}, summary="新增用户", operation_id="iam_user_create")
def create_user(request, payload: UserIn):
    org = None
    if payload.organization_id is not None:
        org = get_in_scope(Organization.objects.select_related("unit"), request.auth, VIEW, what="组织机构",
                           pk=payload.organization_id)
    user = services.user_create(actor=request.auth, username=payload.username, password=payload.password,
                                organization=org, roles=payload.roles, real_name=payload.real_name,
                                phone=payload.phone)
    return Status(201, _user_out(user))


@router.post("/users/{int:user_id}/certificates", response={201: CertificateOut}, summary="绑定 SM2 证书公钥",
             operation_id="iam_certificate_bind")
def bind_certificate(request, user_id: int, payload: CertificateIn):
    cert: UserCertificate = services.certificate_bind(actor=request.auth, user_id=user_id,
                                                      public_key_pem=payload.public_key_pem, subject=payload.subject)
    return Status(201, cert)


@router.post("/tokens", response={201: TokenOut}, summary="签发接口令牌（令牌值只返回这一次）",
             operation_id="iam_token_issue")
def issue_token(request, payload: TokenIn):
    tok, raw = services.token_issue(actor=request.auth, user_id=payload.user_id, name=payload.name,
                                    expires_at=payload.expires_at)
    return Status(201, {"id": tok.pk, "user_id": tok.user_id, "name": tok.name, "prefix": tok.prefix,
                        "expires_at": tok.expires_at, "token": raw})


@router.delete("/tokens/{int:token_id}", response={204: None}, summary="吊销接口令牌", operation_id="iam_token_revoke")
def revoke_token(request, token_id: int):
    services.token_revoke(actor=request.auth, token_id=token_id)
    return Status(204, None)
