"""Money is integer fen (分) wherever it is stored or computed; yuan strings only at the edges."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated

from django import forms
from django.db import models

MAX_FEN = 10**17  # 1e15 yuan: far above any budget, well inside BIGINT

_YUAN_RE = re.compile(r"^(?P<sign>[-+]?)(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<frac>\d*))?$")


class MoneyError(ValueError):
    """Bad money text; the message is for people (Chinese)."""


def parse_yuan(text: str | int | Decimal) -> int:
    """'1,234.56' / '1234.56' / '1234' / Decimal → 123456 fen. Never goes through float."""
    if isinstance(text, bool):
        raise MoneyError("金额格式不正确")
    if isinstance(text, int):
        return _bounded(text * 100)
    if isinstance(text, Decimal):
        text = format(text, "f")
    if not isinstance(text, str):
        raise MoneyError("金额必须是数字文本，例如 1,234.56")
    s = text.strip().replace("，", ",").replace("￥", "").replace("¥", "")
    if not s:
        raise MoneyError("金额不能为空")
    m = _YUAN_RE.match(s) if len(s) <= 40 else None
    if not m:
        raise MoneyError(f"金额格式不正确：{text[:40]}，应为如 1,234.56 的数字")
    frac = (m.group("frac") or "").rstrip("0")
    if len(frac) > 2:
        raise MoneyError(f"金额最多两位小数：{text}")
    fen = int(m.group("int").replace(",", "")) * 100 + int((frac + "00")[:2])
    return _bounded(-fen if m.group("sign") == "-" else fen)


_REQUIRED = object()

FEN = "fen"
# A money field of a service input dataclass: integer fen in the service, a yuan string in the API
# (core.schemas builds the API schema from the dataclass and converts back).
Fen = Annotated[int, FEN]


def api_fen(value: str | int | Decimal | None, field: str = "amount", *, blank=_REQUIRED,
            code: str = "money_invalid") -> int | None:
    """A yuan amount from an API payload, as fen. An empty value is `blank` when one is given (else refused like
    any bad amount): a ValidationFailed with `code` on `field` (each API keeps its documented code)."""
    from .errors import invalid

    if blank is not _REQUIRED and (value is None or str(value).strip() == ""):
        return blank
    try:
        return parse_yuan(value if value is not None else "")
    except MoneyError as exc:
        raise invalid(code, str(exc), field) from exc


def _bounded(fen: int) -> int:
    if abs(fen) >= MAX_FEN:
        raise MoneyError("金额超出允许范围")
    return fen


def fen_to_decimal(fen: int) -> Decimal:
    return Decimal(fen).scaleb(-2)


def fen_to_str(fen: int) -> str:
    """123456 → '1234.56' (the API form)."""
    sign = "-" if fen < 0 else ""
    q, r = divmod(abs(int(fen)), 100)
    return f"{sign}{q}.{r:02d}"


def format_fen(fen: int | None, *, grouped: bool = True) -> str:
    """123456 → '1,234.56' (the UI form)."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    q, r = divmod(abs(int(fen)), 100)
    return f"{sign}{q:,}.{r:02d}" if grouped else f"{sign}{q}.{r:02d}"


_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_UNITS = ("", "拾", "佰", "仟")
_GROUPS = ("", "万", "亿", "万亿")


def fen_to_capitals(fen: int) -> str:
    """金额大写 as written on vouchers and cheques: 1234505 → '壹万贰仟叁佰肆拾伍元零伍分', 1000000 → '壹万元整'
    (a run of zeros is one 零; 整 after 元 or 角 when nothing follows; no 整 after 分)."""
    fen = int(fen)
    if fen < 0:
        return "负" + fen_to_capitals(-fen)
    yuan, rest = divmod(fen, 100)
    jiao, cents = divmod(rest, 10)
    digits, out, zeros = str(yuan), [], False
    for i, ch in enumerate(digits):
        pos = len(digits) - 1 - i
        if ch == "0":
            zeros = True
        else:
            out.append(("零" if zeros else "") + _DIGITS[int(ch)] + _UNITS[pos % 4])
            zeros = False
        if pos % 4 == 0 and pos and digits[max(0, i - 3):i + 1].strip("0"):
            out.append(_GROUPS[pos // 4])
    text = "".join(out) + "元" if yuan else ""
    if not (jiao or cents):
        return (text or "零元") + "整"
    if jiao:
        text += _DIGITS[jiao] + "角"
    elif yuan:
        text += "零"
    return text + (_DIGITS[cents] + "分" if cents else "整")


class MoneyFormField(forms.CharField):
    """Accepts yuan text in forms, cleans to integer fen."""

    def __init__(self, *, min_fen: int | None = 0, **kwargs):
        self.min_fen = min_fen
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal", "class": "money"}))
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, int):
            return format_fen(value)
        return value

    def to_python(self, value):
        if isinstance(value, int) and not isinstance(value, bool):  # already fen (Excel import parses money)
            fen = value
            if self.min_fen is not None and fen < self.min_fen:
                raise forms.ValidationError("金额不能为负数", code="money_negative")
            return fen
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        try:
            fen = parse_yuan(value)
        except MoneyError as exc:
            raise forms.ValidationError(str(exc), code="money_invalid") from exc
        if self.min_fen is not None and fen < self.min_fen:
            raise forms.ValidationError("金额不能为负数", code="money_negative")
        return fen


class MoneyField(models.BigIntegerField):
    """Integer fen in the database; yuan text in forms."""

    description = "金额（分）"

    def formfield(self, **kwargs):
        return super(models.BigIntegerField, self).formfield(**{"form_class": MoneyFormField, **kwargs})


def decimal_to_fen(value: Decimal) -> int:
    try:
        q = value.quantize(Decimal("0.01"))
    except InvalidOperation as exc:
        raise MoneyError("金额格式不正确") from exc
    if q != value:
        raise MoneyError("金额最多两位小数")
    return _bounded(int(q.scaleb(2)))
