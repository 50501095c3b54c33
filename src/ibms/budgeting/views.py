"""Budget preparation pages: rounds, the round page with its stage and actions, the department workbench,
ceilings, the comparison, approval and reply forms, lists of lines and replies. Thin: parse, call one service
or selector, render; a refused action re-renders its page with every reason (status 422)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST
from django_tables2 import RequestConfig

from ibms.core.errors import DomainError, ValidationFailed
from ibms.core.reports import report_response
from ibms.core.scoping import CHANGE, require_perm, scope_of
from ibms.masterdata.models import Unit

from . import forms, selectors, services
from .filtersets import LineFilter, ReplyFilter
from .models import BudgetLine, BudgetRound, Ceiling, Submission, Version
from .tables import LineTable, ReplyTable

ROUND_ACTIONS = {
    "close_first_up": (services.round_first_up_close, "一上已结束，请下达控制数"),
    "start_second_up": (services.round_second_up_start, "已下达控制数，开始二上"),
    "consolidate": (services.round_consolidate, "已汇总，待人大批准"),
}


def _errors(exc: DomainError) -> list[str]:
    if isinstance(exc, ValidationFailed):
        return [v.message for v in exc.violations]
    return [exc.message]


def _is_finance(user) -> bool:
    return not scope_of(user).unit_path


# --- rounds -------------------------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def round_list(request):
    rounds = selectors.round_list(actor=request.user, year=request.GET.get("year") or None,
                                  stage=request.GET.get("stage", ""))  # refuses (403) before the form is handled
    form = forms.RoundForm(request.POST or None)
    error = None
    if request.method == "POST":
        if form.is_valid():
            try:
                rnd = services.round_create(actor=request.user, year=form.cleaned_data["year"],
                                            name=form.cleaned_data["name"])
                return redirect("budgeting:round", rnd.pk)
            except DomainError as exc:
                error = exc
    return render(request, "budgeting/round_list.html", {
        "rounds": rounds, "form": form, "error": error, "stages": BudgetRound.Stage.choices,
        "can_add": request.user.has_perm("budgeting.add_budgetround"), "page_title": "预算编制"},
        status=422 if error or form.errors else 200)


def _round_context(request, rnd: BudgetRound) -> dict:
    stages = list(BudgetRound.Stage.choices)
    current = [s for s, _ in stages].index(rnd.stage)
    can_manage = request.user.has_perm("budgeting.change_budgetround") and _is_finance(request.user)
    replies = list(selectors.reply_list(actor=request.user, rnd=rnd, strict=False))
    return {"rnd": rnd, "stages": [(i, s, label) for i, (s, label) in enumerate(stages)], "current": current,
            "rows": selectors.department_overview(actor=request.user, rnd=rnd), "can_manage": can_manage,
            "replies": replies, "unit_replies_pending": any(r.reply_date is None for r in replies),
            "can_reply_units": request.user.has_perm("budgeting.change_reply") and not _is_finance(request.user),
            "today_form": forms.UnitReplyForm(), "page_title": rnd.name}


@login_required
def round_detail(request, pk: int):
    rnd = selectors.round_get(actor=request.user, pk=pk)
    return render(request, "budgeting/round.html", _round_context(request, rnd))


@login_required
@require_POST
def round_action(request, pk: int, action: str):
    rnd = selectors.round_get(actor=request.user, pk=pk)
    if action not in ROUND_ACTIONS:
        return redirect("budgeting:round", pk)
    service, done = ROUND_ACTIONS[action]
    try:
        service(actor=request.user, round_id=rnd.pk)
    except DomainError as exc:
        ctx = _round_context(request, selectors.round_get(actor=request.user, pk=pk))
        ctx["errors"] = _errors(exc)
        return render(request, "budgeting/round.html", ctx, status=exc.http_status)
    messages.success(request, done)
    return redirect("budgeting:round", pk)


@login_required
@require_http_methods(["GET", "POST"])
def approval(request, pk: int):
    require_perm(request.user, "budgeting.change_budgetround")
    rnd = selectors.round_get(actor=request.user, pk=pk)
    form = forms.ApprovalForm(request.POST or None)
    errors = []
    if request.method == "POST" and form.is_valid():
        try:
            services.round_approval_record(actor=request.user, round_id=pk, doc_no=form.cleaned_data["doc_no"],
                                           approval_date=form.cleaned_data["approval_date"])
            messages.success(request, "已登记人大批准")
            return redirect("budgeting:round", pk)
        except DomainError as exc:
            errors = _errors(exc)
    return render(request, "budgeting/simple_form.html", {
        "rnd": rnd, "form": form, "errors": errors, "title": "登记人大批准", "button": "登记",
        "page_title": "登记人大批准"}, status=422 if errors or form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def reply(request, pk: int):
    require_perm(request.user, "budgeting.change_budgetround")
    rnd = selectors.round_get(actor=request.user, pk=pk)
    form = forms.ReplyForm(request.POST or None, initial={"title": f"关于批复{rnd.year}年部门预算的通知"})
    errors = []
    if request.method == "POST" and form.is_valid():
        try:
            services.round_reply(actor=request.user, round_id=pk, **form.cleaned_data)
            messages.success(request, "已批复，预算指标已生成")
            return redirect("budgeting:round", pk)
        except DomainError as exc:
            errors = _errors(exc)
    return render(request, "budgeting/simple_form.html", {
        "rnd": rnd, "form": form, "errors": errors, "title": "批复部门预算（生成预算指标）", "button": "批复",
        "page_title": "批复"}, status=422 if errors or form.errors else 200)


@login_required
@require_POST
def unit_replies(request, pk: int):
    form = forms.UnitReplyForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationFailed([])
        d = form.cleaned_data
        services.unit_replies_record(actor=request.user, round_id=pk, department_id=d["department_id"],
                                     reply_date=d["reply_date"], doc_no=d["doc_no"])
        messages.success(request, "已向所属单位批复")
    except DomainError as exc:
        messages.error(request, "；".join(_errors(exc)) or "请填写批复日期")
    return redirect("budgeting:round", pk)


# --- ceilings -----------------------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def ceilings(request, pk: int):
    rnd = selectors.round_get(actor=request.user, pk=pk, reading=Ceiling)
    depts = selectors.department_list(actor=request.user, rnd=rnd)
    form = forms.CeilingForm(request.POST or None, departments=depts,
                             fund_choices=selectors.value_set_choices("fund_type", rnd.year, leaves_only=False))
    errors = []
    if request.method == "POST":
        require_perm(request.user, "budgeting.add_ceiling")
        try:
            if request.POST.get("delete"):
                services.ceiling_delete(actor=request.user, ceiling_id=int(request.POST["delete"]))
                messages.success(request, "已删除控制数")
                return redirect("budgeting:ceilings", pk)
            if form.is_valid():
                services.ceiling_set(actor=request.user, round_id=pk, **form.cleaned_data)
                messages.success(request, "已下达控制数")
                return redirect("budgeting:ceilings", pk)
        except DomainError as exc:
            errors = _errors(exc)
    usage = [(d, selectors.ceiling_uses(rnd, d)) for d in depts]
    items = selectors.ceiling_list(actor=request.user, rnd=rnd)
    return render(request, "budgeting/ceilings.html", {
        "rnd": rnd, "form": form, "errors": errors, "usage": usage, "items": items,
        "can_edit": request.user.has_perm("budgeting.add_ceiling") and rnd.stage in ("ceilings", "second_up"),
        "page_title": "控制数"}, status=422 if errors or form.errors else 200)


# --- workbench ----------------------------------------------------------------------------------

def _default_version(rnd: BudgetRound) -> str:
    if rnd.open_version:
        return rnd.open_version
    return {"ceilings": Version.FIRST_UP, "approved": Version.REPLY, "replied": Version.REPLY}.get(
        rnd.stage, Version.FIRST_UP)


def _workbench_context(request, rnd: BudgetRound, dept: Unit, version: str) -> dict:
    groups = selectors.workbench(actor=request.user, rnd=rnd, department=dept, version=version)
    dept_sub = selectors.department_submission(rnd=rnd, version=version, department=dept)
    user = request.user
    editable = rnd.open_version == version and version != Version.REPLY and not _is_finance(user) and (
        dept_sub is None or dept_sub.status not in Submission.LOCKED)
    return {
        "rnd": rnd, "dept": dept, "version": version, "versions": Version.choices, "groups": groups,
        "dept_sub": dept_sub, "editable": editable and user.has_perm("budgeting.add_budgetline"),
        "finance_edit": rnd.open_version == version == Version.REPLY and _is_finance(user)
        and user.has_perm("budgeting.change_budgetline"),
        "can_submit": editable and user.has_perm("budgeting.submit_submission"),
        "can_review_dept": user.has_perm("budgeting.review_submission") and _is_finance(user),
        "can_review_units": user.has_perm("budgeting.review_submission") and not _is_finance(user),
        "uses": selectors.ceiling_uses(rnd, dept, version) if version == Version.SECOND_UP else [],
        "expenditure": sum(g.expenditure for g in groups), "revenue": sum(g.revenue for g in groups),
        "page_title": f"{dept.name} · {rnd.name}",
    }


@login_required
def workbench(request, pk: int, dept_id: int):
    rnd = selectors.round_get(actor=request.user, pk=pk, reading=BudgetLine)
    dept = selectors.department_get(actor=request.user, rnd=rnd, department_id=dept_id)
    version = request.GET.get("version") or _default_version(rnd)
    if version not in Version.values:
        version = _default_version(rnd)
    return render(request, "budgeting/workbench.html", _workbench_context(request, rnd, dept, version))


def _workbench_action(request, pk: int, call, done: str):
    rnd = selectors.round_get(actor=request.user, pk=pk)
    dept = selectors.department_get(actor=request.user, rnd=rnd, department_id=int(request.POST.get("dept_id") or 0))
    try:
        call(rnd)
    except DomainError as exc:
        rnd = selectors.round_get(actor=request.user, pk=pk)
        ctx = _workbench_context(request, rnd, dept, request.POST.get("version") or _default_version(rnd))
        ctx["errors"] = _errors(exc)
        ctx["error_title"] = exc.message.split("：", 1)[0] if isinstance(exc, ValidationFailed) else ""
        ctx["error_code"] = exc.code if not isinstance(exc, ValidationFailed) else exc.violations[0].code
        return render(request, "budgeting/workbench.html", ctx, status=exc.http_status)
    messages.success(request, done)
    return redirect(reverse("budgeting:workbench", args=[pk, dept.pk]) + f"?version={request.POST.get('version', '')}")


@login_required
@require_POST
def submit(request, pk: int):
    unit_id = int(request.POST.get("unit_id") or 0)
    return _workbench_action(request, pk, lambda rnd: services.submission_submit(
        actor=request.user, round_id=rnd.pk, unit_id=unit_id), "已报送")


@login_required
@require_POST
def generate(request, pk: int):
    unit_id = int(request.POST.get("unit_id") or 0)
    box: dict = {}

    def call(rnd):
        box["lines"] = services.lines_generate(actor=request.user, round_id=rnd.pk, unit_id=unit_id)

    response = _workbench_action(request, pk, call, "已从项目库生成预算明细")
    if "lines" in box:
        messages.info(request, f"新生成 {len(box['lines'])} 条明细")
    return response


@login_required
@require_POST
def review(request, pk: int, sub_id: int):
    approve = request.POST.get("decision") == "accept"
    reason = request.POST.get("reason", "")

    def call(rnd):
        sub = selectors.submission_get(actor=request.user, rnd=rnd, pk=sub_id)
        if approve:
            services.submission_accept(actor=request.user, submission_id=sub.pk, comment=reason)
        else:
            services.submission_return(actor=request.user, submission_id=sub.pk, reason=reason)

    return _workbench_action(request, pk, call, "已审核通过" if approve else "已退回")


@login_required
@require_POST
def line_delete(request, line_id: int):
    line = selectors.line_get(actor=request.user, pk=line_id, action=CHANGE)
    return _workbench_action(request, line.round_id, lambda rnd: services.line_delete(
        actor=request.user, line_id=line_id), "已删除明细")


@login_required
@require_http_methods(["GET", "POST"])
def line_edit(request, pk: int | None = None, line_id: int | None = None):
    line = None
    if line_id is not None:
        require_perm(request.user, "budgeting.change_budgetline")
        line = selectors.line_get(actor=request.user, pk=line_id, action=CHANGE)
        rnd = line.round
    else:
        require_perm(request.user, "budgeting.add_budgetline")
        rnd = selectors.round_get(actor=request.user, pk=pk)
    dept_id = line.department_id if line else int(request.GET.get("dept") or request.POST.get("dept") or 0)
    dept = selectors.department_get(actor=request.user, rnd=rnd, department_id=dept_id)
    units, projects = selectors.line_form_choices(actor=request.user, rnd=rnd, department=dept)
    initial = {}
    if line is not None:
        initial = {k: getattr(line, k) for k in forms.LineForm.base_fields}
    elif request.GET.get("unit"):
        initial = {"unit_id": request.GET["unit"], "direction": request.GET.get("direction", "expenditure")}
    form = forms.LineForm(request.POST or None, initial=initial, units=units, projects=projects,
                          revenue_choices=selectors.value_set_choices("bgt_revenue", rnd.year))
    errors: list[str] = []
    if request.method == "POST" and form.is_valid():
        data = services.LineData(**form.cleaned_data)
        if line is None and not data.is_gov_pur:
            data.is_gov_pur = None  # an unticked box on a new line: the project's 政府采购 flag
        try:
            if line is None:
                services.line_create(actor=request.user, round_id=rnd.pk, data=data)
            else:
                services.line_update(actor=request.user, line_id=line.pk, data=data)
            messages.success(request, "已保存预算明细")
            return redirect(reverse("budgeting:workbench", args=[rnd.pk, dept.pk]) + f"?version={rnd.open_version}")
        except DomainError as exc:
            errors = _errors(exc)
            if isinstance(exc, ValidationFailed):
                for v in exc.violations:
                    if v.field in form.fields:
                        form.add_error(v.field, v.message)
    return render(request, "budgeting/line_form.html", {
        "rnd": rnd, "dept": dept, "form": form, "line": line, "errors": errors,
        "page_title": "修改预算明细" if line else "新增预算明细"},
        status=422 if errors or form.errors else 200)


# --- comparison ---------------------------------------------------------------------------------

@login_required
def compare(request, pk: int):
    rnd = selectors.round_get(actor=request.user, pk=pk, reading=BudgetLine)
    depts = selectors.department_list(actor=request.user, rnd=rnd)
    dept_id = int(request.GET.get("department") or 0) or None
    direction = request.GET.get("direction", "expenditure")
    if direction not in BudgetLine.Direction.values:
        direction = "expenditure"
    rows = selectors.comparison(actor=request.user, rnd=rnd, department_id=dept_id, direction=direction)
    label = dict(BudgetLine.Direction.choices)[direction]
    table = selectors.comparison_table(rows, title=f"{rnd.name} {label}版本对比（一上 / 二上 / 批复）",
                                       subtitle="金额单位：元；差额为 二上−一上、批复−二上")
    return report_response(request, [table], filename=f"{rnd.name}版本对比", template="budgeting/compare.html",
                           context={"rnd": rnd, "depts": depts, "dept_id": dept_id, "direction": direction,
                                    "page_title": "版本对比"})


# --- lists --------------------------------------------------------------------------------------

@login_required
def line_list(request):
    return _filtered_list(request, selectors.line_list(actor=request.user), LineFilter, LineTable, "预算明细查询")


def _filtered_list(request, qs, filter_class, table_class, title: str):
    """A filtered, sortable, paged list; an HTMX request for `list-body` gets only the table."""
    fs = filter_class(request.GET or None, queryset=qs, user=request.user)
    qs = fs.qs if fs.is_bound and fs.is_valid() else qs
    table = table_class(qs)
    RequestConfig(request, paginate={"per_page": 50}).configure(table)
    ctx = {"table": table, "filter": fs, "title": title, "page_title": title}
    if getattr(request, "htmx", False) and request.htmx.target == "list-body":
        return render(request, "budgeting/list_partial.html", ctx)
    return render(request, "budgeting/list.html", ctx)


@login_required
def reply_list(request):
    return _filtered_list(request, selectors.reply_list(actor=request.user), ReplyFilter, ReplyTable, "预算批复情况")
