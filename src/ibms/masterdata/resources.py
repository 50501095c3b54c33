"""Each master-data entity declared once: pages, API, Excel template/import/export."""

from __future__ import annotations

from ibms.core import audit
from ibms.core.errors import ValidationFailed, Violation, invalid
from ibms.core.excel import Column
from ibms.core.numbering import next_number
from ibms.core.resources import Resource, register

from . import forms as f
from . import models as m

C = Column


def _region_from_actor(obj, user) -> None:
    if obj._state.adding and not getattr(obj, "region_code", ""):
        obj.region_code = getattr(user, "region_code", "") or ""
        if not obj.region_code:
            raise invalid("no_region", "当前用户未归属任何财政区划，不能维护业务数据")


def _same_region(obj, *names: str) -> None:
    bad = [Violation("cross_region", f"{obj._meta.get_field(n).verbose_name}必须属于本区划", n)
           for n in names if getattr(obj, n) is not None and getattr(obj, n).region_code != obj.region_code]
    if bad:
        raise ValidationFailed(bad)


def prepare_region(obj: m.Region, user) -> None:
    if obj.pk:
        old = m.Region.objects.get(pk=obj.pk)
        if old.parent_id != obj.parent_id and old.children.exists():
            raise invalid("tree_move", "有下级区划的区划不能调整上级", "parent")
        if old.code != obj.code:
            raise invalid("code_immutable", "区划代码不能修改", "code")
    obj.path = (obj.parent.path if obj.parent else "/") + obj.code + "/"


def prepare_unit(obj: m.Unit, user) -> None:
    _region_from_actor(obj, user)
    _same_region(obj, "parent")
    if obj.pk:
        old = m.Unit.objects.get(pk=obj.pk)
        if old.code != obj.code:
            raise invalid("code_immutable", "单位代码不能修改", "code")
        if old.parent_id != obj.parent_id and old.children.exists():
            raise invalid("tree_move", "有下级单位的单位不能调整上级", "parent")
    obj.path = (obj.parent.path if obj.parent else "/") + obj.code + "/"
    obj.department = (obj.parent.department or obj.parent) if obj.parent else None


def prepare_person(obj: m.Person, user) -> None:
    obj.region_code = obj.unit.region_code


def prepare_with_unit(obj, user) -> None:
    _region_from_actor(obj, user)
    _same_region(obj, "unit")


def prepare_account(obj: m.BankAccount, user) -> None:
    prepare_with_unit(obj, user)
    _same_region(obj, "bank")


def prepare_value_item(obj: m.ValueSetItem, user) -> None:
    if obj._state.adding:
        obj.region_code = getattr(user, "region_code", "") or ""
    form_parent = getattr(obj, "_form_parent", None)
    obj.parent = form_parent
    obj.level = form_parent.level + 1 if form_parent else 1


def after_value_item(obj: m.ValueSetItem, user, created: bool) -> None:
    """A child makes its parent non-leaf. An upper level's (e.g. national) parent is not the user's to change:
    it stays a leaf for everyone else, and `selectors.is_leaf_for` sees the local child within this chain."""
    parent = obj.parent
    if created and parent is not None and parent.is_leaf and parent.region_code == obj.region_code:
        before = audit.snapshot(parent)
        m.ValueSetItem.objects.filter(pk=parent.pk).update(is_leaf=False)
        audit.record_change(parent, "update", before)


def prepare_blacklist(obj: m.BlacklistEntry, user) -> None:
    _region_from_actor(obj, user)
    if obj._state.adding:
        obj.number = next_number(f"HMD{obj.region_code}-{obj.valid_from.year}-", width=5)
    elif obj.status not in (m.BlacklistEntry.Status.DRAFT, m.BlacklistEntry.Status.REJECTED):
        raise invalid("not_editable", "已提交或已生效的黑名单不能修改，请撤销后重新登记")


class _ValueItemForm(f.ValueSetItemForm):
    def save(self, commit=True):
        obj = super().save(commit=False)
        obj._form_parent = self.parent_obj
        return obj


