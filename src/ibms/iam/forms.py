from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.password_validation import password_validators_help_texts
from django.core.exceptions import ValidationError

from ibms.core.forms import ScopedModelForm
from ibms.core.scoping import CHANGE
from ibms.masterdata.models import Unit

from .models import Organization, Role


class LoginForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "用户名或密码不正确。",
        "inactive": "该账户已停用。",
        "locked": "登录失败次数过多，账户已临时锁定，请稍后再试或联系安全管理员。",
        "throttled": "本地址登录失败次数过多，请稍后再试。",
    }

    def clean(self):
        try:
            return super().clean()
        except ValidationError:
            for flag, key in (("ibms_login_throttled", "throttled"), ("ibms_login_locked", "locked")):
                if getattr(self.request, flag, False):
                    raise ValidationError(self.error_messages[key], code=key) from None
            raise


class OrganizationForm(ScopedModelForm):
    # Picked by unit code among the units of the actor's own region (codes are unique within a region).
    unit = forms.ModelChoiceField(Unit.objects.all(), to_field_name="code", required=False, label="对应单位（单位代码）",
                                  widget=forms.TextInput(attrs={"placeholder": "如 001001"}),
                                  error_messages={"invalid_choice": "本区划下没有该单位代码"},
                                  help_text="主管部门、预算单位必填；其他类型留空")
    scoped_fields = {"unit": CHANGE}

    class Meta:
        model = Organization
        fields = ["code", "name", "kind", "unit", "division_code", "is_active"]

    def clean_code(self):
        return self.cleaned_data["code"].strip()

    def clean(self):
        data = super().clean()
        kind, unit = data.get("kind"), data.get("unit")
        needs_unit = kind in (Organization.Kind.DEPARTMENT, Organization.Kind.UNIT)
        if kind and needs_unit and unit is None and "unit" not in self.errors:
            self.add_error("unit", ValidationError("主管部门和预算单位必须填写对应单位", code="unit_required"))
        elif kind and not needs_unit and unit is not None:
            self.add_error("unit", ValidationError("只有主管部门和预算单位可以对应单位", code="unit_not_allowed"))
        elif kind == Organization.Kind.DEPARTMENT and unit is not None and unit.parent_id is not None:
            self.add_error("unit", ValidationError("主管部门应对应一级预算单位（无上级单位）", code="not_department"))
        return data


class UserCreateForm(forms.Form):
    """The system administrator opens an account: no password (the system generates a one-time initial one) and no
    roles (granted afterwards by the security administrator — 三员分立)."""

    username = forms.CharField(label="用户名", max_length=150)
    real_name = forms.CharField(label="姓名", max_length=50)
    phone = forms.CharField(label="电话", max_length=20, required=False)
    organization = forms.ModelChoiceField(Organization.objects.all(), label="所属机构",
                                          widget=forms.Select(attrs={"class": "select"}))

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        # Only organisations the actor may write in: their own region (and active).
        self.fields["organization"].queryset = (Organization.objects.restrict(user, CHANGE).filter(is_active=True)
                                                .order_by("kind", "code"))
        self.fields["organization"].label_from_instance = lambda o: f"{o.name}（{o.get_kind_display()}）"


class RoleGrantForm(forms.Form):
    role = forms.ModelChoiceField(Role.objects.all(), to_field_name="code", label="授予角色",
                                  widget=forms.Select(attrs={"class": "select"}),
                                  help_text="管理员角色（系统管理员、安全保密管理员、安全审计员）只能单独担任")

    def __init__(self, *args, target=None, **kwargs):
        super().__init__(*args, **kwargs)
        if target is not None:  # the roles that fit the account's organisation
            kind = target.organization.kind if target.organization_id else Organization.Kind.ADMIN
            self.fields["role"].queryset = Role.objects.filter(org_kind=kind).order_by("code")
        self.fields["role"].label_from_instance = lambda r: f"{r.name}（{r.code}）"


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(label="原密码", strip=False,
                                   widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
    new_password1 = forms.CharField(label="新密码", strip=False,
                                    widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    new_password2 = forms.CharField(label="确认新密码", strip=False,
                                    widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].help_text = "；".join(password_validators_help_texts())

    def clean(self):
        data = super().clean()
        if data.get("new_password1") and data.get("new_password2") and data["new_password1"] != data["new_password2"]:
            self.add_error("new_password2", ValidationError("两次输入的密码不一致", code="password_mismatch"))
        return data


class TokenIssueForm(forms.Form):
    name = forms.CharField(label="用途", max_length=100, help_text="如：与代理银行的支付对账接口")
    expires_at = forms.DateTimeField(label="到期时间", required=False,
                                     widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                     input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
                                     help_text="留空表示长期有效（不建议）")


class CertificateBindForm(forms.Form):
    public_key_pem = forms.CharField(label="SM2 公钥（PEM）", widget=forms.Textarea(attrs={"rows": 6, "cols": 70}),
                                     help_text="以 -----BEGIN PUBLIC KEY----- 开头")
    subject = forms.CharField(label="证书主题", max_length=200, required=False, help_text="如 CN=张三,O=华夏省财政厅")
