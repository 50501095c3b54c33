"""Entity forms: the one place where input for pages, API calls and Excel rows is parsed and checked."""

from __future__ import annotations

from django import forms

from ibms.core import codes
from ibms.core.forms import ScopedModelForm
from ibms.core.scoping import scope_of

from . import models as m


def _code_check(error: str | None) -> None:
    if error:
        raise forms.ValidationError(error, code="code_format")


class RegionForm(ScopedModelForm):
    parent = forms.ModelChoiceField(m.Region.objects.all(), to_field_name="code", required=False, label="上级区划")

    class Meta:
        model = m.Region
        fields = ["code", "name", "level", "parent", "is_active"]

    def clean_code(self):
        code = self.cleaned_data["code"].strip()
        _code_check(codes.region_code_error(code))
        return code

    def clean(self):
        data = super().clean()
        parent, level = data.get("parent"), data.get("level")
        if parent is not None and level is not None and level <= parent.level:
            self.add_error("level", forms.ValidationError("预算级次必须低于上级区划", code="level_order"))
        if parent is not None and self.instance.pk and parent.path.startswith(self.instance.path or "\0"):
            self.add_error("parent", forms.ValidationError("上级区划不能是自身或下级", code="tree_cycle"))
        return data


class FiscalYearForm(ScopedModelForm):
    class Meta:
        model = m.FiscalYear
        fields = ["year", "start_date", "end_date"]  # status: the year's life cycle (年终结账) only

    def clean(self):
        data = super().clean()
        s, e, y = data.get("start_date"), data.get("end_date"), data.get("year")
        if s and e and s > e:
            self.add_error("end_date", forms.ValidationError("结束日期不能早于开始日期", code="date_order"))
        if s and y and s.year != y:
            self.add_error("start_date", forms.ValidationError("开始日期应在该预算年度内", code="date_year"))
        return data


class HolidayForm(ScopedModelForm):
    class Meta:
        model = m.Holiday
        fields = ["date", "name", "is_workday"]


class ValueSetItemForm(ScopedModelForm):
    value_set = forms.ModelChoiceField(m.ValueSet.objects.all(), to_field_name="code", label="要素")
    parent_code = forms.CharField(label="上级代码", required=False, max_length=20)

    class Meta:
        model = m.ValueSetItem
        fields = ["value_set", "fiscal_year", "code", "name", "parent_code", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.parent_id:
            self.initial.setdefault("parent_code", self.instance.parent.code)

    def clean(self):
        data = super().clean()
        vs, year, pc = data.get("value_set"), data.get("fiscal_year"), (data.get("parent_code") or "").strip()
        self.parent_obj = None
        if vs and year and pc:
            # a parent is national or local to the user's own chain of regions, never a lower region's
            own = scope_of(self.user).reference_regions | {"", getattr(self.user, "region_code", "") or ""}
            self.parent_obj = (m.ValueSetItem.objects.restrict(self.user)
                               .filter(value_set=vs, fiscal_year=year, code=pc, region_code__in=own)
                               .order_by("-region_code").first())
            if self.parent_obj is None:
                self.add_error("parent_code", forms.ValidationError(f"上级代码 {pc} 不存在", code="parent_missing"))
            elif not (data.get("code") or "").startswith(pc):
                self.add_error("code", forms.ValidationError("下级代码必须以上级代码开头", code="code_prefix"))
        return data


class EcoMappingForm(ScopedModelForm):
    unit_type = forms.ChoiceField(choices=m.UnitType.choices, label="单位类型")

    class Meta:
        model = m.EcoMapping
        fields = ["fiscal_year", "dep_eco_code", "unit_type", "gov_eco_code"]


class UnitForm(ScopedModelForm):
    parent = forms.ModelChoiceField(m.Unit.objects.all(), to_field_name="code", required=False, label="上级单位")

    class Meta:
        model = m.Unit
        fields = ["code", "name", "parent", "uscc", "unit_type", "support_level", "division_code", "is_active"]

    def clean_code(self):
        code = self.cleaned_data["code"].strip()
        _code_check(codes.unit_code_error(code))
        return code

    def clean_uscc(self):
        uscc = (self.cleaned_data.get("uscc") or "").strip().upper()
        if uscc:
            _code_check(codes.uscc_error(uscc))
        return uscc

    def clean(self):
        data = super().clean()
        parent = data.get("parent")
        if parent is not None and self.instance.pk and parent.path.startswith(self.instance.path or "\0"):
            self.add_error("parent", forms.ValidationError("上级单位不能是自身或下级", code="tree_cycle"))
        return data


class PersonForm(ScopedModelForm):
    unit = forms.ModelChoiceField(m.Unit.objects.all(), to_field_name="code", label="单位")
    scoped_fields = {"unit": "view"}

    class Meta:
        model = m.Person
        fields = ["unit", "name", "id_number", "status", "staffing", "post", "grade", "basic_salary", "allowance",
                  "bonus", "performance_pay", "is_active"]

    def clean_id_number(self):
        value = self.cleaned_data["id_number"].strip().upper()
        _code_check(codes.id_number_error(value))
        return value


class ExpenditureStandardForm(ScopedModelForm):
    class Meta:
        model = m.ExpenditureStandard
        fields = ["fiscal_year", "code", "name", "category", "measure", "amount", "dep_eco_code", "unit_type",
                  "remark"]


class AgentBankForm(ScopedModelForm):
    class Meta:
        model = m.AgentBank
        fields = ["code", "name", "short_name", "is_active"]

    def clean_code(self):
        code = self.cleaned_data["code"].strip()
        _code_check(codes.bank_code_error(code))
        return code


class BankAccountForm(ScopedModelForm):
    unit = forms.ModelChoiceField(m.Unit.objects.all(), to_field_name="code", required=False, label="单位")
    bank = forms.ModelChoiceField(m.AgentBank.objects.all(), to_field_name="code", required=False,
                                  label="开户银行（联行号）")

    class Meta:
        model = m.BankAccount
        fields = ["unit", "account_type", "account_no", "account_name", "bank", "bank_name", "is_active"]

    def clean_account_no(self):
        value = self.cleaned_data["account_no"].strip()
        _code_check(codes.bank_account_error(value))
        return value


class PayeeForm(ScopedModelForm):
    unit = forms.ModelChoiceField(m.Unit.objects.all(), to_field_name="code", required=False, label="所属单位")

    class Meta:
        model = m.Payee
        fields = ["unit", "name", "kind", "account_no", "account_name", "bank_name", "bank_code", "id_code",
                  "is_active"]

    def clean_account_no(self):
        value = self.cleaned_data["account_no"].strip()
        _code_check(codes.bank_account_error(value))
        return value

    def clean_bank_code(self):
        value = (self.cleaned_data.get("bank_code") or "").strip()
        if value:
            _code_check(codes.bank_code_error(value))
        return value

    def clean(self):
        data = super().clean()
        idc, kind = (data.get("id_code") or "").strip().upper(), data.get("kind")
        if idc and kind == m.Payee.Kind.INDIVIDUAL:
            err = codes.id_number_error(idc)
            if err:
                self.add_error("id_code", forms.ValidationError(err, code="code_format"))
        elif idc and kind == m.Payee.Kind.CORPORATE:
            err = codes.uscc_error(idc)
            if err:
                self.add_error("id_code", forms.ValidationError(err, code="code_format"))
        data["id_code"] = idc
        return data


class BlacklistEntryForm(ScopedModelForm):
    class Meta:
        model = m.BlacklistEntry
        fields = ["name", "account_no", "id_code", "reason", "legal_basis", "valid_from", "valid_to"]