BOOL = "bool"
YES_NO = [("是", "是"), ("否", "否")]

register(Resource(
    m.Region, "regions", "财政区划", f.RegionForm, ["code", "name", "level", "parent", "is_active"],
    filter_fields=["level", "is_active"], search_fields=["code", "name"], natural_key=["code"],
    excel=[C("code", "区划代码", True, max_length=9), C("name", "区划名称", True),
           C("level", "预算级次", True, kind="choice", choices=[(str(k), v) for k, v in m.Region._meta.get_field(
               "level").choices]),
           C("parent", "上级区划代码", max_length=9), C("is_active", "启用", kind=BOOL)],
    prepare=prepare_region,
))
register(Resource(
    m.FiscalYear, "fiscal-years", "预算年度", f.FiscalYearForm,
    ["year", "region_code", "status", "start_date", "end_date"], filter_fields=["status", "year"],
    natural_key=["year"], prepare=_region_from_actor,
    excel=[C("year", "预算年度", True, kind="int"),
           C("start_date", "开始日期", True, kind="date"), C("end_date", "结束日期", True, kind="date")],
))
register(Resource(
    m.Holiday, "holidays", "节假日", f.HolidayForm, ["date", "name", "is_workday", "region_code"],
    filter_fields=["is_workday"], search_fields=["name"], natural_key=["date"], prepare=_region_from_actor,
    excel=[C("date", "日期", True, kind="date"), C("name", "名称", True), C("is_workday", "调休上班", kind=BOOL)],
))
register(Resource(
    m.ValueSetItem, "value-items", "要素值（分类与代码）", _ValueItemForm,
    ["code", "name", "value_set", "fiscal_year", "level", "is_leaf", "region_code", "is_active"],
    filter_fields=["value_set", "fiscal_year", "is_leaf", "level"], search_fields=["code", "name"],
    prepare=prepare_value_item, after_save=after_value_item, ordering=["value_set", "fiscal_year", "code"],
    excel=[C("value_set", "要素代码", True), C("fiscal_year", "年度", True, kind="int"), C("code", "代码", True),
           C("name", "名称", True), C("parent_code", "上级代码"), C("is_active", "启用", kind=BOOL)],
))
register(Resource(
    m.EcoMapping, "eco-mappings", "经济分类对照", f.EcoMappingForm,
    ["fiscal_year", "dep_eco_code", "unit_type", "gov_eco_code", "region_code"],
    filter_fields=["fiscal_year", "unit_type"], search_fields=["dep_eco_code", "gov_eco_code"],
    prepare=_region_from_actor,
    excel=[C("fiscal_year", "年度", True, kind="int"), C("dep_eco_code", "部门经济分类", True),
           C("unit_type", "单位类型", True, kind="choice", choices=m.UnitType.choices),
           C("gov_eco_code", "政府经济分类", True)],
))
register(Resource(
    m.Unit, "units", "预算单位", f.UnitForm,
    ["code", "name", "parent", "unit_type", "support_level", "region_code", "is_active"],
    filter_fields=["region_code", "unit_type", "support_level", "is_active"], search_fields=["code", "name", "uscc"],
    natural_key=["code"], prepare=prepare_unit, ordering=["region_code", "code"],
    excel=[C("code", "单位代码", True, max_length=21), C("name", "单位名称", True),
           C("parent", "上级单位代码"), C("uscc", "统一社会信用代码", max_length=18),
           C("unit_type", "单位类型", True, kind="choice", choices=m.UnitType.choices),
           C("support_level", "财政供养方式", True, kind="choice", choices=m.Unit.Support.choices),
           C("division_code", "归口处室"), C("is_active", "启用", kind=BOOL)],
))
register(Resource(
    m.Person, "people", "人员信息", f.PersonForm,
    ["name", "unit", "status", "staffing", "post", "basic_salary", "allowance", "is_active"],
    filter_fields=["status", "staffing", "is_active"], search_fields=["name", "unit__name", "unit__code"],
    natural_key=["id_number"], prepare=prepare_person,
    excel=[C("unit", "单位代码", True), C("name", "姓名", True), C("id_number", "身份证号", True, max_length=18),
           C("status", "人员状态", True, kind="choice", choices=m.Person.Status.choices),
           C("staffing", "编制类型", True, kind="choice", choices=m.Person.Staffing.choices),
           C("post", "职务"), C("grade", "级别"), C("basic_salary", "基本工资（月）", kind="money"),
           C("allowance", "津贴补贴（月）", kind="money"), C("bonus", "奖金（月）", kind="money"),
           C("performance_pay", "绩效工资（月）", kind="money"), C("is_active", "启用", kind=BOOL)],
))
register(Resource(
    m.ExpenditureStandard, "standards", "支出标准", f.ExpenditureStandardForm,
    ["code", "name", "fiscal_year", "category", "measure", "amount", "region_code"],
    filter_fields=["fiscal_year", "category"], search_fields=["code", "name"], natural_key=["fiscal_year", "code"],
    prepare=_region_from_actor,
    excel=[C("fiscal_year", "年度", True, kind="int"), C("code", "标准代码", True), C("name", "标准名称", True),
           C("category", "类别", True, kind="choice", choices=m.ExpenditureStandard.Category.choices),
           C("measure", "计量单位", True), C("amount", "标准金额", True, kind="money"),
           C("dep_eco_code", "部门经济分类"),
           C("unit_type", "适用单位类型", kind="choice", choices=m.UnitType.choices), C("remark", "说明")],
))
register(Resource(
    m.AgentBank, "agent-banks", "代理银行", f.AgentBankForm, ["code", "name", "short_name", "region_code", "is_active"],
    filter_fields=["is_active"], search_fields=["code", "name"], natural_key=["code"], prepare=_region_from_actor,
    excel=[C("code", "联行号", True, max_length=12), C("name", "银行名称", True), C("short_name", "简称"),
           C("is_active", "启用", kind=BOOL)],
))
register(Resource(
    m.BankAccount, "bank-accounts", "银行账户", f.BankAccountForm,
    ["account_no", "account_name", "account_type", "unit", "bank_name", "is_active"],
    filter_fields=["account_type", "is_active"], search_fields=["account_no", "account_name"],
    natural_key=["account_no"], prepare=prepare_account,
    excel=[C("unit", "单位代码"), C("account_type", "账户类型", True), C("account_no", "账号", True),
           C("account_name", "户名", True), C("bank", "开户银行联行号"), C("bank_name", "开户行名称", True),
           C("is_active", "启用", kind=BOOL)],
))
register(Resource(
    m.Payee, "payees", "收款人", f.PayeeForm,
    ["name", "kind", "account_no", "account_name", "bank_name", "unit", "is_active"],
    filter_fields=["kind", "is_active"], search_fields=["name", "account_no", "account_name"],
    prepare=prepare_with_unit, group="基础信息",
    excel=[C("unit", "所属单位代码"), C("name", "收款人名称", True),
           C("kind", "收款人类型", True, kind="choice", choices=m.Payee.Kind.choices),
           C("account_no", "收款账号", True), C("account_name", "收款户名", True), C("bank_name", "开户银行", True),
           C("bank_code", "联行号"), C("id_code", "证件号/信用代码"), C("is_active", "启用", kind=BOOL)],
))
register(Resource(
    m.BlacklistEntry, "blacklist", "收款人黑名单", f.BlacklistEntryForm,
    ["number", "name", "account_no", "status", "valid_from", "valid_to", "region_code"],
    filter_fields=["status"], search_fields=["number", "name", "account_no", "id_code"],
    prepare=prepare_blacklist, extra_actions=[("blacklist-submit", "提交审核"), ("blacklist-review", "审核")],
    excel=[C("name", "名称", True), C("account_no", "账号"), C("id_code", "证件号/信用代码"), C("reason", "列入原因", True),
           C("legal_basis", "依据", True), C("valid_from", "生效日期", True, kind="date"),
           C("valid_to", "截止日期", kind="date")],
))
