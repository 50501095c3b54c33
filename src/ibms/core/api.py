"""REST endpoints for a registered Resource (list with filters and paging, get, create, update), the error
format every endpoint shares: {"code", "message", "detail"} (money travels as decimal strings), and the write
gate: every write operation checks the permission `core.policy` maps it to, inside authentication, before its
payload is parsed."""

import functools
import logging
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django import forms as djforms
from django.core.exceptions import FieldDoesNotExist
from django.db import DataError, models
from ninja import NinjaAPI, Router, Status
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from pydantic import create_model

from . import policy
from .context import current_request_id
from .errors import DomainError
from .money import MoneyField, fen_to_str
from .paging import Limit, Offset, window
from .resources import Resource, all_resources
from .scoping import CHANGE, VIEW, get_in_scope
from .services import resource_create, resource_update
from .views import filterset_class

log = logging.getLogger("ibms.api")


def serialize(resource: Resource, obj: models.Model) -> dict[str, Any]:
    out: dict[str, Any] = {"id": obj.pk}
    for f in resource.model._meta.concrete_fields:
        if f.name == "id":
            continue
        value = getattr(obj, f.attname)
        if isinstance(f, MoneyField):
            value = fen_to_str(value) if value is not None else None
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        elif isinstance(value, Decimal):  # rates and quantities travel as decimal strings, like money
            value = format(value, "f")
        out[f.attname] = value
        if f.choices:
            out[f"{f.name}_display"] = getattr(obj, f"get_{f.name}_display")()
    return out


def _input_schema(resource: Resource):
    form = resource.form(user=None)
    fields: dict[str, Any] = {}
    for name, field in form.fields.items():
        if isinstance(field, djforms.BooleanField):
            fields[name] = (bool | None, None)
        else:
            fields[name] = (str | None, None)
    return create_model(f"{resource.model.__name__}In", **fields)


def _output_schema(resource: Resource):
    fields: dict[str, Any] = {"id": (int, ...)}
    for f in resource.model._meta.concrete_fields:
        if f.name == "id":
            continue
        typ: Any = str  # also money: MoneyField is an integer column but travels as a yuan string
        if isinstance(f, models.BooleanField):
            typ = bool
        elif isinstance(f, models.IntegerField | models.ForeignKey) and not isinstance(f, MoneyField):
            typ = int
        fields[f.attname] = (typ | None, None)
        if f.choices:
            fields[f"{f.name}_display"] = (str | None, None)
    return create_model(f"{resource.model.__name__}Out", **fields)


def resource_router(resource: Resource) -> Router:
    router = Router(tags=[resource.title])
    In, Out = _input_schema(resource), _output_schema(resource)
    Page = create_model(f"{resource.model.__name__}Page", count=(int, ...), items=(list[Out], ...))

    @router.get("/", response=Page, summary=f"{resource.title}列表", operation_id=f"{resource.slug}_list")
    def list_rows(request, limit: Limit = 50, offset: Offset = 0):
        qs = resource.queryset(request.auth, VIEW)
        params = {k: v for k, v in request.GET.items() if k not in ("limit", "offset")}
        fs = filterset_class(resource)(params or None, queryset=qs)
        if fs.is_bound and not fs.is_valid():
            raise DomainError(code="invalid_filter", message="查询条件不正确", detail=fs.errors.get_json_data(),
                              http_status=422)
        qs = fs.qs if fs.is_bound else qs
        return {"count": qs.count(), "items": [serialize(resource, o) for o in window(qs, limit, offset)]}

    @router.get("/{int:pk}", response=Out, summary=f"{resource.title}详情", operation_id=f"{resource.slug}_get")
    def get_row(request, pk: int):
        return serialize(resource, get_in_scope(resource.model.objects, request.auth, VIEW, what=resource.title,
                                                pk=pk))

    if resource.creatable:
        @router.post("/", response={201: Out}, summary=f"新增{resource.title}",
                     operation_id=f"{resource.slug}_create")
        def create_row(request, payload: In):  # type: ignore[valid-type]
            obj = resource_create(actor=request.auth, resource=resource, data=_form_data(payload, resource))
            return Status(201, serialize(resource, obj))

    @router.put("/{int:pk}", response=Out, summary=f"修改{resource.title}", operation_id=f"{resource.slug}_update")
    def update_row(request, pk: int, payload: In):  # type: ignore[valid-type]
        current = resource.model.objects.restrict(request.auth, CHANGE).filter(pk=pk).first()
        obj = resource_update(actor=request.auth, resource=resource, pk=pk,
                              data=_form_data(payload, resource, current))
        return serialize(resource, obj)

    return router


def _form_data(payload, resource: Resource, current: models.Model | None = None) -> dict[str, Any]:
    data = payload.model_dump(exclude_unset=True)
    out = {k: ("on" if v is True else "" if v is False else v) for k, v in data.items() if v is not None}
    # A field left out of the JSON keeps the model default (create) or its current value (update), unlike a
    # form post where a missing checkbox means "off": `{"name": …}` must not switch a row's 启用 off.
    for name in resource.form.base_fields:
        if name in out:
            continue
        try:
            f = resource.model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        if f.concrete and not f.is_relation and f.has_default():
            value = f.value_from_object(current) if current is not None else f.get_default()
            out[name] = ("on" if value else "") if isinstance(f, models.BooleanField) else value
    return out


