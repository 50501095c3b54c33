"""User administration pages: thin — parse, call one service or selector, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from ibms.core import excel
from ibms.core.errors import Conflict, ValidationFailed, Violation, invalid
from ibms.core.scoping import CHANGE, require_perm
from ibms.core.views import xlsx_response

from . import passwords, selectors, services
from .forms import CertificateBindForm, PasswordChangeForm, RoleGrantForm, TokenIssueForm, UserCreateForm
from .models import User

USER_COLUMNS = [excel.Column("username", "用户名"), excel.Column("real_name", "姓名"),
                excel.Column("org", "所属机构"), excel.Column("region", "财政区划"), excel.Column("roles", "角色"),
                excel.Column("active", "启用", kind="bool")]


def _apply_errors(form, exc: ValidationFailed | Conflict, fields: dict[str, str] | None = None) -> list[str]:
    """Put each violation on its field when the form has it (`fields` maps a service field to the form's); return
    the rest for the error box."""
    rest: list[str] = []
    violations = getattr(exc, "violations", None) or [
        Violation(exc.code, exc.message, "username" if exc.code == "username_taken" else "")]
    for v in violations:
        name = (fields or {}).get(v.field, v.field)
        if name in form.fields:
            form.add_error(name, v.message)
        else:
            rest.append(v.message)
    return rest


@login_required
def user_list(request):
    q = request.GET.get("q", "").strip()
    qs = selectors.user_list(actor=request.user, q=q, region_code=request.GET.get("region", "").strip())
    if request.GET.get("export") == "xlsx":
        rows = ({"username": u.username, "real_name": u.real_name,
                 "org": u.organization.name if u.organization_id else "",
                 "region": u.organization.region_code if u.organization_id else "",
                 "roles": "、".join(selectors.role_names(u)), "active": u.is_active} for u in qs.iterator(chunk_size=2000))
        return xlsx_response(excel.export_rows(USER_COLUMNS, rows, title="用户"), "用户.xlsx")
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    rows = [(u, selectors.role_names(u)) for u in page.object_list]
    return render(request, "iam/user_list.html", {
        "page": page, "rows": rows, "q": q, "now": timezone.now(), "page_title": "用户管理",
        "can_add": request.user.has_perm("iam.add_user")})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def user_create(request):
    require_perm(request.user, "iam.add_user")
    errors: list[str] = []
    if request.method == "POST":
        form = UserCreateForm(request.POST, user=request.user)
        if form.is_valid():
            d = form.cleaned_data
            try:
                user, initial = services.user_create(actor=request.user, username=d["username"],
                                                     organization=d["organization"], real_name=d["real_name"],
                                                     phone=d["phone"])
            except (ValidationFailed, Conflict) as exc:
                errors = _apply_errors(form, exc)
            else:
                # The only time the initial password is ever shown; the user must change it at first login.
                return render(request, "iam/user_created.html", {"obj": user, "initial_password": initial,
                                                                 "page_title": "账户已开设"})
    else:
        form = UserCreateForm(user=request.user)
    return render(request, "iam/user_form.html", {"form": form, "errors": errors, "page_title": "新增用户"},
                  status=422 if request.method == "POST" else 200)


@login_required
def user_detail(request, pk: int):
    user = selectors.user_get(actor=request.user, pk=pk)
    actor = request.user
    in_change_scope = User.objects.restrict(actor, CHANGE).filter(pk=pk).exists()
    can_grant = in_change_scope and actor.has_perm("iam.grant_role") and user.pk != actor.pk
    return render(request, "iam/user_detail.html", {
        "obj": user, "roles": selectors.roles_of(user), "now": timezone.now(), "page_title": f"用户：{user}",
        "tokens": selectors.tokens_of(actor=actor, user=user),
        "certificates": selectors.certificates_of(actor=actor, user=user),
        "show_tokens": actor.has_perm("iam.view_apitoken"),
        "show_certificates": actor.has_perm("iam.view_usercertificate"),
        "can_unlock": in_change_scope and actor.has_perm("iam.unlock_user"),
        "can_grant": can_grant, "grant_form": RoleGrantForm(target=user) if can_grant else None,
        "can_revoke_token": in_change_scope and actor.has_perm("iam.change_apitoken"),
        "can_bind": in_change_scope and actor.has_perm("iam.add_usercertificate"),
    })


@login_required
@require_POST
def role_grant(request, pk: int):
    form = RoleGrantForm(request.POST)
    if not form.is_valid():
        raise invalid("role_required", "请选择要授予的角色", "role")
    role = form.cleaned_data["role"]
    user = services.role_grant(actor=request.user, user_id=pk, role=role.code)
    messages.success(request, f"已为 {user.username} 授予角色 {role.name}")
    return redirect("iam-user-detail", pk)


@login_required
@require_POST
def role_revoke(request, pk: int, role: str):
    user = services.role_revoke(actor=request.user, user_id=pk, role=role)
    messages.success(request, f"已撤销 {user.username} 的角色 {role}")
    return redirect("iam-user-detail", pk)


@login_required
@require_POST
def user_unlock(request, pk: int):
    user = services.user_unlock(actor=request.user, user_id=pk)
    messages.success(request, f"已解锁用户 {user.username}")
    return redirect("iam-user-detail", pk)


@login_required
def account(request):
    """The user's own account: password age, change, and their own API tokens."""
    actor = request.user
    return render(request, "iam/account.html", {
        "obj": actor, "roles": selectors.roles_of(actor), "now": timezone.now(), "page_title": "我的账户",
        "tokens": selectors.own_tokens(actor=actor), "can_issue_token": actor.has_perm("iam.add_apitoken"),
        "password_expires": passwords.expires_at(actor)})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def token_issue(request):
    """A user issues an API token for themselves (a token acts as its user; nobody mints one for another)."""
    require_perm(request.user, "iam.add_apitoken")
    user = request.user
    errors: list[str] = []
    form = TokenIssueForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            tok, raw = services.token_issue(actor=user, name=form.cleaned_data["name"],
                                            expires_at=form.cleaned_data["expires_at"])
        except ValidationFailed as exc:
            errors = _apply_errors(form, exc)
        else:
            # The only time the token value is ever shown; it is not stored.
            return render(request, "iam/token_issued.html", {"obj": user, "token": tok, "raw": raw,
                                                             "page_title": "令牌已签发"})
    return render(request, "iam/token_form.html", {"obj": user, "form": form, "errors": errors,
                                                   "page_title": "签发接口令牌"},
                  status=422 if request.method == "POST" else 200)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def password_change(request):
    """Change one's own password; the page every other page leads to while the password is an initial one or has
    expired (`middleware.PasswordChangeMiddleware`)."""
    reason = passwords.change_reason(request.user)
    nxt = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        nxt = ""
    errors: list[str] = []
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            user = services.password_change(actor=request.user, old_password=d["old_password"],
                                            new_password=d["new_password1"])
        except ValidationFailed as exc:
            errors = _apply_errors(form, exc, {"new_password": "new_password1"})
        else:
            update_session_auth_hash(request, user)  # the session stays valid with the new password
            messages.success(request, "密码已修改")
            return redirect(nxt or "/")
    return render(request, "iam/password_change.html", {
        "form": form, "errors": errors, "reason": reason, "reason_text": passwords.REASON_TEXT.get(reason, ""),
        "next": nxt, "page_title": "修改密码"}, status=422 if request.method == "POST" else 200)


@login_required
@require_POST
def token_revoke(request, pk: int):
    tok = services.token_revoke(actor=request.user, token_id=pk)
    messages.success(request, f"已吊销令牌 {tok.prefix}…")
    if tok.user_id == request.user.pk:
        return redirect("iam-account")
    return redirect("iam-user-detail", tok.user_id)


@login_required
@require_http_methods(["GET", "POST"])
def certificate_bind(request, pk: int):
    require_perm(request.user, "iam.add_usercertificate")
    user = selectors.user_get(actor=request.user, pk=pk)
    errors: list[str] = []
    form = CertificateBindForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.certificate_bind(actor=request.user, user_id=pk, **form.cleaned_data)
        except (ValidationFailed, Conflict) as exc:
            errors = _apply_errors(form, exc)
        else:
            messages.success(request, "证书公钥已绑定")
            return redirect("iam-user-detail", pk)
    return render(request, "iam/certificate_form.html", {"obj": user, "form": form, "errors": errors,
                                                         "page_title": "绑定证书"},
                  status=422 if request.method == "POST" else 200)


@login_required
def organization_list(request):
    return redirect("resource-list", "organizations")
