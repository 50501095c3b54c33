"""The OpenAPI document says what the API really answers: besides each operation's own success responses, the
error answers every operation can give, in the one error form {"code", "message", "detail"}."""

from __future__ import annotations

from typing import Any

from ninja import NinjaAPI

ERROR = {
    "title": "Error", "type": "object", "required": ["code", "message"],
    "properties": {"code": {"type": "string", "description": "稳定的错误代码"},
                   "message": {"type": "string", "description": "给人看的中文说明"},
                   "detail": {"description": "字段错误等细节"}},
}
DESCRIPTIONS = {400: "请求内容无法解析（不是合法的 JSON）", 401: "未登录或令牌无效", 403: "没有执行该操作的权限",
                404: "资源不存在或无权访问",
                409: "与数据的当前状态冲突", 422: "请求数据不正确"}
WRITES = {"post", "put", "patch", "delete"}


def error_codes(path: str, method: str) -> list[int]:
    """Every operation authenticates (401), checks permission (403) and validates its parameters (422); one that
    names a row may not find it (404); a write may meet a state that refuses it (409) or a row it refers to (404),
    and its body may not parse at all (400)."""
    codes = [401, 403, 422]
    if "{" in path or method in WRITES:
        codes.append(404)
    if method in WRITES:
        codes += [400, 409]
    return sorted(codes)


def document_errors(doc: dict[str, Any]) -> dict[str, Any]:
    doc.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR
    ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, ops in doc.get("paths", {}).items():
        for method, op in ops.items():
            responses = op.setdefault("responses", {})
            for code in error_codes(path, method):
                responses.setdefault(code, {"description": DESCRIPTIONS[code], "content": ref})
    return doc


class DocumentedAPI(NinjaAPI):
    """NinjaAPI whose OpenAPI document lists the error answers (see `document_errors`)."""

    def get_openapi_schema(self, *args, **kwargs):
        return document_errors(super().get_openapi_schema(*args, **kwargs))