HTTP_MESSAGES = {400: "请求格式不正确（无法解析请求内容）", 401: "未登录或令牌无效", 403: "没有执行该操作的权限",
                 404: "请求的资源不存在", 405: "不支持该请求方法", 429: "请求过于频繁，请稍后再试"}


def install_error_handlers(api: NinjaAPI) -> None:
    from .errors import NotFound, PermissionDenied
    from .middleware import record_denial

    @api.exception_handler(DomainError)
    def domain_error(request, exc: DomainError):
        if isinstance(exc, PermissionDenied | NotFound):
            record_denial(request, exc)
        return api.create_response(request, exc.as_dict(), status=exc.http_status)

    @api.exception_handler(NinjaValidationError)
    def schema_error(request, exc: NinjaValidationError):
        detail = [{"loc": [str(x) for x in e.get("loc", [])], "message": e.get("msg", "")} for e in exc.errors]
        return api.create_response(request, {"code": "invalid_request", "message": "请求格式不正确",
                                             "detail": detail}, status=422)

    @api.exception_handler(AuthenticationError)
    def auth_error(request, exc):
        return api.create_response(request, {"code": "unauthenticated", "message": "未登录或令牌无效",
                                             "detail": None}, status=401)

    @api.exception_handler(HttpError)
    def http_error(request, exc: HttpError):
        message = HTTP_MESSAGES.get(exc.status_code, "请求未能处理")
        return api.create_response(request, {"code": f"http_{exc.status_code}", "message": message,
                                             "detail": str(exc)}, status=exc.status_code)

    @api.exception_handler(OverflowError)
    @api.exception_handler(DataError)
    def out_of_range(request, exc):
        # a number the database cannot hold (a huge id or year in a query): the request is wrong, not the server
        log.info("value out of range request_id=%s: %s", current_request_id(), exc)
        return api.create_response(request, {"code": "value_out_of_range", "message": "请求中的数值超出允许范围",
                                             "detail": None}, status=422)

    @api.exception_handler(Exception)
    def unexpected(request, exc):
        rid = current_request_id()
        log.exception("unhandled error in %s %s request_id=%s", request.method, request.path, rid)
        return api.create_response(request, {"code": "server_error", "message": f"系统内部错误，请联系管理员（请求编号 {rid}）",
                                             "detail": {"request_id": rid}}, status=500)


class WriteGate:
    """One of the API's authentications, followed by the write-route permission check: a user who authenticates
    but lacks the route's permission is refused (403, `permission_denied`, audited) before the payload is parsed;
    a write operation without a rule is refused to everyone (`route_not_in_policy`)."""

    def __init__(self, auth, operation_id: str, rule: "policy.RouteRule | None"):
        self.auth, self.operation_id, self.rule = auth, operation_id, rule

    def __call__(self, request):
        user = self.auth(request)
        if user:
            request.auth = user  # the denial names who was refused
            policy.enforce(user, self.rule, route=f"api {self.operation_id}")
        return user

    @property
    def openapi_security_schema(self):  # the documented scheme is the wrapped authentication's
        return self.auth.openapi_security_schema


@functools.cache
def _gate_class(auth_class: type) -> type:
    # named after the authentication it wraps: the OpenAPI document names security schemes by class name
    return type(auth_class.__name__, (WriteGate,), {"__module__": WriteGate.__module__})


def _routers(routers, prefix: str = "") -> Iterator[tuple[str, Router]]:
    for entry in routers:
        path, router = prefix + entry[0], entry[1]
        yield path, router
        yield from _routers(router._routers, path)


def operations(api: NinjaAPI) -> Iterator[tuple[str, Any]]:
    """Every operation of the API as (path under the API, operation), walking the routers and their children."""
    seen: set[int] = set()
    for prefix, router in _routers(api._routers):
        if id(router) in seen:
            continue
        seen.add(id(router))
        for path, view in router.path_operations.items():
            for op in view.operations:
                yield prefix + path, op


def operation_id(api: NinjaAPI, op) -> str:
    return op.operation_id or api.get_openapi_operation_id(op)


def install_write_gate(api: NinjaAPI) -> None:
    """Put the write gate in front of every write operation (call once every router is added, before the URLs)."""
    default = api.auth if isinstance(api.auth, list | tuple) else [api.auth]
    for _, op in operations(api):
        if not set(op.methods) & policy.WRITE_METHODS or any(isinstance(a, WriteGate) for a in op.auth_callbacks):
            continue
        oid = operation_id(api, op)
        rule = policy.api_rule(oid)
        gated = [_gate_class(type(a))(a, oid, rule) for a in (op.auth_callbacks or default)]
        op.auth_param = gated
        op.auth_callbacks = gated


def add_resource_routers(api: NinjaAPI) -> None:
    for r in all_resources():
        api.add_router(f"/{r.app_label}/{r.slug}", resource_router(r))
