"""Individual income tax by the cumulative withholding method (累计预扣法), against cases computed by hand here.

The annual table (data/payroll/iit_rates.csv): up to 36,000 3% − 0; 144,000 10% − 2,520; 300,000 20% − 16,920;
420,000 25% − 31,920; 660,000 30% − 52,920; 960,000 35% − 85,920; above 45% − 181,920. Basic deduction 5,000 a
month. Month n: cumulative taxable = cumulative income − cumulative special deductions − 5,000 × n; tax this month =
tax on the cumulative taxable − tax withheld in months 1…n−1, never negative."""

from __future__ import annotations

import pytest

from ibms.payroll import domain, rules

Y = 100  # fen per yuan


@pytest.fixture
def table(settings):
    rules.reload()
    return rules.brackets(2026)


def months(table, income: int, special: int, n: int = 12) -> list[int]:
    out, tax = [], 0
    for m in range(1, n + 1):
        r = domain.cumulative_withholding(cum_income=income * m, cum_deductions=special * m, months=m,
                                          basic_month=rules.basic_deduction(2026), tax_withheld_before=tax,
                                          brackets=table)
        out.append(r.tax)
        tax += r.tax
    return out


def test_table_is_the_seven_brackets(table):
    assert [(b.upper, b.rate_pct, b.quick_deduction) for b in table] == [
        (36_000 * Y, 3, 0), (144_000 * Y, 10, 2_520 * Y), (300_000 * Y, 20, 16_920 * Y), (420_000 * Y, 25, 31_920 * Y),
        (660_000 * Y, 30, 52_920 * Y), (960_000 * Y, 35, 85_920 * Y), (None, 45, 181_920 * Y)]
    assert rules.basic_deduction(2026) == 5_000 * Y


def test_taxable_10000_a_month(table):
    """Income 15,000 a month, no special deduction → taxable 10,000 a month.
    m1: 10,000 × 3% = 300.  m2: 20,000 × 3% = 600 − 300 = 300.  m3: 30,000 × 3% = 900 − 600 = 300.
    m4: 40,000 × 10% − 2,520 = 1,480 − 900 = 580 (the cumulative crosses 36,000).
    m5: 50,000 × 10% − 2,520 = 2,480 − 1,480 = 1,000; and 1,000 each month to m12 (120,000 → 9,480)."""
    got = months(table, 15_000 * Y, 0)
    assert got == [300 * Y, 300 * Y, 300 * Y, 580 * Y] + [1_000 * Y] * 8
    assert sum(got) == 9_480 * Y == 120_000 * Y * 10 // 100 - 2_520 * Y


def test_income_10000_a_month(table):
    """Income 10,000, taxable 5,000 a month: 150 a month to m7 (35,000 → 1,050);
    m8: 40,000 × 10% − 2,520 = 1,480 − 1,050 = 430; m9…m12: 500 each (m12: 60,000 → 3,480)."""
    got = months(table, 10_000 * Y, 0)
    assert got == [150 * Y] * 7 + [430 * Y] + [500 * Y] * 4
    assert sum(got) == 3_480 * Y


def test_special_deductions_and_the_20_percent_bracket(table):
    """Income 30,000, social and housing 4,000 → taxable 21,000 a month.
    m1 630; m2 42,000 → 1,680 − 630 = 1,050; m3 63,000 → 3,780 → 2,100; m4 84,000 → 5,880 → 2,100;
    m5 105,000 → 7,980 → 2,100; m6 126,000 → 10,080 → 2,100; m7 147,000 × 20% − 16,920 = 12,480 → 2,400;
    m8 168,000 → 16,680 → 4,200."""
    got = months(table, 30_000 * Y, 4_000 * Y, 8)
    assert got == [y * Y for y in (630, 1_050, 2_100, 2_100, 2_100, 2_100, 2_400, 4_200)]


def test_no_refund_when_the_cumulative_falls(table):
    """m1 income 20,000 → taxable 15,000 → 450; m2 income 0 → cumulative taxable 10,000 → 300 < 450: 0, not −150."""
    r1 = domain.cumulative_withholding(cum_income=20_000 * Y, cum_deductions=0, months=1, basic_month=5_000 * Y,
                                       tax_withheld_before=0, brackets=table)
    r2 = domain.cumulative_withholding(cum_income=20_000 * Y, cum_deductions=0, months=2, basic_month=5_000 * Y,
                                       tax_withheld_before=r1.tax, brackets=table)
    assert (r1.tax, r2.cumulative_tax, r2.tax) == (450 * Y, 300 * Y, 0)


def test_bracket_edges_are_continuous_and_rounded_to_fen(table):
    assert domain.tax_on(36_000 * Y, table) == 1_080 * Y
    assert domain.tax_on(36_000 * Y + 1, table) == 1_080 * Y  # 3,600.001 − 2,520 → 1,080.00
    assert domain.tax_on(144_000 * Y, table) == 11_880 * Y
    assert domain.tax_on(1_000_000 * Y, table) == 268_080 * Y  # 450,000 − 181,920
    assert domain.tax_on(0, table) == 0 and domain.tax_on(-5, table) == 0
    assert domain.tax_on(1_234, table) == 37  # 12.34 × 3% = 0.3702 → 0.37


def test_person_month_from_items(table, db):
    """基本工资 5,000 + 薪级工资 1,000 + 津贴补贴 2,000 = 8,000. 养老 8% × 6,000 = 480, 职业年金 4% = 240, 医疗 2% = 120,
    公积金 12% × 8,000 = 960 → special 1,800; taxable 8,000 − 1,800 − 5,000 = 1,200 → tax 36; 工会会费 0.5% × 6,000 = 30;
    net 8,000 − 1,800 − 36 − 30 = 6,134."""
    items = rules.item_rules("990000000", 2026)
    pm = domain.person_month(items, {"JBGZ": 500_000, "XJGZ": 100_000, "JTBT": 200_000}, prior_income=0,
                             prior_deductions=0, prior_tax=0, months=1, basic_month=5_000 * Y, brackets=table)
    assert (pm.gross, pm.social, pm.tax, pm.other, pm.net) == (8_000 * Y, 1_800 * Y, 36 * Y, 30 * Y, 6_134 * Y)
    assert pm.amounts["YLBX"] == 480 * Y and pm.amounts["ZFGJJ"] == 960 * Y and pm.amounts["GRSDS"] == 36 * Y
    assert not pm.violations
    bad = domain.person_month(items, {"JBGZ": 100, "QTKK": 10_000}, prior_income=0, prior_deductions=0, prior_tax=0,
                              months=1, basic_month=5_000 * Y, brackets=table)
    assert [v.code for v in bad.violations] == ["net_negative"]


def test_month_changes():
    a = domain.PersonSnap(1, "张三", "十级", "教师", 800_000)
    b = domain.PersonSnap(2, "李四", "九级", "教师", 900_000)
    c = domain.PersonSnap(3, "王五", "八级", "教师", 700_000)
    got = domain.month_changes({1: a, 2: b}, {1: domain.PersonSnap(1, "张三", "九级", "教师", 850_000), 3: c})
    assert [(x["kind"], x["name"]) for x in got] == [("grade", "张三"), ("amount", "张三"), ("join", "王五"),
                                                     ("leave", "李四")]
