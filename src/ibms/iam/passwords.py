"""Password rules to 等保 2.0 level 3 (Django password validators, messages in Chinese), the one-time initial
password, and when a user must change theirs (first login, expiry).

The rules, in `AUTH_PASSWORD_VALIDATORS`: at least 8 characters; three of the four classes upper case, lower case,
digit, symbol; not containing the user name; none of the last `IBMS_PASSWORD_HISTORY` (5) passwords; plus Django's
own similarity, common-password and all-digit checks (their messages are Django's Chinese translation).
A password is valid for `IBMS_PASSWORD_MAX_AGE_DAYS` (90; 0: no expiry)."""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.utils import timezone

# Reasons a user must change their password before anything else (the middleware's and the API's detail).
INITIAL, EXPIRED = "initial", "expired"
REASON_TEXT = {INITIAL: "首次登录须修改系统生成的初始密码", EXPIRED: "密码已超过有效期，须修改后才能继续使用"}

CLASSES = [("大写字母", str.isupper), ("小写字母", str.islower), ("数字", str.isdigit),
           ("特殊符号", lambda ch: not ch.isalnum() and not ch.isspace())]


def _classes(password: str) -> int:
    return sum(any(test(ch) for ch in password) for _, test in CLASSES)


class MinimumLengthValidator:
    """Django's, with a Chinese message (Django's own zh-hans catalogue lacks this one's plural form)."""

    def __init__(self, min_length: int = 8):
        self.min_length = min_length

    def validate(self, password: str, user=None) -> None:
        if len(password) < self.min_length:
            raise ValidationError(f"密码长度不能少于 {self.min_length} 个字符", code="password_too_short",
                                  params={"min_length": self.min_length})

    def get_help_text(self) -> str:
        return f"密码长度至少 {self.min_length} 个字符"


class CharacterClassValidator:
    def __init__(self, min_classes: int = 3):
        self.min_classes = min_classes

    def validate(self, password: str, user=None) -> None:
        if _classes(password) < self.min_classes:
            raise ValidationError(f"密码须包含大写字母、小写字母、数字、特殊符号中的至少 {self.min_classes} 类",
                                  code="password_classes", params={"min_classes": self.min_classes})

    def get_help_text(self) -> str:
        return f"须包含大写字母、小写字母、数字、特殊符号中的至少 {self.min_classes} 类"


class UsernameNotContainedValidator:
    """The password may not contain the user name (case ignored); names shorter than 3 characters are not looked
    for (they would forbid half the alphabet)."""

    def validate(self, password: str, user=None) -> None:
        name = (getattr(user, "username", "") or "").strip().lower()
        if len(name) >= 3 and name in password.lower():
            raise ValidationError("密码不能包含用户名", code="password_contains_username")

    def get_help_text(self) -> str:
        return "不能包含用户名"


class PasswordHistoryValidator:
    """Not the current password nor one of the last `count` (`PasswordHistory` keeps their hashes)."""

    def __init__(self, count: int | None = None):
        self.count = count

    @property
    def n(self) -> int:
        return self.count if self.count is not None else settings.IBMS_PASSWORD_HISTORY

    def validate(self, password: str, user=None) -> None:
        if user is None or user.pk is None or self.n <= 0:
            return
        from .models import PasswordHistory, User

        hashes = list(PasswordHistory.objects.filter(user_id=user.pk).order_by("-id")
                      .values_list("password", flat=True)[:self.n])
        current = User.objects.filter(pk=user.pk).values_list("password", flat=True).first()
        if current and current not in hashes:
            hashes.insert(0, current)
        if any(check_password(password, h) for h in hashes[:self.n]):
            raise ValidationError(f"新密码不能与最近 {self.n} 次使用过的密码相同", code="password_reused",
                                  params={"count": self.n})

    def get_help_text(self) -> str:
        return f"不能与最近 {self.n} 次使用过的密码相同"


# --- the one-time initial password and when a change is due ---------------------------------------------------

_ALPHABET = {"upper": "ABCDEFGHJKLMNPQRSTUVWXYZ", "lower": "abcdefghijkmnopqrstuvwxyz", "digit": "23456789",
             "symbol": "#%+=@!?*"}


def generate_initial_password(length: int = 14) -> str:
    """A random password with all four classes and no look-alike characters (0/O, 1/l/I), shown once."""
    pools = list(_ALPHABET.values())
    chars = [secrets.choice(p) for p in pools]
    every = "".join(pools)
    chars += [secrets.choice(every) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def password_max_age() -> dt.timedelta | None:
    days = settings.IBMS_PASSWORD_MAX_AGE_DAYS
    return dt.timedelta(days=days) if days > 0 else None


def expires_at(user) -> dt.datetime | None:
    age, changed = password_max_age(), getattr(user, "password_changed_at", None)
    return changed + age if age is not None and changed is not None else None


def change_reason(user, now: dt.datetime | None = None) -> str:
    """Why `user` must change their password before anything else ('' when they need not)."""
    if getattr(user, "must_change_password", False):
        return INITIAL
    until = expires_at(user)
    if until is not None and until <= (now or timezone.now()):
        return EXPIRED
    return ""

