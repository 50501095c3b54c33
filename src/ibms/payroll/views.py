"""工资统发 pages: the runs of the user's units (generate a month), a run's detail (changes, slips; upload the
month's adjustments, submit, review, pay — only what the user's role may do in the run's state), the profiles and a
person's profile form, the region's summary by unit and item; downloads of the slip PDF, the monthly table, the
adjustment template and the summary. Thin: parse a form, call one service or selector, render; domain errors are
shown on the page with every reason (an import's with its row and column)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from ibms.core import clock, workflow
from ibms.core.errors import DomainError
from ibms.core.excel import ImportRejected
from ibms.core.money import MoneyFormField
from ibms.core.reports import report_response
from ibms.core.scoping import get_in_scope
from ibms.indicators.models import Indicator
from ibms.masterdata.models import Person, Unit

from . import exports, rules, selectors, services
from .models import PayrollRun, PersonStatus
from .services import adjustments, returns
from .services.pay import P_PAY, PERSONNEL_ECO
from .services.runs import P_ADD, P_REVIEW, P_SUBMIT
from .setup import DOC_RUN

S = PayrollRun.Status


class RunForm(forms.Form):
    unit_id = forms.TypedChoiceField(label="单位", coerce=int)
    year = forms.IntegerField(label="年度", min_value=2000, max_value=2100)
    month = forms.IntegerField(label="月份", min_value=1, max_value=12)

    def __init__(self, *args, user=None, **kw):
        super().__init__(*args, **kw)
        self.fields["unit_id"].choices = [(u.pk, f"{u.code} {u.name}")
                                          for u in Unit.objects.restrict(user).order_by("code")[:300]]


@login_required
def run_list(request):
    rows = selectors.run_list(actor=request.user)[:200]
    today = clock.today()
    return render(request, "payroll/run_list.html", {"rows": rows, "can_add": request.user.has_perm(P_ADD),
                                                     "year": today.year, "month": today.month})


@login_required
@require_http_methods(["GET", "POST"])
def run_new(request):
    today = clock.today()
    form = RunForm(request.POST or None, user=request.user, initial={"year": today.year, "month": today.month})
    errors: list = []
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            run = services.payroll_run_generate(actor=request.user, unit_id=d["unit_id"], year=d["year"],
                                                month=d["month"])
            return redirect("payroll:run-detail", pk=run.pk)
        except DomainError as exc:
            errors = exc.violations_or_self
    return render(request, "payroll/run_new.html", {"form": form, "errors": errors}, status=422 if errors else 200)


def _my_step(user, run) -> bool:
    """The run waits at a step of the chain whose role the user holds (and they did not submit it)."""
    if run.status != S.SUBMITTED or not user.has_perm(P_REVIEW):
        return False
    steps = workflow.approval_steps(DOC_RUN, run.region_code)
    if not steps:
        return False
    step = steps[min(max(run.current_step, 1), len(steps)) - 1]
    return step.role_code in getattr(user, "role_codes", set()) and run.submitted_by_id != user.pk


def _step_name(run) -> str:
    steps = workflow.approval_steps(DOC_RUN, run.region_code)
    return steps[min(max(run.current_step, 1), len(steps)) - 1].name if run.status == S.SUBMITTED and steps else ""


def _detail(request, run, errors=None, status=200, import_errors=None):
    u = request.user
    inds = []
    if run.status in (S.APPROVED, S.PAYING) and u.has_perm(P_PAY):
        inds = list(Indicator.objects.restrict(u).filter(unit_id=run.unit_id, is_executable=True,
                                                         dep_eco_code__startswith=PERSONNEL_ECO).order_by("code"))
    returned = returns.returned_lines(actor=u, pk=run.pk) if run.status == S.PAID else []
    return render(request, "payroll/run_detail.html", {
        "r": run, "slips": run.slips.order_by("id"), "items": rules.item_rules(run.region_code, run.year),
        "errors": errors or [], "indicators": inds, "import_errors": import_errors or [],
        "step_name": _step_name(run),
        "can_submit": run.status in (S.DRAFT, S.RETURNED) and u.has_perm(P_SUBMIT),
        "can_regenerate": run.status in (S.DRAFT, S.RETURNED) and u.has_perm(P_ADD),
        "can_adjust": run.status in adjustments.EDITABLE and u.has_perm(P_ADD),
        "can_review": _my_step(u, run), "returned": returned,
        "can_repay": bool(returned) and u.has_perm(P_PAY) and all(ln.fixed for ln in returned)}, status=status)


@login_required
def run_detail(request, pk: int):
    return _detail(request, selectors.run_get(actor=request.user, pk=pk))


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


ACTIONS = {
    "submit": lambda u, r, post: services.payroll_run_submit(actor=u, pk=r.pk),
    "regenerate": lambda u, r, post: services.payroll_run_generate(actor=u, unit_id=r.unit_id, year=r.year,
                                                                   month=r.month),
    "approve": lambda u, r, post: services.payroll_run_review(actor=u, pk=r.pk, approve=True,
                                                              comment=post.get("comment", "")),
    "return": lambda u, r, post: services.payroll_run_review(actor=u, pk=r.pk, approve=False,
                                                             comment=post.get("comment", "")),
    "pay": lambda u, r, post: services.payroll_run_pay(actor=u, pk=r.pk, indicator_id=_int(post.get("indicator_id"))),
    "repay": lambda u, r, post: returns.payroll_run_repay(actor=u, pk=r.pk),
}


@login_required
@require_POST
def run_action(request, pk: int, action: str):
    fn = ACTIONS.get(action)
    if fn is None:
        raise Http404
    run = selectors.run_get(actor=request.user, pk=pk)
    try:
        fn(request.user, run, request.POST)
    except DomainError as exc:
        return _detail(request, selectors.run_get(actor=request.user, pk=pk), exc.violations_or_self, status=422)
    return redirect("payroll:run-detail", pk=pk)


@login_required
@require_POST
def run_adjust(request, pk: int):
    run = selectors.run_get(actor=request.user, pk=pk)
    try:
        res = adjustments.payroll_run_adjust_file(actor=request.user, pk=pk, file=request.FILES.get("file"))
    except ImportRejected as exc:
        rows = [{"row": e.row or "", "column": e.column, "message": e.message, "code": e.code} for e in exc.errors]
        return _detail(request, run, [{"code": "import_rejected", "message": "导入失败，未保存任何数据：请按下列错误修改后重新上传"}],
                       status=422, import_errors=rows[:200])
    except DomainError as exc:
        return _detail(request, run, exc.violations_or_self, status=422)
    messages.success(request, f"已导入 {res.rows} 行，{res.changed} 人的工资已重新计算（含个人所得税）")
    return redirect("payroll:run-detail", pk=pk)


@login_required
def run_adjust_template(request, pk: int):
    run = selectors.run_get(actor=request.user, pk=pk)
    return exports.xlsx_response(adjustments.adjustment_template(run), f"工资调整-{run.number}.xlsx")


@login_required
def region_summary(request):
    today = clock.today()
    year, month = _int(request.GET.get("year")) or today.year, _int(request.GET.get("month")) or today.month
    month = month if 1 <= month <= 12 else today.month
    table = exports.region_summary(actor=request.user, year=year, month=month)
    return report_response(request, [table], filename=f"工资汇总表-{year}年{month}月", template="payroll/summary.html",
                           context={"year": year, "month": month, "months": range(1, 13)})


@login_required
def run_table(request, pk: int):
    run = selectors.run_get(actor=request.user, pk=pk)
    return exports.xlsx_response(exports.run_table(run), f"工资表-{run.number}.xlsx")


@login_required
def slip_pdf(request, pk: int, person_id: int):
    slip = selectors.slip_get(actor=request.user, run_id=pk, person_id=person_id)
    return exports.pdf_response(exports.slip_pdf(slip), f"工资条-{slip.run.number}-{slip.name}.pdf")


@login_required
def profile_list(request):
    people = (Person.objects.restrict(request.user).filter(is_active=True).select_related("unit", "pay_profile")
              .order_by("unit_id", "id")[:500])
    return render(request, "payroll/profile_list.html", {"people": people})


class ProfileForm(forms.Form):
    post = forms.CharField(label="岗位", max_length=50, required=False)
    grade = forms.CharField(label="职级/薪级", max_length=20, required=False)
    status = forms.ChoiceField(label="人员状态", choices=PersonStatus.choices)
    card_no = forms.CharField(label="工资卡号", max_length=40, required=False)
    card_bank = forms.CharField(label="开户银行", max_length=100, required=False)
    is_active = forms.BooleanField(label="发放中", required=False, initial=True)

    def __init__(self, *args, items=(), **kw):
        super().__init__(*args, **kw)
        self.item_codes = []
        for r in items:
            if r.method == "fixed":
                self.fields[f"i_{r.code}"] = MoneyFormField(label=f"{r.name}（元/月）", required=False)
                self.item_codes.append(r.code)


@login_required
@require_http_methods(["GET", "POST"])
def profile_edit(request, person_id: int):
    person = get_in_scope(Person.objects.select_related("unit"), request.user, what="人员", pk=person_id)
    items = rules.item_rules(person.region_code, clock.fiscal_year())
    profile = getattr(person, "pay_profile", None) if hasattr(person, "pay_profile") else None
    initial = {"status": PersonStatus.IN_SERVICE, "is_active": True, "post": person.post, "grade": person.grade}
    if profile is not None:
        initial = {"post": profile.post, "grade": profile.grade, "status": profile.status, "card_no": profile.card_no,
                   "card_bank": profile.card_bank, "is_active": profile.is_active,
                   **{f"i_{k}": v for k, v in profile.items.items()}}
    form = ProfileForm(request.POST or None, items=items, initial=initial)
    errors: list = []
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        amounts = {c: d[f"i_{c}"] for c in form.item_codes if d.get(f"i_{c}") not in (None, "")}
        try:
            services.pay_profile_save(actor=request.user, data=services.ProfileIn(
                person_id=person.pk, post=d["post"], grade=d["grade"], status=d["status"], card_no=d["card_no"],
                card_bank=d["card_bank"], items=amounts, is_active=d["is_active"]))
            return redirect("payroll:profiles")
        except DomainError as exc:
            errors = exc.violations_or_self
    history = selectors.profile_history(profile) if profile is not None else []
    return render(request, "payroll/profile_edit.html", {"person": person, "form": form, "errors": errors,
                                                         "history": history}, status=422 if errors else 200)
