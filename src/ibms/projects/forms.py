"""The project entry form and its parts (formsets), turned into a `ProjectData` for the services."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from ibms.core import clock
from ibms.core.money import MoneyFormField

from . import selectors
from .domain import CostLineData, NeedData, ProjectData, TargetData
from .models import PerformanceTarget, ProcurementNeed, Project


def _choices(value_set: str, year: int, region: str, blank: bool = True) -> list[tuple[str, str]]:
    rows = [(c, f"{c} {n}") for c, n in selectors.value_set_leaves(value_set, year, region)]
    return ([("", "—")] if blank else []) + rows


class ProjectForm(forms.Form):
    unit = forms.ModelChoiceField(label="项目单位", queryset=None)
    name = forms.CharField(label="项目名称", max_length=200)
    category = forms.ChoiceField(label="项目类别")
    level = forms.TypedChoiceField(label="项目级次", choices=Project.Level.choices, coerce=int, initial=1)
    parent = forms.ModelChoiceField(label="所属一级项目", queryset=None, required=False,
                                    help_text="二级项目必选：本部门的一级项目")
    start_year = forms.IntegerField(label="开始年度", min_value=2000, max_value=2099)
    end_year = forms.IntegerField(label="结束年度", min_value=2000, max_value=2099)
    fund_nature_code = forms.ChoiceField(label="资金性质", required=False)
    exp_func_code = forms.ChoiceField(label="支出功能分类（项）", required=False)
    dep_eco_code = forms.ChoiceField(label="部门经济分类（款）", required=False)
    is_gov_pur = forms.BooleanField(label="政府采购", required=False)
    is_transfer = forms.BooleanField(label="转移支付项目", required=False)
    transfer_region_code = forms.CharField(label="转移支付接收区划", max_length=9, required=False)
    description = forms.CharField(label="项目概况", widget=forms.Textarea(attrs={"rows": 3}), required=False)
    basis = forms.CharField(label="立项依据", widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args, user, year: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        year = year or clock.fiscal_year()
        region = getattr(user, "region_code", "")
        self.fields["unit"].queryset = selectors.unit_writable_list(user)
        self.fields["parent"].queryset = selectors.project_parent_candidates(user)
        self.fields["category"].choices = _choices("pro_kind", year, region, blank=False)
        self.fields["fund_nature_code"].choices = _choices("fund_type", year, region)
        self.fields["exp_func_code"].choices = _choices("exp_func", year, region)
        self.fields["dep_eco_code"].choices = _choices("dep_eco", year, region)
        self.fields["start_year"].initial = self.fields["end_year"].initial = year
        org = getattr(user, "organization", None)
        if org is not None and org.unit_id:  # one's own unit first
            self.fields["unit"].initial = org.unit_id


class YearPlanForm(forms.Form):
    year = forms.IntegerField(label="年度", required=False, min_value=2000, max_value=2099)
    amount = MoneyFormField(label="计划金额（元）", required=False, help_text="留空则取该年度支出测算合计")


class CostLineForm(forms.Form):
    year = forms.IntegerField(label="年度", required=False, min_value=2000, max_value=2099)
    item = forms.CharField(label="测算内容", max_length=120, required=False)
    standard = forms.ModelChoiceField(label="支出标准", queryset=None, required=False)
    unit_price = MoneyFormField(label="单价（元，无标准时填写）", required=False)
    quantity = forms.DecimalField(label="数量", max_digits=16, decimal_places=4, required=False, min_value=0)
    frequency = forms.DecimalField(label="频次", max_digits=12, decimal_places=4, required=False, min_value=0)
    measure = forms.CharField(label="计量单位", max_length=20, required=False)
    dep_eco_code = forms.CharField(label="部门经济分类", max_length=20, required=False)

    def __init__(self, *args, region: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["standard"].queryset = selectors.standard_list(region)


class TargetForm(forms.Form):
    kind = forms.ChoiceField(label="一级指标", choices=[("", "—"), *PerformanceTarget.Kind.choices], required=False)
    sub_kind = forms.CharField(label="二级指标", max_length=40, required=False)
    name = forms.CharField(label="三级指标", max_length=120, required=False)
    operator = forms.ChoiceField(label="符号", choices=[(s, s) for s in ("≥", "≤", "=", ">", "<", "定性")],
                                 required=False)
    value = forms.CharField(label="指标值", max_length=40, required=False)
    measure = forms.CharField(label="计量单位", max_length=20, required=False)


class NeedForm(forms.Form):
    kind = forms.ChoiceField(label="类型", choices=[("", "—"), *ProcurementNeed.Kind.choices], required=False)
    item = forms.CharField(label="品目/资产名称", max_length=120, required=False)
    catalogue_code = forms.CharField(label="目录代码", max_length=30, required=False)
    quantity = forms.DecimalField(label="数量", max_digits=12, decimal_places=2, required=False, min_value=0)
    unit_price = MoneyFormField(label="单价（元）", required=False)
    standard = forms.ModelChoiceField(label="配置标准", queryset=None, required=False)
    existing_quantity = forms.DecimalField(label="现有数量", max_digits=12, decimal_places=2, required=False,
                                           min_value=0)
    remark = forms.CharField(label="说明", max_length=200, required=False)

    def __init__(self, *args, region: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["standard"].queryset = selectors.standard_list(region).filter(category="asset")


PlanFormSet = forms.formset_factory(YearPlanForm, extra=3)
CostFormSet = forms.formset_factory(CostLineForm, extra=3)
TargetFormSet = forms.formset_factory(TargetForm, extra=3)
NeedFormSet = forms.formset_factory(NeedForm, extra=2)


def build(user, data=None, project: Project | None = None):
    """The main form and the four formsets, filled from `project` when editing."""
    region = getattr(user, "region_code", "")
    initial = plans = costs = targets = needs = None
    if project is not None:
        initial = {"unit": project.unit_id, "name": project.name, "category": project.category,
                   "level": project.level, "parent": project.parent_id, "start_year": project.start_year,
                   "end_year": project.end_year, "fund_nature_code": project.fund_nature_code,
                   "exp_func_code": project.exp_func_code, "dep_eco_code": project.dep_eco_code,
                   "is_gov_pur": project.is_gov_pur, "is_transfer": project.is_transfer,
                   "transfer_region_code": project.transfer_region_code, "description": project.description,
                   "basis": project.basis}
        cost_lines = list(project.cost_lines.all())
        costed_years = {c.year for c in cost_lines}
        plans = [{"year": y.year, "amount": None if y.year in costed_years else y.amount}
                 for y in project.year_plans.all()]
        costs = [{"year": c.year, "item": c.item, "standard": c.standard_id,
                  "unit_price": None if c.standard_id else c.unit_price, "quantity": c.quantity,
                  "frequency": c.frequency, "measure": c.measure, "dep_eco_code": c.dep_eco_code}
                 for c in cost_lines]
        targets = [{"kind": t.kind, "sub_kind": t.sub_kind, "name": t.name, "operator": t.operator,
                    "value": t.value, "measure": t.measure} for t in project.performance_targets.all()]
        needs = [{"kind": n.kind, "item": n.item, "catalogue_code": n.catalogue_code, "quantity": n.quantity,
                  "unit_price": n.unit_price, "standard": n.standard_id, "existing_quantity": n.existing_quantity,
                  "remark": n.remark} for n in project.procurement_needs.all()]
    year = project.year if project is not None else None
    return (ProjectForm(data, user=user, year=year, initial=initial),
            PlanFormSet(data, prefix="plans", initial=plans),
            CostFormSet(data, prefix="costs", initial=costs, form_kwargs={"region": region}),
            TargetFormSet(data, prefix="targets", initial=targets),
            NeedFormSet(data, prefix="needs", initial=needs, form_kwargs={"region": region}))


def _rows(formset) -> list[dict]:
    return [f.cleaned_data for f in formset.forms if getattr(f, "cleaned_data", None)]


def to_data(form: ProjectForm, plans, costs, targets, needs) -> ProjectData:
    """Only call after every form is valid. Rows without their key field are ignored (blank rows)."""
    d = form.cleaned_data
    year_plans = {r["year"]: r.get("amount") for r in _rows(plans) if r.get("year")}
    cost_lines = [CostLineData(year=r.get("year") or d["start_year"], item=r.get("item") or "",
                               quantity=r.get("quantity") or Decimal(1), frequency=r.get("frequency") or Decimal(1),
                               standard_id=r["standard"].pk if r.get("standard") else None,
                               unit_price=r.get("unit_price") or 0, measure=r.get("measure") or "",
                               dep_eco_code=r.get("dep_eco_code") or "")
                  for r in _rows(costs) if (r.get("item") or r.get("standard"))]
    target_rows = [TargetData(kind=r.get("kind") or "", name=r.get("name") or "", value=r.get("value") or "",
                              measure=r.get("measure") or "", sub_kind=r.get("sub_kind") or "",
                              operator=r.get("operator") or "≥")
                   for r in _rows(targets) if r.get("name") or r.get("value")]
    need_rows = [NeedData(kind=r.get("kind") or "", item=r.get("item") or "", quantity=r.get("quantity") or Decimal(1),
                          unit_price=r.get("unit_price") or 0, catalogue_code=r.get("catalogue_code") or "",
                          standard_id=r["standard"].pk if r.get("standard") else None,
                          existing_quantity=r.get("existing_quantity") or Decimal(0), remark=r.get("remark") or "")
                 for r in _rows(needs) if r.get("item")]
    return ProjectData(
        unit_id=d["unit"].pk, name=d["name"], category=d["category"], start_year=d["start_year"],
        end_year=d["end_year"], level=d["level"], parent_id=d["parent"].pk if d.get("parent") else None,
        is_transfer=d.get("is_transfer", False), transfer_region_code=d.get("transfer_region_code") or "",
        fund_nature_code=d.get("fund_nature_code") or "", exp_func_code=d.get("exp_func_code") or "",
        dep_eco_code=d.get("dep_eco_code") or "", is_gov_pur=d.get("is_gov_pur", False),
        description=d.get("description") or "", basis=d.get("basis") or "", year_plans=year_plans,
        cost_lines=cost_lines, targets=target_rows, needs=need_rows)
