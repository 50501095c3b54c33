"""Generic pages for a registered Resource: list (filter, sort, page, HTMX partial, Excel export),
detail with change history, create/edit, and Excel template download and import."""

from __future__ import annotations

import logging
import time

import django_filters
import django_tables2 as tables
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Q
from django.forms.widgets import NullBooleanSelect
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_http_methods

from . import excel, imports
from .errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from .models import ChangeLog
from .money import MoneyField, format_fen
from .resources import Resource, all_resources, get_resource
from .scoping import CHANGE, VIEW, get_in_scope, require_perm
from .services import build_form, resource_create, resource_import, resource_update

log = logging.getLogger("ibms.web")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_response(data: bytes, filename: str) -> HttpResponse:
    resp = HttpResponse(data, content_type=XLSX)
    resp["Content-Disposition"] = content_disposition_header(True, filename)
    return resp


class MoneyColumn(tables.Column):
    attrs = {"td": {"class": "num"}, "th": {"class": "num"}}

    def render(self, value):
        return format_fen(value)


def table_class(resource: Resource) -> type[tables.Table]:
    attrs = {}
    for i, name in enumerate(resource.list_fields):
        try:
            f = resource.model._meta.get_field(name)
        except FieldDoesNotExist:  # a property or a related path
            f = None
        if isinstance(f, MoneyField):
            attrs[name] = MoneyColumn(verbose_name=f.verbose_name)
        elif i == 0:
            attrs[name] = tables.Column(linkify=lambda record, r=resource: reverse(
                "resource-detail", args=[r.slug, record.pk]))
    meta = type("Meta", (), {"model": resource.model, "fields": resource.list_fields,
                             "attrs": {"class": "table dense", "id": f"table-{resource.slug}"},
                             "per_page": 25})
    return type(f"{resource.model.__name__}Table", (tables.Table,), {**attrs, "Meta": meta})


class YesNoAllSelect(NullBooleanSelect):
    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = (("unknown", "全部"), ("true", "是"), ("false", "否"))


def filterset_class(resource: Resource) -> type[django_filters.FilterSet]:
    def search(queryset, name, value):
        q = Q()
        for f in resource.search_fields:
            q |= Q(**{f"{f}__icontains": value})
        return queryset.filter(q)

    attrs = {}
    if resource.search_fields:
        attrs["q"] = django_filters.CharFilter(label="关键字", method=lambda qs, n, v: search(qs, n, v))
    meta = type("Meta", (), {"model": resource.model, "fields": resource.filter_fields, "filter_overrides": {
        models.BooleanField: {"filter_class": django_filters.BooleanFilter,
                              "extra": lambda f: {"widget": YesNoAllSelect}}}})
    return type(f"{resource.model.__name__}Filter", (django_filters.FilterSet,), {**attrs, "Meta": meta})


def _filtered(request, resource: Resource):
    qs = resource.queryset(request.user, VIEW)
    fs = filterset_class(resource)(request.GET or None, queryset=qs, request=request)
    return fs, (fs.qs if fs.is_bound and fs.is_valid() else qs)


@login_required
def resource_list(request, slug: str):
    resource = get_resource(slug)
    fs, qs = _filtered(request, resource)
    if request.GET.get("export") == "xlsx":
        data = excel.export_rows(resource.excel, (resource.excel_row(o) for o in qs.iterator(chunk_size=2000)),
                                 title=resource.title)
        return xlsx_response(data, f"{resource.title}.xlsx")
    table = table_class(resource)(qs)
    tables.RequestConfig(request, paginate={"per_page": 25}).configure(table)
    ctx = {"resource": resource, "table": table, "filter": fs,
           "can_add": resource.creatable and request.user.has_perm(resource.perm("add"))}
    if getattr(request, "htmx", False) and request.htmx.target == "list-body":
        return render(request, "core/list_partial.html", ctx)
    return render(request, "core/list.html", ctx)


@login_required
def resource_detail(request, slug: str, pk: int):
    resource = get_resource(slug)
    obj = get_in_scope(resource.model.objects, request.user, VIEW, what=resource.title, pk=pk)
    names = resource.detail_fields or [f.name for f in resource.model._meta.concrete_fields if f.name != "id"]
    rows = []
    for name in names:
        f = resource.model._meta.get_field(name)
        display = getattr(obj, f"get_{name}_display", None)
        value = display() if display else getattr(obj, name)
        if isinstance(f, MoneyField):
            value = format_fen(value)
        elif isinstance(value, bool):
            value = "是" if value else "否"
        rows.append((f.verbose_name, value))
    can_change = (request.user.has_perm(resource.perm("change"))
                  and resource.model.objects.restrict(request.user, CHANGE).filter(pk=pk).exists())
    history = ChangeLog.objects.filter(object_type=resource.model._meta.label_lower, object_id=str(pk))[:20]
    return render(request, "core/detail.html", {"resource": resource, "obj": obj, "rows": rows,
                                                "can_change": can_change, "history": history})


