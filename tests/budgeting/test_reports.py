"""Generated budget tables (部门预算表 and the eight 部门预算公开 tables): they are computed from the budget lines,
add up (收支总表 totals equal the detail tables, subtotals equal their children), export to Excel with the same
Decimal yuan and to PDF, and respect scope (a department sees only its own tables; out of scope is 404)."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from ibms.budgeting import reports
from ibms.budgeting.models import BudgetLine, BudgetRound
from ibms.core import clock
from ibms.core.errors import NotFound
from ibms.core.money import fen_to_decimal, fen_to_str, parse_yuan
from ibms.core.reports import MONEY, ReportTable
from ibms.masterdata.models import Unit, ValueSetItem
from ibms.projects.models import Project

COUNTY = "990102000"  # 青山区
YEAR = clock.fiscal_year() + 1
pytestmark = pytest.mark.django_db

# unit, project category, exp_kind, fund nature, function class, department economic class, yuan, 政府采购
EXPENDITURE = [
    ("001", "1", "basic", "111", "2050101", "30101", "1000000.00", False),
    ("001", "21", "basic", "111", "2050101", "30201", "200000.00", False),
    ("001", "21", "basic", "111", "2050101", "30217", "30000.00", False),  # 公务接待
    ("001", "3", "project", "111", "2050203", "31013", "250000.00", True),  # 公务用车购置
    ("001001", "1", "basic", "111", "2050203", "30102", "800000.00", False),
    ("001001", "21", "basic", "111", "2050203", "30231", "40000.00", False),  # 公务用车运行维护
    ("001001", "1", "basic", "111", "2080505", "30108", "120000.00", False),
    ("001001", "1", "basic", "111", "2080502", "30302", "66000.00", False),  # 303 退休费: 人员经费
    ("001001", "3", "project", "121", "2120803", "31002", "500000.00", True),  # 政府性基金
    ("001001", "3", "project", "31", "2050203", "30212", "60000.00", False),  # 出国 but 单位资金: not in 三公 table
    ("002", "1", "basic", "111", "2100101", "30101", "700000.00", False),
    ("002", "3", "project", "131", "2100201", "30299", "90000.00", False),  # 国有资本经营
    ("002001", "3", "project", "2", "2100201", "31003", "150000.00", True),  # 财政专户
    ("002001", "21", "basic", "111", "2100201", "30217", "12345.67", False),
    ("002001", "22", "basic", "111", "2100201", "30212", "8800.01", False),  # 出国, 一般公共预算
]
# unit, 收入来源 (bgt_revenue), fund nature, yuan
REVENUE = [
    ("001", "11", "111", "1480000.00"),
    ("001", "8", "111", "50000.00"),  # 上年结转
    ("001001", "11", "111", "1026000.00"),
    ("001001", "12", "121", "500000.00"),
    ("001001", "3", "31", "60000.00"),
    ("002", "11", "111", "700000.00"),
    ("002", "13", "131", "90000.00"),
    ("002001", "2", "2", "150000.00"),
    ("002001", "11", "111", "21145.68"),
    ("002001", "8", "121", "8000.00"),  # 上年结转 of 政府性基金
]
SANGONG = {"30212": "abroad", "30217": "reception", "30231": "vehicle_running", "31013": "vehicle_purchase"}


# ------------------------------------------------------------------------------------------------ fixtures

def _unit(code: str) -> Unit:
    return Unit.objects.get(region_code=COUNTY, code=code)


@pytest.fixture
def budget(db):
    """A county round with 批复 lines (and different 二上 lines), written directly as report input."""
    rnd = BudgetRound.objects.create(region_code=COUNTY, year=YEAR, name=f"{YEAR}年青山区预算", stage="replied")
    serial = iter(range(9_900_000_000_001, 9_999_999_999_999))
    lines = []
    for version, factor in (("reply", 1), ("second_up", 2)):
        for i, (ucode, cat, kind, fund, func, eco, yuan, pur) in enumerate(EXPENDITURE):
            unit = _unit(ucode)
            dept = _unit(ucode[:3])
            project = Project.objects.create(
                region_code=COUNTY, code=f"990102{YEAR % 100:02d}{next(serial):013d}", year=YEAR,
                name=f"测试项目{i}", unit=unit, department=dept, unit_path=unit.path, category=cat, level=1,
                start_year=YEAR, end_year=YEAR, fund_nature_code=fund, exp_func_code=func, dep_eco_code=eco,
                is_gov_pur=pur, status="executing")
            lines.append(BudgetLine(round=rnd, version=version, region_code=COUNTY, unit=unit, department=dept,
                                    unit_path=unit.path, project=project, direction="expenditure", exp_kind=kind,
                                    fund_nature_code=fund, exp_func_code=func, dep_eco_code=eco,
                                    amount=parse_yuan(yuan) * factor, is_gov_pur=pur, is_sangong=eco in SANGONG))
        for ucode, rev, fund, yuan in REVENUE:
            unit = _unit(ucode)
            lines.append(BudgetLine(round=rnd, version=version, region_code=COUNTY, unit=unit,
                                    department=_unit(ucode[:3]), unit_path=unit.path, direction="revenue",
                                    revenue_code=rev, fund_nature_code=fund, amount=parse_yuan(yuan) * factor))
    BudgetLine.objects.bulk_create(lines)
    return rnd


def basis(user, rnd, username="county_budget", version="reply", unit=None):
    return reports.report_basis_get(actor=user(username), round=rnd, version=version,
                                    unit_id=_unit(unit).pk if unit else None)


def all_tables(b) -> dict[str, ReportTable]:
    return {slug: reports.report_table_build(b, slug) for slug in reports.TABLES}


# ------------------------------------------------------------------------------------------------ helpers

def strip(label) -> str:
    return str(label or "").strip("\u3000")


def col(table: ReportTable, label: str) -> int:
    return next(i for i, c in enumerate(table.columns) if c.label == label)


def row(table: ReportTable, label: str, at: int = 1) -> list:
    """The first row whose column `at` (the name column, or a side of a 总表) reads `label`."""
    return next(r for r in table.rows if strip(r[at]) == label)


def value(table: ReportTable, label: str, column: str, at: int = 1) -> int:
    return row(table, label, at)[col(table, column)]


def side(table: ReportTable, label: str) -> int:
    """A 总表 cell: the amount to the right of a label on the revenue (col 0) or expenditure (col 2) side."""
    for r in table.rows:
        for i in (0, 2):
            if strip(r[i]) == label:
                return r[i + 1]
    raise AssertionError(f"{label} not in {table.title}")


def total(table: ReportTable, column: str = "合计") -> int:
    assert strip(table.rows[0][1]) == "合计"
    return table.rows[0][col(table, column)]


def fen(yuan: str) -> int:
    return parse_yuan(yuan)


def expected(*, fund: str = "", kind: str = "", units: tuple[str, ...] = ()) -> int:
    return sum(fen(y) for u, _, k, f, _, _, y, _ in EXPENDITURE
               if f.startswith(fund) and (not kind or k == kind) and (not units or u.startswith(units)))


def money_columns(table: ReportTable) -> list[int]:
    return [i for i, c in enumerate(table.columns) if c.kind == MONEY]


def assert_tree_adds_up(table: ReportTable, levels: tuple[int, ...]) -> None:
    """Every node row equals the sum of its children; the 合计 row equals the sum of the top-level rows; on each
    row 合计 equals the sum of the parts (checked by the callers, which know the parts)."""
    coded = [r for r in table.rows[1:] if r[0]]
    cols = money_columns(table)
    codes = {r[0] for r in coded}

    def parent(code):
        shorter = [n for n in levels if n < len(code)]
        return code[:shorter[-1]] if shorter else None

    for r in coded:
        kids = [k for k in coded if parent(k[0]) == r[0]]
        if kids:
            for c in cols:
                assert r[c] == sum(k[c] for k in kids), (table.title, r[0], table.columns[c].label)
        assert parent(r[0]) is None or parent(r[0]) in codes
    tops = [r for r in coded if parent(r[0]) is None] + [r for r in table.rows[1:] if not r[0]]
    for c in cols:
        assert table.rows[0][c] == sum(r[c] for r in tops), (table.title, table.columns[c].label)


def assert_unit_rows_add_up(table: ReportTable) -> None:
    """合计 = the department rows (bold); each department row = its unit rows that follow."""
    cols = money_columns(table)
    depts = [i for i in sorted(table.bold_rows) if i > 0]
    for c in cols:
        assert table.rows[0][c] == sum(table.rows[i][c] for i in depts)
    for n, i in enumerate(depts):
        end = depts[n + 1] if n + 1 < len(depts) else len(table.rows)
        for c in cols:
            assert table.rows[i][c] == sum(table.rows[j][c] for j in range(i + 1, end)), (table.title, i)


def assert_parts(table: ReportTable, whole: str, parts: list[str]) -> None:
    for r in table.rows:
        if r[col(table, whole)] is not None:
            assert r[col(table, whole)] == sum(r[col(table, p)] or 0 for p in parts), (table.title, r)


def assert_disclosure_adds_up(t: dict[str, ReportTable], lines) -> None:
    """The checks of issue 3 for one basis: 收支总表 totals equal the detail tables, subtotals equal children."""
    revenue = sum(ln.amount for ln in lines if ln.direction == "revenue")
    spending = sum(ln.amount for ln in lines if ln.direction == "expenditure")
    summary = t["summary"]
    assert side(summary, "收入总计") == revenue
    assert side(summary, "本年收入合计") + side(summary, "上年结转") == revenue
    assert side(summary, "支出总计") == side(summary, "本年支出合计") == spending
    # 收入总表 total = 收支总表 收入总计; 本年收入 items on both sides agree
    assert total(t["revenue-total"]) == revenue
    assert total(t["revenue-total"], "上年结转") == side(summary, "上年结转")
    assert_unit_rows_add_up(t["revenue-total"])
    # 支出总表 total = 收支总表 支出合计 = the sum of the fund-nature tables and the rest
    exp = t["expenditure-total"]
    assert total(exp) == spending
    assert total(exp) == total(exp, "基本支出") + total(exp, "项目支出")
    assert_tree_adds_up(exp, reports.FUNC_LEVELS)
    assert_parts(exp, "合计", ["基本支出", "项目支出"])
    lay = reports.layout()
    general, gov_fund = lay.fund("general"), lay.fund("gov_fund")
    by_fund = {g.key: sum(ln.amount for ln in lines if ln.direction == "expenditure" and
                          lay.fund_key(ln.fund_nature_code) == g.key) for g in lay.funds}
    assert total(t["general-expenditure"]) == by_fund["general"]
    assert total(t["gov-fund-expenditure"]) == by_fund["gov_fund"]
    assert total(exp) == total(t["general-expenditure"]) + total(t["gov-fund-expenditure"]) + sum(
        v for k, v in by_fund.items() if k not in (general.key, gov_fund.key)) + sum(
        ln.amount for ln in lines if ln.direction == "expenditure" and not lay.fund_key(ln.fund_nature_code))
    # 支出总表 by 类 equals the 支出 side of 收支总表
    for r in exp.rows[1:]:
        if len(r[0]) == 3:
            assert any(strip(s[2]).endswith(strip(r[1])) and s[3] == r[2] for s in summary.rows), r
    for slug in ("general-expenditure", "gov-fund-expenditure"):
        assert_tree_adds_up(t[slug], reports.FUNC_LEVELS)
    ge = t["general-expenditure"]
    assert_parts(ge, "合计", ["基本支出", "项目支出"])
    assert_parts(ge, "基本支出", ["其中：人员经费", "其中：公用经费"])
    # 一般公共预算基本支出表 = the 基本支出 column of 一般公共预算支出表, split the same way
    gb = t["general-basic"]
    assert_tree_adds_up(gb, reports.ECO_LEVELS)
    assert total(gb) == total(ge, "基本支出")
    assert total(gb, "人员经费") == total(ge, "其中：人员经费")
    assert total(gb, "公用经费") == total(ge, "其中：公用经费")
    # 财政拨款收支总表: 财政拨款 revenue and spending, by fund, consistent with the fund tables
    fs = t["fiscal-summary"]
    fiscal_rev = sum(ln.amount for ln in lines if ln.direction == "revenue" and lay.is_fiscal(ln.fund_nature_code))
    assert side(fs, "收入总计") == fiscal_rev == side(fs, "一、本年收入") + side(fs, "二、上年结转")
    fs_total = row(fs, "支出总计", at=2)
    assert fs_total[col(fs, "合计")] == sum(by_fund[g.key] for g in lay.fiscal_funds)
    assert fs_total[col(fs, general.name)] == total(ge)
    assert fs_total[col(fs, gov_fund.name)] == total(t["gov-fund-expenditure"])
    assert_parts(fs, "合计", [g.name for g in lay.fiscal_funds])
    # 三公: the lines with the 三公 economic classes, in the covered fund natures
    sg = t["sangong"]
    assert_unit_rows_add_up(sg)
    for key in SANGONG.values():
        group = next(g for g in lay.sangong if g.key == key)
        label = next(c.label for c in sg.columns if c.label.endswith(group.name))
        assert total(sg, label) == sum(ln.amount for ln in lines if ln.direction == "expenditure"
                                       and lay.is_sangong_fund(ln.fund_nature_code) and group.matches(ln.dep_eco_code))
    assert_parts(sg, "合计", [c.label for c in sg.columns[3:] if c.label != "公务用车购置及运行维护费"])


# ------------------------------------------------------------------------------------------------ the tables

class TestDisclosureTables:
    def test_region_tables_add_up(self, user, budget):
        b = basis(user, budget)
        t = all_tables(b)
        lines = list(BudgetLine.objects.filter(round=budget, version="reply"))
        assert_disclosure_adds_up(t, lines)

    def test_figures_match_the_lines(self, user, budget):
        t = all_tables(basis(user, budget))
        summary = t["summary"]
        assert side(summary, "支出总计") == expected()
        assert side(summary, "上年结转") == fen("50000.00") + fen("8000.00")
        assert side(summary, "一、一般公共预算拨款收入") == fen("1480000.00") + fen("1026000.00") + fen(
            "700000.00") + fen("21145.68")
        assert side(summary, "五、事业收入") == fen("60000.00")
        assert side(summary, "一、教育支出") == sum(fen(e[6]) for e in EXPENDITURE if e[4].startswith("205"))
        assert side(summary, "四、城乡社区支出") == fen("500000.00")
        exp = t["expenditure-total"]
        assert value(exp, "教育支出", "基本支出") == fen("1000000.00") + fen("200000.00") + fen("30000.00") + fen(
            "800000.00") + fen("40000.00")
        assert value(exp, "初中教育", "项目支出") == fen("250000.00") + fen("60000.00")
        assert row(exp, "初中教育")[0] == "2050203"
        ge = t["general-expenditure"]
        assert total(ge) == expected(fund="11")
        assert total(ge, "项目支出") == fen("250000.00")
        assert total(ge, "其中：人员经费") == sum(fen(y) for y in ("1000000.00", "800000.00", "120000.00", "66000.00",
                                                                "700000.00"))
        gb = t["general-basic"]
        assert value(gb, "对个人和家庭的补助", "人员经费") == fen("66000.00")
        assert value(gb, "公务接待费", "公用经费") == fen("30000.00") + fen("12345.67")
        assert total(t["gov-fund-expenditure"]) == fen("500000.00")
        fs = t["fiscal-summary"]
        assert side(fs, "二、上年结转") == fen("58000.00")
        carry = next(i for i, r in enumerate(fs.rows) if r[0] == "二、上年结转")
        assert fs.rows[carry + 2][0] == "（二）政府性基金预算拨款" and fs.rows[carry + 2][1] == fen("8000.00")
        sg = t["sangong"]
        assert total(sg, "因公出国（境）费") == fen("8800.01")  # the 单位资金 trip is not 一般公共预算
        assert total(sg, "公务用车购置及运行维护费") == fen("250000.00") + fen("40000.00")
        assert total(sg) == sum(fen(y) for y in ("8800.01", "250000.00", "40000.00", "30000.00", "12345.67"))
        assert value(sg, "东川市青山区第一实验中学", "其中：公务用车运行维护费") == fen("40000.00")

    def test_versions_are_separate(self, user, budget):
        reply = reports.report_table_build(basis(user, budget, version="reply"), "summary")
        second = reports.report_table_build(basis(user, budget, version="second_up"), "summary")
        assert side(second, "支出总计") == 2 * side(reply, "支出总计") == 2 * expected()
        assert "二上" in second.subtitle and "批复" in reply.subtitle

    def test_department_tables_are_their_own(self, user, budget):
        """A department's tables hold only its own and its units' lines, and add up on their own."""
        b = basis(user, budget, unit="001")
        t = all_tables(b)
        lines = list(BudgetLine.objects.filter(round=budget, version="reply", unit_path__startswith=_unit("001").path))
        assert_disclosure_adds_up(t, lines)
        assert side(t["summary"], "支出总计") == expected(units=("001",))
        assert "卫生" not in " ".join(str(r[1]) for r in t["revenue-total"].rows)
        assert b.subtitle.startswith("编制单位：东川市青山区教育局")


class TestDepartmentTables:
    def test_expenditure_and_basic_tables(self, user, budget):
        t = all_tables(basis(user, budget))
        dept = t["expenditure"]
        assert_tree_adds_up(dept, reports.FUNC_LEVELS)
        assert_parts(dept, "合计", ["基本支出", "项目支出"])
        assert_parts(dept, "基本支出", ["其中：人员经费", "其中：公用经费"])
        assert total(dept) == total(t["expenditure-total"]) == expected()
        basic = t["basic"]
        assert_tree_adds_up(basic, reports.ECO_LEVELS)
        assert_parts(basic, "合计", ["人员经费", "公用经费"])
        assert total(basic) == total(t["expenditure-total"], "基本支出") == expected(kind="basic")
        assert value(basic, "工资福利支出", "人员经费") == sum(fen(y) for y in ("1000000.00", "800000.00", "120000.00",
                                                                      "700000.00"))

    def test_revenue_table(self, user, budget):
        t = reports.report_table_build(basis(user, budget), "revenue")
        assert total(t) == sum(fen(y) for *_, y in REVENUE)
        assert value(t, "财政拨款收入", "合计") == sum(
            value(t, name, "合计") for name in ("一般公共预算拨款收入", "政府性基金预算拨款收入", "国有资本经营预算拨款收入"))
        assert value(t, "上年结转", "政府性基金预算") == fen("8000.00")
        assert_parts(t, "合计", [c.label for c in t.columns[3:]])

    def test_project_and_procurement_tables(self, user, budget):
        t = all_tables(basis(user, budget))
        projects = t["projects"]
        assert total(projects) == expected(kind="project") == total(t["expenditure-total"], "项目支出")
        assert_unit_rows_add_up_flat(projects)
        listed = {r[0] for r in projects.rows if len(r[0]) == 21}
        assert len(listed) == sum(1 for e in EXPENDITURE if e[2] == "project")
        assert value(projects, "东川市青山区第一实验中学", "政府性基金预算") == fen("500000.00")
        pur = t["procurement"]
        assert total(pur) == sum(fen(e[6]) for e in EXPENDITURE if e[7])
        assert_unit_rows_add_up_flat(pur)
        assert any(r[2] == "31013 公务用车购置" for r in pur.rows)


def assert_unit_rows_add_up_flat(table: ReportTable) -> None:
    """Project-level tables: 合计 = the unit rows (bold), each unit row = the project rows beneath it."""
    assert_unit_rows_add_up(table)
    assert_parts(table, "合计", [c.label for c in table.columns[col(table, "合计") + 1:]])


class TestLayoutData:
    def test_every_sangong_code_has_a_column(self, budget, user):
        """The 三公 columns cover exactly the value set 三公经费经济分类 of budgeting's set-up data."""
        codes = set(ValueSetItem.objects.filter(value_set__code="sangong_eco", fiscal_year=YEAR)
                    .values_list("code", flat=True))
        lay = reports.layout()
        assert codes and all(lay.sangong_key(c) for c in codes)
        assert {c for g in lay.sangong for c in g.codes} == codes
        assert all(ValueSetItem.objects.filter(value_set__code="dep_eco", fiscal_year=YEAR, code=c).exists()
                   for g in lay.sangong for c in g.codes)

    def test_revenue_items_follow_the_value_set(self, user, budget):
        current, carry = reports.revenue_items(basis(user, budget))
        assert [i.name for i in carry] == ["上年结转"]
        assert [i.name for i in current][:3] == ["一般公共预算拨款收入", "政府性基金预算拨款收入", "国有资本经营预算拨款收入"]
        assert {c for c in reports.layout().carry_over} <= set(
            ValueSetItem.objects.filter(value_set__code="bgt_revenue", fiscal_year=YEAR).values_list("code", flat=True))


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.from_regex(r"2[0-2][0-9](0[1-3](0[1-3])?)?", fullmatch=True),
                       st.lists(st.integers(0, 10**12), min_size=2, max_size=2), max_size=25))
