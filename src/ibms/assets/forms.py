"""Forms of the asset pages (plain Django forms; the services validate)."""

from __future__ import annotations

from django import forms

from ibms.core.money import MoneyFormField
from ibms.masterdata.models import Unit

from . import rules
from .models import AssetChange


class OpeningForm(forms.Form):
    unit_id = forms.TypedChoiceField(label="使用单位", coerce=int)
    asset_class = forms.ChoiceField(label="资产分类（GB/T 14885）")
    name = forms.CharField(label="资产名称", max_length=200)
    quantity = forms.IntegerField(label="数量", min_value=1, initial=1)
    original_value = MoneyFormField(label="原值（元）")
    accumulated = MoneyFormField(label="已提累计折旧（元）", required=False)
    acquired_date = forms.DateField(label="取得日期", widget=forms.DateInput(attrs={"type": "date"}))
    location = forms.CharField(label="存放地点", max_length=120, required=False)
    user_name = forms.CharField(label="使用人", max_length=60, required=False)
    custodian = forms.CharField(label="保管人", max_length=60, required=False)
    source = forms.ChoiceField(label="来源", choices=[("opening", "存量录入"), ("donation", "接受捐赠")])

    def __init__(self, *args, user=None, **kw):
        super().__init__(*args, **kw)
        units = Unit.objects.restrict(user).order_by("code")[:300]
        self.fields["unit_id"].choices = [(u.pk, f"{u.code} {u.name}") for u in units]
        self.fields["asset_class"].choices = [(c.code, f"{c.code} {c.name}") for c in rules.classes().values()]


class ChangeForm(forms.Form):
    kind = forms.ChoiceField(label="变动类型", choices=[("transfer", "使用人/地点变更"), ("repair", "维修"),
                                                      ("dispose", "处置")])
    to_user_name = forms.CharField(label="新使用人", max_length=60, required=False)
    to_custodian = forms.CharField(label="新保管人", max_length=60, required=False)
    to_location = forms.CharField(label="新存放地点", max_length=120, required=False)
    amount = MoneyFormField(label="维修金额（元）", required=False)
    extends_life_months = forms.IntegerField(label="延长使用年限（月）", min_value=0, required=False)
    disposal = forms.ChoiceField(label="处置方式", choices=[("", "—"), *AssetChange.Disposal.choices], required=False)
    proceeds = MoneyFormField(label="处置收入（元，出售时）", required=False)
    to_unit_id = forms.TypedChoiceField(label="调入单位（无偿调拨）", coerce=int, required=False, empty_value=None)
    reason = forms.CharField(label="事由", max_length=300, required=False)

    def __init__(self, *args, user=None, region_code="", **kw):
        super().__init__(*args, **kw)
        units = Unit.objects.filter(region_code=region_code).order_by("code")[:300]
        self.fields["to_unit_id"].choices = [("", "—"), *[(u.pk, f"{u.code} {u.name}") for u in units]]


class RunForm(forms.Form):
    account_set_id = forms.TypedChoiceField(label="账套", coerce=int)
    year = forms.IntegerField(label="年度")
    month = forms.IntegerField(label="月份", min_value=1, max_value=12)

    def __init__(self, *args, sets=(), **kw):
        super().__init__(*args, **kw)
        self.fields["account_set_id"].choices = [(s.pk, str(s)) for s in sets]
