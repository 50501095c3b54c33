"""Input parsing for the budgeting pages. The services check everything that matters (library, classifications,
ceilings); forms only turn text into values."""

from __future__ import annotations

from django import forms

from ibms.core.forms import ScopedModelForm
from ibms.core.money import MoneyFormField

from .models import BudgetLine, ReplyDeadline

DATE = forms.DateInput(attrs={"type": "date"})


class ReplyDeadlineForm(ScopedModelForm):
    class Meta:
        model = ReplyDeadline
        fields = ["level", "days", "basis"]


class LineForm(forms.Form):
    direction = forms.ChoiceField(label="收支", choices=BudgetLine.Direction.choices,
                                  initial=BudgetLine.Direction.EXPENDITURE)
    unit_id = forms.TypedChoiceField(label="单位", coerce=int, required=False, empty_value=None)
    project_id = forms.TypedChoiceField(label="项目", coerce=int, required=False, empty_value=None,
                                        help_text="支出预算必须选择已入库项目")
    revenue_code = forms.CharField(label="收入来源", required=False, max_length=20)
    fund_nature_code = forms.CharField(label="资金性质", required=False, max_length=10,
                                       help_text="留空取项目（或收入来源）的资金性质")
    exp_func_code = forms.CharField(label="支出功能分类", required=False, max_length=13, help_text="留空取项目的功能分类")
    dep_eco_code = forms.CharField(label="部门经济分类", required=False, max_length=20)
    gov_eco_code = forms.CharField(label="政府经济分类", required=False, max_length=11, help_text="留空按对照表生成")
    amount = MoneyFormField(label="金额（元）")
    is_gov_pur = forms.BooleanField(label="政府采购", required=False)
    sub_region_code = forms.CharField(label="接收区划（转移支付）", required=False, max_length=9)
    transfer_type_code = forms.CharField(label="转移支付类型", required=False, max_length=4)
    remark = forms.CharField(label="说明", required=False, max_length=200)

    def __init__(self, *args, units=(), projects=(), revenue_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit_id"].choices = [("", "（按项目）")] + [(u.pk, f"{u.code} {u.name}") for u in units]
        self.fields["project_id"].choices = [("", "（收入预算不选）")] + [
            (p.pk, f"{p.code} {p.name}（{p.get_category_display()}，{p.unit.name}）") for p in projects]
        self.fields["revenue_code"].widget = forms.Select(choices=[("", "（支出预算不选）"), *revenue_choices])


class CeilingForm(forms.Form):
    department_id = forms.TypedChoiceField(label="主管部门", coerce=int)
    fund_nature_code = forms.CharField(label="资金性质", required=False, max_length=10,
                                       help_text="上级代码涵盖下级；留空为全部资金")
    amount = MoneyFormField(label="控制数（元）")
    remark = forms.CharField(label="说明", required=False, max_length=200)

    def __init__(self, *args, departments=(), fund_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department_id"].choices = [(d.pk, f"{d.code} {d.name}") for d in departments]
        self.fields["fund_nature_code"].widget = forms.Select(choices=[("", "全部资金"), *fund_choices])


class ApprovalForm(forms.Form):
    doc_no = forms.CharField(label="人大批准文号", max_length=60)
    approval_date = forms.DateField(label="批准日期", widget=DATE)


class ReplyForm(forms.Form):
    doc_no = forms.CharField(label="批复文号", max_length=60)
    title = forms.CharField(label="批复标题", max_length=200, required=False)
    doc_date = forms.DateField(label="批复日期", widget=DATE)


class UnitReplyForm(forms.Form):
    department_id = forms.IntegerField(widget=forms.HiddenInput)
    reply_date = forms.DateField(label="批复日期", widget=DATE)
    doc_no = forms.CharField(label="批复文号", max_length=60, required=False)


class RoundForm(forms.Form):
    year = forms.IntegerField(label="预算年度", min_value=2000, max_value=2100)
    name = forms.CharField(label="名称", max_length=100, required=False)

