from __future__ import annotations

import json

from django import forms

from .models import Action, Level, Stage


class RuleForm(forms.Form):
    code = forms.CharField(label="规则编码", max_length=30)
    name = forms.CharField(label="规则名称", max_length=100)
    catalogue_no = forms.CharField(label="目录编号", max_length=20, required=False)
    level = forms.ChoiceField(label="规则级次", choices=Level.choices)
    department_code = forms.CharField(label="主管部门代码（部门级）", max_length=21, required=False)
    stage = forms.ChoiceField(label="监控环节", choices=Stage.choices)
    action = forms.ChoiceField(label="处理方式", choices=Action.choices)
    condition = forms.CharField(label="触发条件（CEL）", widget=forms.Textarea(attrs={"rows": 4, "class": "mono"}),
                                help_text="可用：payment.*、indicator.*、unit.*、payee.*、history.*、params.*")
    params = forms.CharField(label="参数（JSON）", required=False, widget=forms.Textarea(attrs={"rows": 3, "class": "mono"}))
    message = forms.CharField(label="提示信息", max_length=300,
                              help_text="{payment.amount:yuan} 显示为元；{params.limit} 引用参数")
    valid_from = forms.DateField(label="生效日期", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    valid_to = forms.DateField(label="失效日期", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    legal_basis = forms.CharField(label="依据", max_length=300, required=False)
    provenance = forms.CharField(label="来源说明", max_length=300, required=False)

    def clean_params(self):
        text = (self.cleaned_data.get("params") or "").strip()
        if not text:
            return {}
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"参数不是有效的 JSON：{exc.msg}（第 {exc.lineno} 行）") from exc
        if not isinstance(value, dict):
            raise forms.ValidationError("参数必须是 JSON 对象（{…}）")
        return value


class BacktestForm(forms.Form):
    date_from = forms.DateField(label="开始日期", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="结束日期", widget=forms.DateInput(attrs={"type": "date"}))


class WhitelistForm(forms.Form):
    rule_id = forms.TypedChoiceField(label="规则", coerce=int)
    region_code = forms.CharField(label="财政区划", max_length=9, required=False, help_text="空 = 本级区划")
    unit_code = forms.CharField(label="单位代码", max_length=21, required=False)
    payee_account = forms.CharField(label="收款账号", max_length=40, required=False)
    indicator_code = forms.CharField(label="指标编码", max_length=24, required=False)
    legal_basis = forms.CharField(label="豁免依据", max_length=300)
    valid_from = forms.DateField(label="生效日期", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    valid_to = forms.DateField(label="失效日期", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, rules=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rule_id"].choices = [(r.pk, f"{r.code} {r.name}") for r in rules]
