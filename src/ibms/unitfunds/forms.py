"""Forms of the unit-funds pages (plain Django forms; the services validate)."""

from __future__ import annotations

from django import forms

from ibms.core.money import MoneyFormField

from .models import IncomeKind, UnitAccount


class IncomeForm(forms.Form):
    account_id = forms.TypedChoiceField(label="实有资金账户", coerce=int)
    kind_code = forms.ChoiceField(label="收入分类")
    amount = MoneyFormField(label="金额（元）")
    income_date = forms.DateField(label="收款日期", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    payer_name = forms.CharField(label="付款人", max_length=120)
    summary = forms.CharField(label="摘要", max_length=200)

    def __init__(self, *args, user=None, **kw):
        super().__init__(*args, **kw)
        accounts = UnitAccount.objects.restrict(user).select_related("bank_account").filter(is_active=True)[:200]
        self.fields["account_id"].choices = [(a.pk, str(a)) for a in accounts]
        self.fields["kind_code"].choices = [(k.code, f"{k.category}／{k.name}") for k in IncomeKind.objects.all()]
