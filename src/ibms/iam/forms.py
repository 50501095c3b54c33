from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError


class LoginForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "用户名或密码不正确。",
        "locked": "登录失败次数过多，账户已临时锁定，请稍后再试或联系安全管理员。",
    }

    def clean(self):
        try:
            return super().clean()
        except ValidationError:
            if getattr(self.request, "ibms_login_locked", False):
                raise ValidationError(self.error_messages["locked"], code="locked") from None
            raise