def test_tree_subtotals_equal_children(sums):
    """Any set of codes (some at 类 or 款 level, as local data may have): parents sum their subtree, 合计 sums all."""
    rows, bold = reports.tree_rows(sums, parent_of=reports.level_parent(reports.FUNC_LEVELS), names={}, width=2)
    assert rows[0][2:] == [sum(v[0] for v in sums.values()), sum(v[1] for v in sums.values())]
    for r in rows[1:]:
        own = sums.get(r[0], [0, 0])
        kids = [k for k in rows[1:] if k[0] != r[0] and reports.level_parent(reports.FUNC_LEVELS)(k[0]) == r[0]]
        assert r[2] == own[0] + sum(k[2] for k in kids)
    assert {r[0] for r in rows if r[0] and len(r[0]) == 3} == {c[:3] for c in sums}
    assert all(len(rows[i][0]) == 3 for i in bold if i)


# ------------------------------------------------------------------------------------------------ exports and pages

def pdf_pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", data))


class TestPagesAndExports:
    def test_index_round_and_table_pages(self, client_as, budget):
        c = client_as("county_budget")
        r = c.get("/budgeting/reports/")
        assert r.status_code == 200 and budget.name in r.content.decode()
        r = c.get(f"/budgeting/reports/{budget.pk}/")
        html = r.content.decode()
        assert r.status_code == 200 and "收支总表" in html and "政府采购预算表" in html and "卫生健康" in html
        r = c.get(f"/budgeting/reports/{budget.pk}/summary/?version=reply")
        html = r.content.decode()
        assert r.status_code == 200 and "本年收入合计" in html and "不可手工修改" in html
        assert "4,027,145.68" in html  # 支出总计 of the 批复 version

    def test_excel_has_the_same_decimal_yuan(self, client_as, user, budget):
        c = client_as("county_budget")
        r = c.get(f"/budgeting/reports/{budget.pk}/all/disclosure/?version=reply&format=xlsx")
        assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")
        wb = load_workbook(io.BytesIO(r.content))
        tables = reports.report_group_build(basis(user, budget), "disclosure")
        assert len(wb.sheetnames) == 8 == len(tables)
        for ws, t in zip(wb.worksheets, tables, strict=True):
            assert ws["A1"].value == t.title
            body = list(ws.iter_rows(min_row=4, values_only=True))
            assert len(body) == len(t.rows)
            for got, want in zip(body, t.rows, strict=True):
                for column, g, w in zip(t.columns, got, want, strict=True):
                    if column.kind == MONEY and w is not None:
                        assert Decimal(str(g)).quantize(Decimal("0.01")) == fen_to_decimal(w), (t.title, want)
                    else:
                        assert (g or "") == (w or ""), (t.title, want)

    def test_single_table_excel(self, client_as, budget):
        r = client_as("county_budget").get(f"/budgeting/reports/{budget.pk}/sangong/?format=xlsx")
        ws = load_workbook(io.BytesIO(r.content)).active
        header = [c.value for c in ws[3]]
        first = [c.value for c in ws[4]]
        assert first[1] == "合计"
        got = Decimal(str(first[header.index("公务接待费")])).quantize(Decimal("0.01"))
        assert got == Decimal("42345.67")

    def test_pdf(self, client_as, budget):
        c = client_as("county_budget")
        r = c.get(f"/budgeting/reports/{budget.pk}/all/disclosure/?version=reply&format=pdf")
        assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
        assert r.content.startswith(b"%PDF")
        assert pdf_pages(r.content) >= 8  # each table starts a page
        r = c.get(f"/budgeting/reports/{budget.pk}/general-basic/?format=pdf")
        assert r.content.startswith(b"%PDF") and pdf_pages(r.content) == 1
        r = c.get(f"/budgeting/reports/{budget.pk}/all/department/?format=pdf")
        assert r.content.startswith(b"%PDF") and pdf_pages(r.content) >= 5
        r = c.get(f"/budgeting/reports/{budget.pk}/all/department/?format=xlsx")
        assert load_workbook(io.BytesIO(r.content)).sheetnames == [s.title for s in reports.table_specs("department")]

    def test_oversized_detail_table_asks_for_a_department(self, client_as, budget, monkeypatch):
        monkeypatch.setattr(reports.department, "MAX_DETAIL_ROWS", 3)
        c = client_as("county_budget")
        r = c.get(f"/budgeting/reports/{budget.pk}/projects/")
        assert r.status_code == 422 and "请选择部门" in r.content.decode()
        assert c.get(f"/budgeting/reports/{budget.pk}/projects/?unit={_unit('002').pk}").status_code == 200

    def test_unknown_table_or_version_is_refused(self, client_as, budget):
        c = client_as("county_budget")
        assert c.get(f"/budgeting/reports/{budget.pk}/nonsense/").status_code == 422
        assert c.get(f"/budgeting/reports/{budget.pk}/summary/?version=final").status_code == 422


