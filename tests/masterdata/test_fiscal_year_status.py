"""The fiscal-year guard (`masterdata.selectors.fiscal_year_require`): which statuses take which writes, the stable
codes and the Chinese messages naming the year and the region; and the 三公 economic classes (`is_sangong`)."""

from __future__ import annotations

import pytest

from ibms.core import clock
from ibms.core.errors import Conflict
from ibms.masterdata.models import FiscalYear, ValueSet, ValueSetItem
from ibms.masterdata.selectors import (
    fiscal_year_require,
    fiscal_year_require_for,
    is_sangong,
    sangong_eco_codes,
)
from tests.constants import COUNTY, PROVINCE

pytestmark = pytest.mark.django_db
YEAR = clock.fiscal_year()
S = FiscalYear.Status
# purpose → status → accepted?
TABLE = {
    "indicator": {S.PREPARING: True, S.EXECUTING: True, S.CLOSED: False},
    "payment": {S.PREPARING: False, S.EXECUTING: True, S.CLOSED: False},
    "voucher": {S.PREPARING: True, S.EXECUTING: True, S.CLOSED: False},
    "voucher_adjustment": {S.PREPARING: True, S.EXECUTING: True, S.CLOSED: True},
}


def set_status(status: str, region: str = PROVINCE, year: int = YEAR) -> None:
    assert FiscalYear.objects.filter(region_code=region, year=year).update(status=status) == 1


@pytest.mark.parametrize("purpose", sorted(TABLE))
@pytest.mark.parametrize("status", [S.PREPARING, S.EXECUTING, S.CLOSED])
def test_what_each_status_takes(purpose, status):
    set_status(status)
    if TABLE[purpose][status]:
        assert fiscal_year_require(PROVINCE, YEAR, purpose=purpose).status == status
        return
    with pytest.raises(Conflict) as e:
        fiscal_year_require(PROVINCE, YEAR, purpose=purpose)
    assert e.value.http_status == 409
    assert e.value.code == ("fiscal_year_closed" if status == S.CLOSED else "fiscal_year_not_executing")
    assert e.value.detail == {"region_code": PROVINCE, "year": YEAR, "status": status}


def test_messages_name_the_year_and_the_region():
    set_status(S.CLOSED, COUNTY)
    with pytest.raises(Conflict) as e:
        fiscal_year_require(COUNTY, YEAR, purpose="indicator")
    assert e.value.message == f"东川市青山区{YEAR}年度已结账，不能再登记指标变动"
    with pytest.raises(Conflict) as e:
        fiscal_year_require(COUNTY, YEAR, purpose="voucher", closed_hint="（调整期除外）")
    assert e.value.message == f"东川市青山区{YEAR}年度已结账，不能再记账（调整期除外）"
    with pytest.raises(Conflict) as e:
        fiscal_year_require(PROVINCE, YEAR + 1, purpose="payment")  # the demo's next year is preparing
    assert (e.value.code, e.value.message) == ("fiscal_year_not_executing",
                                               f"华夏省{YEAR + 1}年度尚在编制中，未开始执行，不能办理支付")
    with pytest.raises(Conflict) as e:
        fiscal_year_require(PROVINCE, YEAR + 9, purpose="voucher")
    assert e.value.code == "fiscal_year_missing"
    assert e.value.message == f"华夏省未设立{YEAR + 9}年度（基础信息 → 预算年度），不能记账"


def test_the_demo_sets_up_this_year_executing_and_next_year_preparing():
    rows = dict(FiscalYear.objects.filter(region_code=PROVINCE).values_list("year", "status"))
    assert rows == {YEAR: S.EXECUTING, YEAR + 1: S.PREPARING}


def test_the_guard_by_id_says_nothing_about_rows_out_of_reach(user):
    set_status(S.CLOSED)
    fy = FiscalYear.objects.get(region_code=PROVINCE, year=YEAR)
    fiscal_year_require_for(FiscalYear.objects.none(), fy.pk, purpose="payment")  # not found: the caller says so
    fiscal_year_require_for(FiscalYear.objects.all(), fy.pk, purpose="payment", when=False)
    with pytest.raises(Conflict) as e:
        fiscal_year_require_for(FiscalYear.objects.all(), fy.pk, purpose="payment")
    assert e.value.code == "fiscal_year_closed"


def test_sangong_classes_come_from_the_value_set():
    # data/reference/ibms_value_sets.csv, checked against data/reference/dep_bgt_eco_classification.csv
    assert sangong_eco_codes(fiscal_year=YEAR) == {"30212", "30217", "30231", "30913", "31013"}
    names = dict(ValueSetItem.objects.filter(value_set__code="dep_eco", fiscal_year=YEAR, region_code="",
                                             code__in=["30212", "30217", "30231", "30913", "31013", "30215"])
                 .values_list("code", "name"))
    assert names == {"30212": "因公出国（境）费用", "30217": "公务接待费", "30231": "公务用车运行维护费",
                     "30913": "公务用车购置", "31013": "公务用车购置", "30215": "会议费"}
    for code, expected in (("30217", True), ("30212", True), ("30231", True), ("31013", True), ("30913", True),
                           ("30201", False), ("30215", False), ("30211", False), ("", False)):
        assert is_sangong(code, fiscal_year=YEAR, region_code=COUNTY) is expected, code


def test_a_local_child_of_a_sangong_class_is_sangong_and_a_local_class_counts_in_its_region_only():
    parent = ValueSetItem.objects.get(value_set__code="dep_eco", fiscal_year=YEAR, region_code="", code="30217")
    ValueSetItem.objects.create(value_set=parent.value_set, fiscal_year=YEAR, region_code=PROVINCE, code="3021701",
                                name="外事接待费", parent=parent, level=parent.level + 1)
    assert is_sangong("3021701", fiscal_year=YEAR, region_code=PROVINCE)
    local = ValueSet.objects.get(code="sangong_eco")
    ValueSetItem.objects.create(value_set=local, fiscal_year=YEAR, region_code=COUNTY, code="30299", name="本地三公")
    assert is_sangong("30299", fiscal_year=YEAR, region_code=COUNTY)
    assert not is_sangong("30299", fiscal_year=YEAR, region_code=PROVINCE)  # above the county: not its list
