"""国库集中支付 pages: thin — parse a form, call one service or selector, render. Domain errors are shown on the
same page with their Chinese message and every reason."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from ibms.core import clock, excel
from ibms.core import selectors as core_selectors
from ibms.core.errors import DomainError
from ibms.core.money import MoneyFormField, format_fen
from ibms.core.reports import pdf_response
from ibms.core.scoping import CHANGE, VIEW, get_in_scope, require_perm
from ibms.core.views import xlsx_response

from . import exports, selectors, services
from .models import (
    Allocation,
    PaymentRequest,
    PaymentVoucher,
    ReconciliationRun,
    SetMode,
)
from .pdf import voucher_layout, voucher_pdf

# --- forms --------------------------------------------------------------------------------------------------------

class RequestForm(forms.Form):
    indicator_id = forms.IntegerField(label="指标", widget=forms.HiddenInput)
    amount = MoneyFormField(label="金额（元）")
    purpose = forms.CharField(label="用途", max_length=200)
    payee_id = forms.TypedChoiceField(label="收款人（目录）", coerce=int, required=False, empty_value=None)
    payee_name = forms.CharField(label="或手工录入：收款人名称", max_length=120, required=False)
    payee_account_no = forms.CharField(label="收款账号", max_length=32, required=False)
    payee_bank_name = forms.CharField(label="开户银行", max_length=100, required=False)
    set_mode_code = forms.ChoiceField(label="结算方式", choices=SetMode.choices, initial="1")
    contract_id = forms.TypedChoiceField(label="合同", coerce=int, required=False, empty_value=None)
    milestone = forms.IntegerField(label="付款期次（按合同付款计划的第几期）", required=False, min_value=1)
    expense = forms.ChoiceField(label="费用类型", choices=[("business", "业务活动费用"), ("admin", "单位管理费用")])
    business_type = forms.ChoiceField(label="支付业务类型", required=False,
                                      help_text="决定支付后记入的会计科目；不选则按经济分类确定")
    installation = forms.BooleanField(label="需安装的固定资产（记在建工程）", required=False)

    def __init__(self, *args, user=None, **kw):
        super().__init__(*args, **kw)
        self.fields["business_type"].choices = [("", "（按经济分类确定）")] + [
            (b.code, b.name) for b in selectors.business_type_list(clock.fiscal_year())]
        payees = selectors.payee_choices(actor=user)
        self.fields["payee_id"].choices = [("", "（手工录入）")] + [(p.pk, f"{p.name} {p.account_no}") for p in payees]
        contracts = selectors.contract_choices(actor=user)
        self.fields["contract_id"].choices = [("", "（无）")] + [(c.pk, f"{c.number} {c.name}") for c in contracts]

    def to_draft(self) -> services.DraftIn:
        d = self.cleaned_data
        return services.DraftIn(
            indicator_id=d["indicator_id"], amount=d["amount"], purpose=d["purpose"],
            payee=services.PayeeIn(payee_id=d.get("payee_id"), name=d.get("payee_name") or "",
                                   account_no=d.get("payee_account_no") or "",
                                   bank_name=d.get("payee_bank_name") or ""),
            set_mode_code=d["set_mode_code"], contract_id=d.get("contract_id"), milestone=d.get("milestone"),
            expense=d["expense"], business_type=d.get("business_type") or "", installation=bool(d.get("installation")))


class BatchForm(forms.Form):
    indicator_id = forms.IntegerField(label="指标", widget=forms.HiddenInput)
    purpose = forms.CharField(label="用途", max_length=200)
    is_payroll = forms.BooleanField(label="工资统发", required=False)
    file = forms.FileField(label="明细（Excel）")


BATCH_COLUMNS = [excel.Column("payee_name", "收款人", required=True, max_length=120),
                 excel.Column("payee_account_no", "收款账号", required=True, max_length=32),
                 excel.Column("payee_bank_name", "开户银行", required=True, max_length=100),
                 excel.Column("id_no", "证件号", max_length=18),
                 excel.Column("amount", "金额", required=True, kind="money"),
                 excel.Column("remark", "附言", max_length=100)]


class ContractForm(forms.Form):
    unit_id = forms.TypedChoiceField(label="预算单位", coerce=int)
    number = forms.CharField(label="合同编号", max_length=60)
    name = forms.CharField(label="合同名称", max_length=200)
    amount = MoneyFormField(label="合同金额（元）")
    sign_date = forms.DateField(label="签订日期", widget=forms.DateInput(attrs={"type": "date"}))
    payee_name = forms.CharField(label="供应商", max_length=120)
    payee_account_no = forms.CharField(label="供应商账号", max_length=32, required=False)
    plan_id = forms.TypedChoiceField(label="采购计划（已批准）", coerce=int, required=False, empty_value=None)
    milestones = forms.CharField(label="付款计划（每行：期次名称,金额元）", required=False,
                                 widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, user=None, **kw):
        super().__init__(*args, **kw)
        self.fields["unit_id"].choices = [(u.pk, f"{u.code} {u.name}")
                                          for u in selectors.unit_choices(actor=user)]
        from ibms.procurement.selectors import plans_for_contract

        self.fields["plan_id"].choices = [("", "（不关联采购计划）")] + [
            (p.pk, f"{p.number} {p.name}（{format_fen(p.amount)} 元）") for p in plans_for_contract(actor=user)[:200]]

    def clean_milestones(self):
        from ibms.procurement.domain import milestone_lines

        try:
            return milestone_lines(self.cleaned_data.get("milestones"))
        except ValueError as exc:
            raise forms.ValidationError(f"付款计划{exc}") from exc


class AllocationForm(forms.Form):
    indicator_id = forms.IntegerField(label="指标ID")
    alloc_type = forms.ChoiceField(label="拨款类型", choices=Allocation.Kind.choices)
    amount = MoneyFormField(label="金额（元）")
    purpose = forms.CharField(label="用途", max_length=200)
    payee_region_code = forms.CharField(label="收款区划（拨付下级财政）", max_length=9, required=False)
    payee_unit_id = forms.IntegerField(label="收款单位ID（拨付预算单位）", required=False)
    pin = forms.CharField(label="签名口令（PIN）", max_length=64, required=False,
                          widget=forms.PasswordInput(attrs={"autocomplete": "off"}))


class ReconForm(forms.Form):
    region_code = forms.CharField(label="财政区划", max_length=9)
    date = forms.DateField(label="对账日期", widget=forms.DateInput(attrs={"type": "date"}))
    agent_bank_code = forms.CharField(label="代理银行（空=全部）", max_length=12, required=False)


# --- payment requests -------------------------------------------------------------------------------------------

@login_required
def request_list(request):
    status = request.GET.get("status", "")
    q = request.GET.get("q", "")
    qs = selectors.request_list(actor=request.user, status=status, q=q)
    if request.GET.get("export") == "xlsx":
        return xlsx_response(exports.requests_xlsx(qs), "支付申请.xlsx")
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    return render(request, "treasury/request_list.html", {"page": page, "status": status, "q": q,
                                                          "statuses": PaymentRequest.Status.choices})


@login_required
def indicator_picker(request):
    """HTMX: executable indicators matching the search, with their available balance."""
    require_perm(request.user, "treasury.add_paymentrequest")
    rows = selectors.indicator_choices(actor=request.user, q=request.GET.get("q", "").strip())
    return render(request, "treasury/_indicator_picker.html", {"rows": rows})


@login_required
@require_http_methods(["GET", "POST"])
def request_new(request):
    require_perm(request.user, "treasury.add_paymentrequest")
    form = RequestForm(request.POST or None, user=request.user, initial={"indicator_id": request.GET.get("indicator")})
    errors: list = []
    if request.method == "POST" and form.is_valid():
        try:
            req = services.payment_request_create(actor=request.user, data=form.to_draft())
            messages.success(request, f"支付申请 {req.number} 已保存为草稿，检查无误后请提交")
            return redirect("treasury:request-detail", req.pk)
        except DomainError as exc:
            errors = exc.violations_or_self
    return render(request, "treasury/request_new.html", {"form": form, "errors": errors}, status=422 if errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def request_edit(request, pk: int):
    """Change a draft, or a request returned (退回) or withdrawn, before submitting it again."""
    require_perm(request.user, "treasury.change_paymentrequest")
    req = get_in_scope(PaymentRequest.objects, request.user, CHANGE, what="支付申请", pk=pk)
    initial = {"indicator_id": req.indicator_id, "amount": req.amount, "purpose": req.purpose,
               "payee_id": req.payee_id, "set_mode_code": req.set_mode_code, "contract_id": req.contract_id,
               "milestone": req.milestone, "expense": req.expense, "business_type": req.business_type,
               "installation": req.installation}
    if not req.payee_id:
        initial.update(payee_name=req.payee_name, payee_account_no=req.payee_account_no,
                       payee_bank_name=req.payee_bank_name)
    form = RequestForm(request.POST or None, user=request.user, initial=initial)
    if req.is_batch:
        form.fields["amount"].required = False
    errors: list = []
    if request.method == "POST" and form.is_valid():
        try:
            data = form.to_draft()
            if req.is_batch:
                data.amount, data.lines, data.is_payroll = 0, None, req.is_payroll
            services.payment_request_update(actor=request.user, pk=pk, data=data)
            messages.success(request, "支付申请已修改")
            return redirect("treasury:request-detail", pk)
        except DomainError as exc:
            errors = exc.violations_or_self
    return render(request, "treasury/request_new.html", {"form": form, "errors": errors, "r": req},
                  status=422 if errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def batch_new(request):
    require_perm(request.user, "treasury.add_paymentrequest")
    if request.GET.get("template"):
        return xlsx_response(excel.build_template(BATCH_COLUMNS, title="批量支付明细"), "批量支付明细模板.xlsx")
    form = BatchForm(request.POST or None, request.FILES or None, initial={"indicator_id": request.GET.get("indicator")})
    errors: list = []
    if request.method == "POST" and form.is_valid():
        try:
            rows = excel.read_rows(form.cleaned_data["file"], BATCH_COLUMNS)
            lines = [services.LineIn(r["payee_name"], str(r["payee_account_no"]), r["payee_bank_name"], r["amount"],
                                     r.get("id_no") or "", r.get("remark") or "") for r in rows]
            req = services.payment_request_create(actor=request.user, data=services.DraftIn(
                indicator_id=form.cleaned_data["indicator_id"], purpose=form.cleaned_data["purpose"], lines=lines,
                is_payroll=form.cleaned_data["is_payroll"]))
            messages.success(request, f"批量支付申请 {req.number} 已导入（{req.line_count} 笔）")
            return redirect("treasury:request-detail", req.pk)
        except excel.ImportRejected as exc:
            errors = [{"code": "import_rejected", "message": f"第{e.row}行 {e.column}：{e.message}"}
                      for e in exc.errors[:100]]
        except DomainError as exc:
            errors = exc.violations_or_self
    return render(request, "treasury/batch_new.html", {"form": form, "errors": errors}, status=422 if errors else 200)


def _can_review(user, req: PaymentRequest) -> bool:
    return req.status == PaymentRequest.Status.SUBMITTED and user.has_perm("treasury.review_paymentrequest") and any(
        r.pk == req.pk for r in selectors.review_queue(actor=user))


DONE = {"submit": "支付申请已提交审核", "withdraw": "支付申请已撤回", "approve": "审核通过", "reject": "已退回经办人"}


@login_required
@require_http_methods(["GET", "POST"])
def request_detail(request, pk: int):
    req = get_in_scope(PaymentRequest.objects.select_related("unit", "indicator", "contract"), request.user, VIEW,
                       what="支付申请", pk=pk)
    errors: list = []
    action = request.POST.get("action", "")
    explanation = request.POST.get("explanation", "")
    if request.method == "POST":
        try:
            if action == "submit":
                services.payment_request_submit(actor=request.user, pk=pk, explanation=explanation,
                                                idempotency_key=request.POST.get("idempotency_key", ""))
            elif action == "withdraw":
                services.payment_request_withdraw(actor=request.user, pk=pk)
            elif action in ("approve", "reject"):
                services.payment_request_review(actor=request.user, pk=pk, approve=action == "approve",
                                                comment=request.POST.get("comment", ""),
                                                pin=request.POST.get("pin", ""))
            messages.success(request, DONE.get(action, "已办理"))
            return redirect("treasury:request-detail", pk)
        except DomainError as exc:
            errors = exc.violations_or_self
    editable = req.status in PaymentRequest.EDITABLE and request.user.has_perm("treasury.submit_paymentrequest") and \
        selectors.payment_request_changeable(actor=request.user, pk=pk)
    check = services.payment_request_check(actor=request.user, pk=pk, explanation=explanation) if editable else None
    alerts = []
    try:
        from ibms.monitoring import selectors as mon

        alerts = mon.alert_list_for_subject("payment_request", req.pk)
    except ImportError:
        pass
    voucher = selectors.voucher_for_request(req)
    # only what the clerk must change in the request hides 提交 (a red warning asks for an explanation in this form)
    blocked = bool(check and (any(v.code != "explanation_required" for v in check.violations)
                              or any(h.action == "block" for h in check.hits)))
    return render(request, "treasury/request_detail.html", {
        "r": req, "errors": errors, "check": check, "editable": editable, "alerts": alerts, "voucher": voucher,
        "can_review": _can_review(request.user, req), "lines": req.lines.all()[:200],
        "review_signs": services.review_signer_kind(req), "review_signs_content": services.review_signs_content(req),
        "can_withdraw": req.status == "submitted" and request.user.has_perm("treasury.submit_paymentrequest"),
        "idempotency_key": uuid.uuid4().hex, "explanation": explanation,
        "business_type_name": selectors.business_type_name(req), "blocked": blocked,
        "history": core_selectors.document_history(req),
    }, status=422 if errors else 200)


@login_required
def review_queue(request):
    require_perm(request.user, "treasury.review_paymentrequest")
    return render(request, "treasury/review_queue.html", {"rows": selectors.review_queue(actor=request.user)})


# --- vouchers -------------------------------------------------------------------------------------------------------

@login_required
def voucher_list(request):
    state = request.GET.get("state", "")
    qs = selectors.voucher_list(actor=request.user, state=state, q=request.GET.get("q", ""))
    if request.GET.get("export") == "xlsx":
        return xlsx_response(exports.vouchers_xlsx(qs), "支付凭证.xlsx")
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    return render(request, "treasury/voucher_list.html", {"page": page, "state": state,
                                                          "states": PaymentVoucher.State.choices})


@login_required
@require_http_methods(["GET", "POST"])
def voucher_detail(request, pk: int):
    v = get_in_scope(PaymentVoucher.objects.select_related("request", "allocation"), request.user, VIEW,
                     what="支付凭证", pk=pk)
    errors: list = []
    if request.method == "POST":
        try:
            if request.POST.get("action") == "resend":
                services.voucher_resend(actor=request.user, pk=pk)
            else:
                services.voucher_query(actor=request.user, pk=pk)
            messages.success(request, "已按原凭证号重发" if request.POST.get("action") == "resend" else "已向银行发起状态查询")
            return redirect("treasury:voucher-detail", pk)
        except DomainError as exc:
            errors = exc.violations_or_self
    if request.GET.get("format") == "pdf":
        return pdf_response(voucher_pdf(v), f"支付凭证{v.number}.pdf")
    if request.GET.get("format") == "print":
        return render(request, "treasury/voucher_print.html", {"v": v, "layout": voucher_layout(v),
                                                               "details": v.details.all()[:2000]})
    return render(request, "treasury/voucher_detail.html", {
        "v": v, "events": v.events.all(), "details": v.details.all()[:200], "errors": errors,
        "refunds": v.refunds.all(), "can_act": request.user.has_perm("treasury.change_paymentvoucher")})


# --- contracts, allocations, reconciliation ---------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def contract_list(request):
    contracts = selectors.contract_list(actor=request.user)  # refuses (403) before the form is handled
    if request.method == "GET" and request.GET.get("export") == "xlsx":
        return xlsx_response(exports.contracts_xlsx(contracts), "合同.xlsx")
    initial = {"plan_id": request.GET.get("plan")} if request.GET.get("plan") else None
    form = ContractForm(request.POST or None, user=request.user, initial=initial) if request.user.has_perm(
        "treasury.add_contract") else None
    errors: list = []
    if request.method == "POST" and form is not None and form.is_valid():
        d = form.cleaned_data
        try:
            services.contract_create(actor=request.user, unit_id=d["unit_id"], number=d["number"], name=d["name"],
                                     amount=d["amount"], sign_date=d["sign_date"], payee_name=d["payee_name"],
                                     payee_account_no=d.get("payee_account_no") or "", plan_id=d.get("plan_id"),
                                     milestones=d["milestones"] if d.get("plan_id") or d["milestones"] else None)
            messages.success(request, f"合同 {d['number']} 已登记" + ("，待预算处备案审核" if d.get("plan_id") else ""))
            return redirect("treasury:contracts")
        except DomainError as exc:
            errors = exc.violations_or_self
    rows = contracts[:200]
    return render(request, "treasury/contract_list.html", {"rows": rows, "form": form, "errors": errors},
                  status=422 if errors else 200)


@login_required
@require_POST
def contract_close(request, pk: int):
    return _contract_act(request, lambda: services.contract_close(
        actor=request.user, pk=pk, terminate=request.POST.get("terminate") == "1", reason=request.POST.get("reason", "")))


@login_required
@require_POST
def contract_review(request, pk: int):
    return _contract_act(request, lambda: services.contract_review(
        actor=request.user, pk=pk, approve=request.POST.get("approve") == "1", comment=request.POST.get("comment", "")))


def _contract_act(request, act):
    try:
        c = act()
    except DomainError as exc:
        return render(request, "treasury/contract_list.html", {
            "rows": selectors.contract_list(actor=request.user)[:200], "form": None,
            "errors": exc.violations_or_self}, status=422)
    messages.success(request, f"合同 {c.number}：{c.get_status_display()}")
    return redirect("treasury:contracts")


@login_required
@require_http_methods(["GET", "POST"])
def allocation_list(request):
    allocations = selectors.allocation_list(actor=request.user)  # refuses (403) before the form is handled
    form = AllocationForm(request.POST or None) if request.user.has_perm("treasury.add_allocation") else None
    errors: list = []
    if request.method == "POST" and form is not None and form.is_valid():
        d = form.cleaned_data
        try:
            services.allocation_create(actor=request.user, indicator_id=d["indicator_id"], alloc_type=d["alloc_type"],
                                       amount=d["amount"], purpose=d["purpose"],
                                       payee_region_code=d.get("payee_region_code") or "",
                                       payee_unit_id=d.get("payee_unit_id"), pin=d.get("pin") or "")
            messages.success(request, "实拨凭证已签发并提交发送")
            return redirect("treasury:allocations")
        except DomainError as exc:
            errors = exc.violations_or_self
    rows = allocations[:200]
    return render(request, "treasury/allocation_list.html", {"rows": rows, "form": form, "errors": errors},
                  status=422 if errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def recon_list(request):
    runs = selectors.reconciliation_list(actor=request.user)  # refuses (403) before the form is handled
    can_run = request.user.has_perm("treasury.add_reconciliationrun")
    form = ReconForm(request.POST or None, initial={"region_code": getattr(request.user, "region_code", ""),
                                                     "date": clock.today()}) if can_run else None
    errors: list = []
    if request.method == "POST" and form is not None and form.is_valid():
        d = form.cleaned_data
        try:
            run = services.reconciliation_run(actor=request.user, region_code=d["region_code"], date=d["date"],
                                              agent_bank_code=d.get("agent_bank_code") or "")
            messages.success(request, "对账已完成")
            return redirect("treasury:recon-detail", run.pk)
        except DomainError as exc:
            errors = exc.violations_or_self
    rows = runs[:100]
    held = selectors.difference_held_list(actor=request.user)
    return render(request, "treasury/recon_list.html", {"rows": rows, "form": form, "errors": errors, "held": held}, status=422 if errors else 200)


@login_required
def recon_detail(request, pk: int):
    run = get_in_scope(ReconciliationRun.objects, request.user, VIEW, what="对账批次", pk=pk)
    return render(request, "treasury/recon_detail.html", {"run": run, "diffs": run.differences.all()})


@login_required
@require_POST
def difference_resolve(request, pk: int):
    try:
        d = services.difference_resolve(actor=request.user, pk=pk, resolution=request.POST.get("resolution", ""),
                                        reapply=request.POST.get("reapply") == "1")
        messages.success(request, "差异已处理")
        return redirect("treasury:recon-detail", d.run_id) if d.run_id else redirect("treasury:reconciliation")
    except DomainError as exc:
        return render(request, "treasury/recon_list.html", {"rows": [], "errors": exc.violations_or_self}, status=422)