class TestScope:
    def test_department_sees_only_its_own(self, client_as, user, budget):
        c = client_as("county_edu_reviewer")
        other = _unit("002")
        r = c.get(f"/budgeting/reports/{budget.pk}/summary/?unit={other.pk}")
        assert r.status_code == 404
        r = c.get(f"/budgeting/reports/{budget.pk}/summary/?unit={_unit('002001').pk}&format=xlsx")
        assert r.status_code == 404
        # without a unit, a department gets its own tables, never the region's
        b = reports.report_basis_get(actor=user("county_edu_reviewer"), round=budget, version="reply")
        assert b.unit == _unit("001")
        assert side(reports.report_table_build(b, "summary"), "支出总计") == expected(units=("001",))
        r = c.get(f"/budgeting/reports/{budget.pk}/")
        assert r.status_code == 200 and "卫生健康" not in r.content.decode()

    def test_unit_sees_only_its_own(self, user, budget):
        b = reports.report_basis_get(actor=user("county_school_clerk"), round=budget, version="reply")
        assert side(reports.report_table_build(b, "summary"), "支出总计") == expected(units=("001001",))
        with pytest.raises(NotFound):
            reports.report_basis_get(actor=user("county_school_clerk"), round=budget, version="reply",
                                     unit_id=_unit("001").pk)

    def test_upper_level_reads_lower_and_others_do_not(self, client_as, budget):
        assert client_as("fin_budget").get(f"/budgeting/reports/{budget.pk}/summary/").status_code == 200
        province = BudgetRound.objects.create(region_code="990000000", year=YEAR, name="省级")
        assert client_as("county_budget").get(f"/budgeting/reports/{province.pk}/summary/").status_code == 404
        assert client_as("sysadmin").get(f"/budgeting/reports/{budget.pk}/summary/").status_code == 403


