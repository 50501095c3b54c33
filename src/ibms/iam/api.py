"""/api/v1/iam/: users, certificates and tokens. Thin: parse, call one service or selector, serialize.
Errors are DomainErrors rendered by the shared handler as {"code","message","detail"}."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import update_session_auth_hash
from django.utils import timezone
from ninja import Router, Schema, Status

from ibms.core.errors import PermissionDenied
from ibms.core.paging import Limit, Offset, window
from ibms.core.scoping import VIEW, get_in_scope

from . import selectors, services
from .models import Organization, User, UserCertificate

router = Router(tags=["用户与权限"])


class UserIn(Schema):
    """Opening an account: the password is generated (returned once) and roles are granted separately by the
    security administrator (三员分立); `password` and `roles` are refused when given."""

    username: str
    real_name: str = ""
    phone: str = ""
    organization_id: int | None = None
    password: str | None = None
    roles: list[str] | None = None


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


class UserCreatedOut(UserOut):
    must_change_password: bool
    initial_password: str  # returned once, at creation; the user must change it at first login


class RoleIn(Schema):
    role: str


class PasswordChangeIn(Schema):
    old_password: str
    new_password: str


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
    """A token for the caller themselves; `user_id`, when given, must be the caller's own."""

    user_id: int | None = None
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
def list_users(request, q: str = "", region_code: str = "", limit: Limit = 50, offset: Offset = 0):
    qs = selectors.user_list(actor=request.auth, q=q, region_code=region_code)
    items = []
    for u in window(qs, limit, offset):
        items.append(_user_out(u, sorted(g.role.code for g in u.groups.all() if hasattr(g, "role"))))
    return {"count": qs.count(), "items": items}


@router.post("/users", response={201: UserCreatedOut}, summary="开设账户（初始密码只返回这一次；角色由安全保密管理员授予）", operation_id="iam_user_create")
def create_user(request, payload: UserIn):
    org = None
    if payload.organization_id is not None:
        org = get_in_scope(Organization.objects.select_related("unit"), request.auth, VIEW, what="组织机构",
                           pk=payload.organization_id)
    user, initial = services.user_create(actor=request.auth, username=payload.username, password=payload.password,
                                         organization=org, roles=payload.roles, real_name=payload.real_name,
                                         phone=payload.phone)
    return Status(201, {**_user_out(user, []), "must_change_password": True, "initial_password": initial})


@router.post("/users/{int:user_id}/roles", response=UserOut, summary="授予角色（安全保密管理员）",
             operation_id="iam_role_grant")
def grant_role(request, user_id: int, payload: RoleIn):
    return _user_out(services.role_grant(actor=request.auth, user_id=user_id, role=payload.role))


@router.delete("/users/{int:user_id}/roles/{role}", response=UserOut, summary="撤销角色（安全保密管理员）",
               operation_id="iam_role_revoke")
def revoke_role(request, user_id: int, role: str):
    return _user_out(services.role_revoke(actor=request.auth, user_id=user_id, role=role))


def _not_by_token(request, what: str) -> None:
    if getattr(request, "ibms_api_token", None) is not None:
        raise PermissionDenied(f"接口令牌不能{what}，请登录后操作", code="not_with_token")


@router.post("/password", response={204: None}, summary="修改本人密码", operation_id="iam_password_change")
def change_password(request, payload: PasswordChangeIn):
    _not_by_token(request, "修改密码")
    user = services.password_change(actor=request.auth, old_password=payload.old_password,
                                    new_password=payload.new_password)
    update_session_auth_hash(request, user)  # the session stays valid with the new password
    return Status(204, None)


@router.post("/users/{int:user_id}/certificates", response={201: CertificateOut}, summary="绑定 SM2 证书公钥",
             operation_id="iam_certificate_bind")
def bind_certificate(request, user_id: int, payload: CertificateIn):
    cert: UserCertificate = services.certificate_bind(actor=request.auth, user_id=user_id,
                                                      public_key_pem=payload.public_key_pem, subject=payload.subject)
    return Status(201, cert)


@router.post("/tokens", response={201: TokenOut}, summary="为本人签发接口令牌（令牌值只返回这一次）",
             operation_id="iam_token_issue")
def issue_token(request, payload: TokenIn):
    _not_by_token(request, "签发令牌")
    tok, raw = services.token_issue(actor=request.auth, user_id=payload.user_id, name=payload.name,
                                    expires_at=payload.expires_at)
    return Status(201, {"id": tok.pk, "user_id": tok.user_id, "name": tok.name, "prefix": tok.prefix,
                        "expires_at": tok.expires_at, "token": raw})


@router.delete("/tokens/{int:token_id}", response={204: None}, summary="吊销接口令牌", operation_id="iam_token_revoke")
def revoke_token(request, token_id: int):
    services.token_revoke(actor=request.auth, token_id=token_id)
    return Status(204, None)
