"""Forms of the indicator pages: parse and clean input, nothing else (the services decide)."""

from __future__ import annotations

from django import forms

from ibms.core import clock
from ibms.core.money import MoneyFormField

from .models import SourceDocument, TransferNotice
from .selectors import FLAG_FIELDS

K = SourceDocument.Kind


class FilterForm(forms.Form):
    year = forms.IntegerField(label="年度", required=False)
    unit = forms.CharField(label="单位代码", required=False, max_length=21)
    department = forms.CharField(label="主管部门代码", required=False, max_length=21)
    source_kind = forms.ChoiceField(label="来源", required=False, choices=[("", "全部"), *K.choices])
    fund = forms.CharField(label="资金性质", required=False, max_length=20)
    func = forms.CharField(label="功能分类", required=False, max_length=20)
    flag = forms.MultipleChoiceField(label="标识", required=False, choices=list(FLAG_FIELDS.items()),
                                     widget=forms.CheckboxSelectMultiple)
    executable = forms.ChoiceField(label="可执行", required=False,
                                   choices=[("", "全部"), ("1", "可执行"), ("0", "待分")])
    q = forms.CharField(label="关键字", required=False, max_length=60)

    def params(self) -> dict:
        d = self.cleaned_data if self.is_bound and self.is_valid() else {}
        executable = {"1": True, "0": False}.get(d.get("executable") or "")
        return {"year": d.get("year"), "unit_code": d.get("unit") or "", "department_code": d.get("department") or "",
                "source_kind": d.get("source_kind") or "", "fund_nature_code": d.get("fund") or "",
                "exp_func_code": d.get("func") or "", "flags": d.get("flag") or [], "executable": executable,
                "q": d.get("q") or ""}


class DocFields(forms.Form):
    doc_no = forms.CharField(label="文号", max_length=60)
    doc_title = forms.CharField(label="文件标题", max_length=200)
    doc_date = forms.DateField(label="发文日期", required=False, widget=forms.DateInput(attrs={"type": "date"}),
                               help_text="不填为当天")


class AmountForm(DocFields):
    amount = MoneyFormField(label="金额（元）")
    memo = forms.CharField(label="摘要", max_length=300, required=False)


class IncreaseForm(AmountForm):
    kind = forms.ChoiceField(label="依据", choices=[(K.SUPPLEMENT, K.SUPPLEMENT.label),
                                                   (K.RESERVE_FUND, K.RESERVE_FUND.label),
                                                   (K.TRANSFER_ADVANCE, K.TRANSFER_ADVANCE.label),
                                                   (K.TRANSFER_FORMAL, K.TRANSFER_FORMAL.label)])
    upper_doc_no = forms.CharField(label="上级文号", max_length=60, required=False, help_text="依据为上级转移支付时必填")
    field_order = ["kind", "amount", "doc_no", "doc_title", "doc_date", "upper_doc_no", "memo"]


class AdjustForm(DocFields):
    direction = forms.ChoiceField(label="方向", choices=[("+", "调增"), ("-", "调减")])
    amount = MoneyFormField(label="金额（元）")
    adj_batch_no = forms.CharField(label="调整批次号", max_length=30)
    memo = forms.CharField(label="摘要", max_length=300, required=False)
    field_order = ["direction", "amount", "adj_batch_no", "doc_no", "doc_title", "doc_date", "memo"]


class SplitForm(forms.Form):
    unit_code = forms.CharField(label="单位代码", max_length=21)
    amount = MoneyFormField(label="金额（元）")
    dep_eco_code = forms.CharField(label="部门经济分类", max_length=20, required=False)


SplitFormSet = forms.formset_factory(SplitForm, extra=5, max_num=500, validate_max=True)


class TransferForm(DocFields):
    rec_region_code = forms.CharField(label="接收区划代码", max_length=9)
    amount = MoneyFormField(label="金额（元）")
    kind = forms.ChoiceField(label="下达方式", choices=TransferNotice.Kind.choices, initial=TransferNotice.Kind.FORMAL)
    transfer_type = forms.ChoiceField(label="转移支付类型", choices=TransferNotice.TransferType.choices,
                                      initial=TransferNotice.TransferType.SPECIAL)
    field_order = ["rec_region_code", "amount", "kind", "transfer_type", "doc_no", "doc_title", "doc_date"]


class ReceiveForm(forms.Form):
    doc_no = forms.CharField(label="本级登记文号", max_length=60)
    doc_title = forms.CharField(label="文件标题", max_length=200, required=False, help_text="不填沿用上级文件标题")
    doc_date = forms.DateField(label="登记日期", required=False, widget=forms.DateInput(attrs={"type": "date"}))


class OutLineForm(forms.Form):
    indicator_code = forms.CharField(label="调出指标编码", max_length=24)
    amount = MoneyFormField(label="金额（元）")


class InLineForm(forms.Form):
    indicator_code = forms.CharField(label="调入指标编码", max_length=24, required=False,
                                     help_text="调入已有指标时填写；调入新指标时留空并填写单位")
    unit_code = forms.CharField(label="调入单位代码", max_length=21, required=False)
    exp_func_code = forms.CharField(label="功能分类", max_length=20, required=False)
    dep_eco_code = forms.CharField(label="部门经济分类", max_length=20, required=False)
    amount = MoneyFormField(label="金额（元）")

    def clean(self):
        data = super().clean()
        if not data.get("indicator_code") and not data.get("unit_code"):
            raise forms.ValidationError("请填写调入指标编码，或调入新指标的单位代码", code="target_required")
        return data


OutFormSet = forms.formset_factory(OutLineForm, extra=2, max_num=200, validate_max=True)
InFormSet = forms.formset_factory(InLineForm, extra=3, max_num=200, validate_max=True)


class ReallocationForm(forms.Form):
    reason = forms.CharField(label="调剂事由", max_length=300, widget=forms.Textarea(attrs={"rows": 2}))


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(label="审核结果", choices=[("approve", "同意"), ("reject", "退回")],
                                 widget=forms.RadioSelect)
    comment = forms.CharField(label="审核意见", max_length=300, required=False)


def default_date(value, region_code: str):
    return value or clock.today(region_code)
