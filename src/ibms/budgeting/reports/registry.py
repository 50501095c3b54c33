"""The registry of generated tables: slug, title, group (部门预算表 / 部门预算公开表) and builder."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ibms.core.errors import invalid
from ibms.core.reports import ReportTable

from .basis import ReportBasis
from .department import (
    table_dept_basic,
    table_dept_expenditure,
    table_dept_procurement,
    table_dept_projects,
    table_dept_revenue,
)
from .disclosure import (
    table_expenditure_total,
    table_fiscal_summary,
    table_general_basic,
    table_general_expenditure,
    table_gov_fund_expenditure,
    table_revenue_total,
    table_sangong,
    table_summary,
)


@dataclass(frozen=True)
class TableSpec:
    slug: str
    title: str
    group: str  # department | disclosure
    build: Callable[[ReportBasis], ReportTable]


DEPARTMENT, DISCLOSURE = "department", "disclosure"
GROUP_TITLES = {DEPARTMENT: "部门预算表", DISCLOSURE: "部门预算公开表"}
TABLES: dict[str, TableSpec] = {s.slug: s for s in [
    TableSpec("revenue", "收入预算表", DEPARTMENT, table_dept_revenue),
    TableSpec("expenditure", "支出预算表", DEPARTMENT, table_dept_expenditure),
    TableSpec("projects", "项目支出表", DEPARTMENT, table_dept_projects),
    TableSpec("basic", "基本支出表", DEPARTMENT, table_dept_basic),
    TableSpec("procurement", "政府采购预算表", DEPARTMENT, table_dept_procurement),
    TableSpec("summary", "收支总表", DISCLOSURE, table_summary),
    TableSpec("revenue-total", "收入总表", DISCLOSURE, table_revenue_total),
    TableSpec("expenditure-total", "支出总表", DISCLOSURE, table_expenditure_total),
    TableSpec("fiscal-summary", "财政拨款收支总表", DISCLOSURE, table_fiscal_summary),
    TableSpec("general-expenditure", "一般公共预算支出表", DISCLOSURE, table_general_expenditure),
    TableSpec("general-basic", "一般公共预算基本支出表", DISCLOSURE, table_general_basic),
    TableSpec("sangong", "三公经费表", DISCLOSURE, table_sangong),
    TableSpec("gov-fund-expenditure", "政府性基金预算支出表", DISCLOSURE, table_gov_fund_expenditure),
]}


def table_specs(group: str | None = None) -> list[TableSpec]:
    return [s for s in TABLES.values() if group is None or s.group == group]


def report_table_build(basis: ReportBasis, slug: str) -> ReportTable:
    spec = TABLES.get(slug)
    if spec is None:
        raise invalid("table_unknown", f"报表 {slug} 不存在", "table")
    return spec.build(basis)


def report_group_build(basis: ReportBasis, group: str) -> list[ReportTable]:
    if group not in GROUP_TITLES:
        raise invalid("table_group_unknown", f"报表组 {group} 不存在", "group")
    return [s.build(basis) for s in table_specs(group)]
