"""Domain errors with stable codes.

People see `message` (Chinese); logs and API clients key on `code`. `detail` carries structured
reasons, e.g. every violation found, so a user sees all problems at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Violation:
    code: str
    message: str
    field: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "field": self.field}


@dataclass
class DomainError(Exception):
    code: str = "error"
    message: str = "操作失败"
    detail: Any = None
    http_status: int = 400
    log_message: str = ""

    def __post_init__(self) -> None:
        super().__init__(self.log_message or self.code)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "detail": self.detail}

    @property
    def violations_or_self(self) -> list[Violation]:
        """Every violation (a ValidationFailed lists them all), or this error as the one: what a page shows."""
        return list(getattr(self, "violations", None) or [Violation(self.code, self.message)])


class ValidationFailed(DomainError):
    def __init__(self, violations: list[Violation], message: str = "数据校验未通过"):
        super().__init__(
            code="validation_failed",
            message=message + "：" + "；".join(v.message for v in violations),
            detail=[v.as_dict() for v in violations],
            http_status=422,
            log_message="validation failed: " + ", ".join(v.code for v in violations),
        )
        self.violations = violations


def invalid(code: str, message: str, field: str = "") -> ValidationFailed:
    """A single-violation validation error."""
    return ValidationFailed([Violation(code, message, field)])


class NotFound(DomainError):
    def __init__(self, what: str = "对象"):
        super().__init__(code="not_found", message=f"{what}不存在或无权访问", http_status=404,
                         log_message="not found or out of scope")


class PermissionDenied(DomainError):
    def __init__(self, message: str = "没有执行该操作的权限", code: str = "permission_denied", detail: Any = None):
        super().__init__(code=code, message=message, detail=detail, http_status=403, log_message=code)


class Conflict(DomainError):
    def __init__(self, code: str, message: str, detail: Any = None):
        super().__init__(code=code, message=message, detail=detail, http_status=409, log_message=code)

