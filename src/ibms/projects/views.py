"""Pages of the project library. Thin: parse, call one service or selector, render."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from ibms.core import clock, excel
from ibms.core.errors import DomainError, ValidationFailed, invalid
from ibms.core.scoping import VIEW, get_in_scope, require_perm
from ibms.core.services import ImportFailed
from ibms.core.views import xlsx_response

from . import forms as pf
from . import selectors, services
from .models import Attachment, Project
from .resources import EXPORT_COLUMNS, export_row, import_columns


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


@login_required
def project_list(request):
    g = request.GET
    filters = {"status": g.get("status", ""), "category": g.get("category", ""),
               "department_id": _int(g.get("department")), "year": _int(g.get("year")), "q": g.get("q", "").strip()}
    qs = selectors.project_list(request.user, **filters)
    if g.get("export") == "xlsx":
        rows = (export_row(p) for p in qs.prefetch_related("year_plans").iterator(chunk_size=2000))
        return xlsx_response(excel.export_rows(EXPORT_COLUMNS, rows, title="项目库"), "项目库.xlsx")
    page = Paginator(qs, 50).get_page(g.get("page"))
    query = g.copy()
    query.pop("page", None)
    return render(request, "projects/list.html", {
        "page": page, "filters": filters, "query": query.urlencode(), "statuses": Project.Status.choices,
        "categories": Project.Category.choices, "departments": selectors.department_list(request.user),
        "can_add": request.user.has_perm("projects.add_project"), "page_title": "项目库"})


def _form_errors(violations, form) -> list:
    """Violations that name a main-form field go beside it; the others are listed on top."""
    rest = []
    for v in violations:
        if v.field in form.fields and v.field not in form.errors:
            form.add_error(v.field, v.message)
        else:
            rest.append(v)
    return rest


@login_required
@require_http_methods(["GET", "POST"])
def project_edit(request, pk: int | None = None):
    project = None
    if pk is None:
        require_perm(request.user, "projects.add_project")
    else:
        require_perm(request.user, "projects.change_project")
        project = selectors.project_get(request.user, pk, "change")
    errors: list = []
    if request.method == "POST":
        parts = pf.build(request.user, request.POST, project)
        if all(p.is_valid() for p in parts):
            try:
                data = pf.to_data(*parts)
                if project is None:
                    project = services.project_create(actor=request.user, data=data)
                    messages.success(request, f"项目已录入，项目代码 {project.code}")
                else:
                    services.project_update(actor=request.user, pk=project.pk, data=data)
                    messages.success(request, "项目已保存")
                return redirect("projects:detail", project.pk)
            except ValidationFailed as exc:
                errors = _form_errors(exc.violations, parts[0])
    else:
        parts = pf.build(request.user, None, project)
    form, plans, costs, targets, needs = parts
    return render(request, "projects/form.html", {
        "form": form, "plans": plans, "costs": costs, "targets": targets, "needs": needs, "obj": project,
        "errors": errors, "page_title": "修改项目" if project else "录入项目"},
        status=422 if request.method == "POST" else 200)


@login_required
def project_detail(request, pk: int):
    p = selectors.project_get(request.user, pk)
    step = selectors.project_current_step(p)
    roles = getattr(request.user, "role_codes", set())
    can_review = (step is not None and request.user.has_perm("projects.review_project") and step.role_code in roles
                  and p.submitted_by_id != request.user.pk)
    can_change = selectors.project_can_change(request.user, p)
    return render(request, "projects/detail.html", {
        "p": p, "step": step, "can_review": can_review, "finance_step": step is not None and step.holder == "finance",
        "can_edit": can_change and p.status == Project.Status.DRAFT and p.origin != Project.Origin.GENERATED,
        "can_submit": can_change and p.status == Project.Status.DRAFT,
        "can_close": request.user.has_perm("projects.close_project") and p.status in (Project.Status.IN_LIBRARY, Project.Status.IN_BUDGET,
                                                                 Project.Status.EXECUTING),
        "history": selectors.project_history(p), "page_title": p.name,
        "cost_total": sum(c.amount for c in p.cost_lines.all())})


def _back(request, pk: int, exc: DomainError | None = None):
    if exc is not None:
        messages.error(request, exc.message)
    return redirect("projects:detail", pk)


@login_required
@require_POST
def project_submit(request, pk: int):
    try:
        services.project_submit(actor=request.user, pk=pk)
        messages.success(request, "项目已申报")
    except ValidationFailed as exc:
        return _back(request, pk, exc)
    return _back(request, pk)


@login_required
@require_POST
def project_review(request, pk: int):
    decision = request.POST.get("decision")
    score = None
    try:
        if request.POST.get("score", "").strip():
            try:
                score = Decimal(request.POST["score"].strip())
            except InvalidOperation:
                raise invalid("score_invalid", "专家评审得分必须是数字", "score")
        services.project_review(actor=request.user, pk=pk, approve=decision == "approve",
                                reason=request.POST.get("reason", ""), score=score)
        messages.success(request, "已审核通过" if decision == "approve" else "已退回")
    except ValidationFailed as exc:
        return _back(request, pk, exc)
    return _back(request, pk)


@login_required
@require_POST
def project_close(request, pk: int):
    try:
        services.project_close(actor=request.user, pk=pk, terminate=request.POST.get("terminate") == "1",
                               reason=request.POST.get("reason", ""))
    except ValidationFailed as exc:
        return _back(request, pk, exc)
    return _back(request, pk)


@login_required
@require_POST
def attachment_upload(request, pk: int):
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise invalid("attachment_required", "请选择要上传的文件", "file")
        services.attachment_add(actor=request.user, project_id=pk, upload=upload)
        messages.success(request, "附件已上传")
    except ValidationFailed as exc:
        return _back(request, pk, exc)
    return _back(request, pk)


@login_required
@require_POST
def attachment_delete(request, att_id: int):
    att = get_in_scope(Attachment.objects, request.user, VIEW, what="附件", permission="projects.view_project",
                       pk=att_id)
    services.attachment_remove(actor=request.user, attachment_id=att_id)
    return _back(request, att.project_id)


@login_required
def attachment_download(request, att_id: int):
    att = get_in_scope(Attachment.objects, request.user, VIEW, what="附件", permission="projects.view_project",
                       pk=att_id)
    return FileResponse(att.file.open("rb"), as_attachment=True, filename=att.name)


@login_required
@require_http_methods(["GET", "POST"])
def rank(request):
    require_perm(request.user, "projects.rank_project")
    departments = list(selectors.department_list(request.user))
    dept_id = _int(request.POST.get("department") or request.GET.get("department"))
    if dept_id is None and departments:
        dept_id = departments[0].pk
    if request.method == "POST" and dept_id:
        department, rows = selectors.project_rank_list(request.user, dept_id)
        wanted = []
        for i, p in enumerate(rows):
            n = _int(request.POST.get(f"rank-{p.pk}"))
            wanted.append((n if n is not None else 10**9, i, p.pk))
        try:
            changed = services.project_rank(actor=request.user, department_id=dept_id,
                                            ordered_ids=[pk for *_, pk in sorted(wanted)])
            messages.success(request, f"排序已保存（{changed} 个项目的位次有变化）")
        except ValidationFailed as exc:
            messages.error(request, exc.message)
        return redirect(f"{request.path}?department={dept_id}")
    department, rows = selectors.project_rank_list(request.user, dept_id) if dept_id else (None, [])
    return render(request, "projects/rank.html", {"departments": departments, "department": department,
                                                  "rows": rows, "page_title": "项目排序"})


@login_required
def import_template(request):
    require_perm(request.user, "projects.add_project")
    year = clock.fiscal_year()
    example = {"category": "3", "level": "1", "name": "义务教育薄弱环节改善", "unit_code": "001001",
               "start_year": year, "end_year": year + 2, "exp_func_code": "2050203", "fund_nature_code": "111",
               "amount_1": 50_000_000}
    return xlsx_response(excel.build_template(import_columns(year), title="项目导入", example=example),
                         "项目导入模板.xlsx")


@login_required
@require_http_methods(["GET", "POST"])
def import_projects(request):
    require_perm(request.user, "projects.add_project")
    ctx: dict = {"page_title": "项目导入"}
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise excel.ImportRejected([excel.RowError(0, "", "请选择要导入的 Excel 文件")])
            from django.conf import settings

            rows = excel.read_rows(upload, import_columns(), max_bytes=settings.IBMS_IMPORT_MAX_BYTES)
            ctx["result"] = services.projects_import(actor=request.user, rows=rows)
        except excel.ImportRejected as exc:
            ctx["problems"] = [{"row": e.row, "column": e.column, "message": e.message} for e in exc.errors]
        except ImportFailed as exc:
            ctx["problems"] = exc.detail
        except ValidationFailed as exc:
            ctx["problems"] = [{"row": 0, "column": "", "message": exc.message}]
    return render(request, "projects/import.html", ctx, status=422 if ctx.get("problems") else 200)


@login_required
@require_http_methods(["GET", "POST"])
def generate(request):
    require_perm(request.user, "projects.generate_project")
    units = selectors.unit_writable_list(request.user)
    ctx: dict = {"units": units, "year": clock.fiscal_year(), "page_title": "基本支出测算"}
    if request.method == "POST":
        unit_id, year = _int(request.POST.get("unit")), _int(request.POST.get("year")) or ctx["year"]
        ctx["year"] = year
        try:
            if unit_id is None:
                raise invalid("unit_required", "请选择单位", "unit")
            ctx["result"] = services.project_generate_basic(actor=request.user, unit_id=unit_id, year=year)
        except DomainError as exc:
            ctx["error"] = exc
    return render(request, "projects/generate.html", ctx, status=422 if ctx.get("error") else 200)