@login_required
@require_http_methods(["GET", "POST"])
def resource_edit(request, slug: str, pk: int | None = None):
    resource = get_resource(slug)
    instance = None
    if pk is not None:
        require_perm(request.user, resource.perm("change"))
        instance = get_in_scope(resource.model.objects, request.user, CHANGE, what=resource.title, pk=pk)
    else:
        require_perm(request.user, resource.perm("add"))
    errors = []
    if request.method == "POST":
        try:
            if instance is None:
                obj = resource_create(actor=request.user, resource=resource, data=request.POST)
            else:
                obj = resource_update(actor=request.user, resource=resource, pk=pk, data=request.POST)
            return redirect("resource-detail", slug, obj.pk)
        except ValidationFailed as exc:
            errors = exc.violations
        form = build_form(resource, request.user, request.POST, instance=instance)
        form.is_valid()
        # Errors found after form validation (prepare hooks, model constraints) go beside their field.
        unplaced = []
        for v in errors:
            if v.field in form.fields and v.field not in form.errors:
                form.add_error(v.field, v.message.split("：", 1)[-1])
            elif v.field not in form.errors:
                unplaced.append(v)
        errors = unplaced
    else:
        form = build_form(resource, request.user, None, instance=instance)
    return render(request, "core/form.html", {"resource": resource, "form": form.for_display(), "obj": instance,
                                              "errors": errors}, status=422 if request.method == "POST" else 200)


@login_required
def resource_template(request, slug: str):
    resource = get_resource(slug)
    require_perm(request.user, resource.perm("view"))
    return xlsx_response(excel.build_template(resource.excel, title=resource.title), f"{resource.title}导入模板.xlsx")


@login_required
@require_http_methods(["GET", "POST"])
def resource_import_view(request, slug: str):
    resource = get_resource(slug)
    require_perm(request.user, resource.perm("add"))
    ctx: dict = {"resource": resource}
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise excel.ImportRejected([excel.RowError(0, "", "请选择要导入的 Excel 文件")])
            deadline = time.monotonic() + settings.IBMS_IMPORT_MAX_SECONDS
            rows = excel.read_rows(upload, resource.excel, max_bytes=_max_bytes())
            if len(rows) > imports.sync_max_rows():
                job = imports.import_job_start(actor=request.user, resource=resource, rows=rows,
                                               filename=getattr(upload, "name", ""))
                return redirect("resource-import-job", slug, job.pk)
            ctx["result"] = resource_import(actor=request.user, resource=resource, rows=rows, deadline=deadline)
        except excel.ImportRejected as exc:
            ctx["problems"] = [{"row": e.row, "column": e.column, "message": e.message} for e in exc.errors]
        except ValidationFailed as exc:
            ctx["problems"] = getattr(exc, "detail", None) or [{"row": 0, "column": "", "message": exc.message}]
    status = 422 if ctx.get("problems") else 200
    return render(request, "core/import.html", ctx, status=status)


@login_required
@require_http_methods(["GET"])
def resource_import_job(request, slug: str, pk: int):
    """A background import's progress (polled by HTMX until it finishes), then its result or its problems."""
    resource = get_resource(slug)
    job = imports.import_job_for(request.user, slug, pk)
    ctx = {"resource": resource, "job": job, "progress_max": max(2 * job.total, 1)}
    if getattr(request, "htmx", False):
        return render(request, "core/_import_job.html", ctx)
    return render(request, "core/import_job.html", ctx)


def _max_bytes() -> int:
    return settings.IBMS_IMPORT_MAX_BYTES


def resource_urls():
    return [
        path("r/<slug:slug>/", resource_list, name="resource-list"),
        path("r/<slug:slug>/new/", resource_edit, name="resource-create"),
        path("r/<slug:slug>/template/", resource_template, name="resource-template"),
        path("r/<slug:slug>/import/", resource_import_view, name="resource-import"),
        path("r/<slug:slug>/import/jobs/<int:pk>/", resource_import_job, name="resource-import-job"),
        path("r/<slug:slug>/<int:pk>/", resource_detail, name="resource-detail"),
        path("r/<slug:slug>/<int:pk>/edit/", resource_edit, name="resource-edit"),
    ]


def navigation_groups(user) -> list[tuple[str, list[Resource]]]:
    groups: dict[str, list[Resource]] = {}
    for r in all_resources():
        if user.is_authenticated and user.has_perm(r.perm("view")):
            groups.setdefault(r.group, []).append(r)
    return list(groups.items())


def not_found(request, exception=None):
    """handler404: an address nothing answers — under /api/ the API's error format ({"code","message","detail"}),
    elsewhere the shared error page; the code is `not_found` either way."""
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "not_found", "message": "请求的资源不存在", "detail": None}, status=404,
                            json_dumps_params={"ensure_ascii": False})
    return render(request, "core/error.html", {"error": NotFound("页面")}, status=404)


def _error_page(request, error: DomainError, status: int):
    if request.path.startswith("/api/"):
        return JsonResponse(error.as_dict(), status=status, json_dumps_params={"ensure_ascii": False})
    return render(request, "core/error.html", {"error": error}, status=status)


def bad_request(request, exception=None):
    """handler400: a request Django itself refuses (a malformed header, too many fields …)."""
    return _error_page(request, DomainError(code="bad_request", message="请求格式有误，请返回重试"), 400)


def permission_denied(request, exception=None):
    """handler403: Django's own PermissionDenied (our services raise ibms.core.errors.PermissionDenied)."""
    return _error_page(request, PermissionDenied(), 403)


def csrf_failure(request, reason: str = ""):
    """CSRF_FAILURE_VIEW: a form posted without (or with a stale) token — usually a page left open too long."""
    log.warning("csrf failure: %s", reason)
    return _error_page(request, PermissionDenied("页面已过期或来源不明，请刷新页面后重新提交", code="csrf_failed"), 403)