class TestApi:
    def test_table_as_json(self, client_as, budget):
        c = client_as("county_budget")
        r = c.get(f"/api/v1/budgeting/reports/rounds/{budget.pk}/tables/summary?version=reply")
        assert r.status_code == 200, r.content
        data = r.json()
        assert data["title"] == "收支总表" and data["version"] == "reply"
        total_row = next(x for x in data["rows"] if x[2] == "支出总计")
        assert total_row[3] == fen_to_str(expected()) == "4027145.68"

    def test_group_and_scope(self, client_as, budget):
        c = client_as("county_edu_reviewer")
        r = c.get(f"/api/v1/budgeting/reports/rounds/{budget.pk}/groups/disclosure")
        assert r.status_code == 200 and len(r.json()) == 8
        assert all(isinstance(v, str | None) for t in r.json() for x in t["rows"] for v in x)
        r = c.get(f"/api/v1/budgeting/reports/rounds/{budget.pk}/groups/disclosure?unit_id={_unit('002').pk}")
        assert r.status_code == 404 and r.json()["code"] == "not_found"
        assert client_as("county_budget").get("/api/v1/budgeting/reports/tables").json()[0]["slug"] == "revenue"
        rounds = client_as("county_budget").get("/api/v1/budgeting/reports/rounds").json()
        assert [x["id"] for x in rounds if x["region_code"] == COUNTY] == [budget.pk]
        assert budget.pk in [x["id"] for x in client_as("fin_budget").get("/api/v1/budgeting/reports/rounds").json()]


# ------------------------------------------------------------------------------------------------ the demo budget

def test_demo_province_disclosure_tables_add_up(user):
    """Every disclosure table of the demo province's budget adds up, for the province and for each department."""
    rounds = list(BudgetRound.objects.filter(region_code="990000000"))
    assert rounds, "the demo province has a budget round"
    fin = user("fin_budget")
    checked = 0
    for rnd in rounds:
        for version in ("first_up", "second_up", "reply"):
            b = reports.report_basis_get(actor=fin, round=rnd, version=version)
            lines = list(b.lines)
            if not lines:
                continue
            assert_disclosure_adds_up({s.slug: s.build(b) for s in reports.table_specs()}, lines)
            for dept in reports.report_unit_list(actor=fin, round=rnd):
                bd = reports.report_basis_get(actor=fin, round=rnd, version=version, unit_id=dept.pk)
                assert_disclosure_adds_up({s.slug: s.build(bd) for s in reports.table_specs("disclosure")},
                                          list(bd.lines))
            checked += 1
    assert checked, "the demo budget has lines"
