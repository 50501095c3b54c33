"""Code formats: fiscal region, unit, USCC, PRC ID number, bank account. Validators return a
Chinese message or None, so callers can collect every problem at once."""

from __future__ import annotations

import re

_REGION_RE = re.compile(r"^\d{9}$")
_UNIT_RE = re.compile(r"^[0-9A-Za-z]{3,21}$")
_ACCOUNT_RE = re.compile(r"^\d{6,32}$")
_BANK_CODE_RE = re.compile(r"^\d{12}$")

# GB 32100-2015 统一社会信用代码
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# GB 11714-1997 组织机构代码
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
# GB 11643-1999 citizen ID
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def region_code_error(code: str) -> str | None:
    if not _REGION_RE.match(code or ""):
        return f"财政区划代码应为9位数字：{code!r}"
    return None


def region_level_from_code(code: str) -> int:
    """Budget level guess from the code pattern (2 省, 3 市, 4 县, 5 乡); stored explicitly on the row."""
    if code[2:] == "0000000":
        return 2
    if code[4:] == "00000":
        return 3
    if code[6:] == "000":
        return 4
    return 5


def unit_code_error(code: str) -> str | None:
    if not _UNIT_RE.match(code or ""):
        return f"单位代码应为3至21位字母或数字：{code!r}"
    return None


def uscc_check_char(first17: str) -> str:
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_CHARS[(31 - total % 31) % 31]


def uscc_with_check(first17: str) -> str:
    return first17 + uscc_check_char(first17)


def org_code_with_check(body8: str) -> str:
    """GB 11714 organisation code: 8 characters + their check character (the USCC's characters 9–17)."""
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(body8, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return body8 + {10: "X", 11: "0"}.get(check, str(check))


def uscc_error(code: str) -> str | None:
    code = (code or "").upper()
    if len(code) != 18 or any(c not in _USCC_CHARS for c in code):
        return f"统一社会信用代码应为18位（数字或大写字母，不含I、O、Z、S、V）：{code!r}"
    if uscc_check_char(code[:17]) != code[17]:
        return f"统一社会信用代码校验位不正确：{code!r}"
    return None


def id_check_char(first17: str) -> str:
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def id_number_with_check(first17: str) -> str:
    return first17 + id_check_char(first17)


def id_number_error(code: str) -> str | None:
    code = (code or "").upper()
    if not re.match(r"^\d{17}[\dX]$", code):
        return "身份证号应为18位"
    if id_check_char(code[:17]) != code[17]:
        return "身份证号校验位不正确"
    return None


def bank_account_error(account_no: str) -> str | None:
    if not _ACCOUNT_RE.match(account_no or ""):
        return f"银行账号应为6至32位数字：{account_no!r}"
    return None


def bank_code_error(code: str) -> str | None:
    if not _BANK_CODE_RE.match(code or ""):
        return f"联行号应为12位数字：{code!r}"
    return None

