"""The carry-over rules as data (data/closing/carry_rules.csv, region_policy.csv; described in data/closing/
README.md), per region: a region's own rows, else the nearest upper region's, else the national ones (region code
''), as `accounting.years.adjustment_period` does. Each file is validated as a whole when first read: a bad file
is refused with `RulesError` naming the file and line, never half used."""

from __future__ import annotations

import csv
import functools
from pathlib import Path

from django.conf import settings

from ibms.masterdata.selectors import region_chain

from .domain import DECISIONS, SPENDING, TRANSFER, Policy, Rule

RULES_FILE = "carry_rules.csv"
POLICY_FILE = "region_policy.csv"
RULE_COLUMNS = ("region_code", "priority", "code", "fund_nature", "spending", "project_category", "continues",
                "track", "executable", "transfer", "outcome", "reason")
POLICY_COLUMNS = ("region_code", "zero_carry", "max_carry_age", "open_reservations", "why")
PROJECT_CATEGORIES = ("1", "21", "22", "3")  # projects.Project.Category
OPEN_RESERVATIONS = {"refuse": "有未结支付预占时不生成清单（先在“支付清理”中结清）"}
YES_NO = {"yes": True, "no": False, "": None}


class RulesError(ValueError):
    """A rules file that cannot be the rules: the message names the file and the line."""


def data_dir() -> Path:
    return Path(settings.DATA_DIR) / "closing"


def _rows(path: Path, columns: tuple[str, ...]):
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise RulesError(f"{path.name}:1: 缺少列 {', '.join(missing)}")
        for row in reader:
            if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
                continue
            yield reader.line_num, {k: (row.get(k) or "").strip() for k in columns}


def _flag(value: str, where: str, column: str) -> bool | None:
    if value not in YES_NO:
        raise RulesError(f"{where}: {column} 只能是 yes、no 或留空，不是“{value}”")
    return YES_NO[value]


def load_rules(path: Path) -> dict[str, tuple[Rule, ...]]:
    """region code → its rules in priority order."""
    out: dict[str, list[Rule]] = {}
    for line, r in _rows(path, RULE_COLUMNS):
        where = f"{path.name}:{line}"
        try:
            priority = int(r["priority"])
        except ValueError:
            raise RulesError(f"{where}: priority 必须是整数，不是“{r['priority']}”") from None
        if not r["code"]:
            raise RulesError(f"{where}: code 不能为空")
        if r["outcome"] not in DECISIONS:
            raise RulesError(f"{where}: outcome 只能是 carry 或 recall，不是“{r['outcome']}”")
        if not r["reason"]:
            raise RulesError(f"{where}: reason（中文原因）不能为空")
        if r["spending"] and r["spending"] not in SPENDING:
            raise RulesError(f"{where}: spending 只能是 {'、'.join(SPENDING)} 或留空，不是“{r['spending']}”")
        if r["transfer"] and r["transfer"] not in TRANSFER:
            raise RulesError(f"{where}: transfer 只能是 {'、'.join(TRANSFER)} 或留空，不是“{r['transfer']}”")
        if r["project_category"] and r["project_category"] not in PROJECT_CATEGORIES:
            raise RulesError(f"{where}: project_category 只能是 {'、'.join(PROJECT_CATEGORIES)} 或留空，"
                             f"不是“{r['project_category']}”")
        if r["fund_nature"] and not r["fund_nature"].isdigit():
            raise RulesError(f"{where}: fund_nature 必须是资金性质代码（前缀），不是“{r['fund_nature']}”")
        region = r["region_code"]
        if region and not (region.isdigit() and len(region) == 9):
            raise RulesError(f"{where}: region_code 必须是9位区划代码或留空（全国），不是“{region}”")
        mine = out.setdefault(region, [])
        if any(x.code == r["code"] for x in mine):
            raise RulesError(f"{where}: 区划“{region or '全国'}”的规则代码 {r['code']} 重复")
        if any(x.priority == priority for x in mine):
            raise RulesError(f"{where}: 区划“{region or '全国'}”的优先级 {priority} 重复")
        mine.append(Rule(region_code=region, priority=priority, code=r["code"], outcome=r["outcome"],
                         reason=r["reason"], fund_nature=r["fund_nature"], spending=r["spending"],
                         project_category=r["project_category"],
                         continues=_flag(r["continues"], where, "continues"),
                         track=_flag(r["track"], where, "track"),
                         executable=_flag(r["executable"], where, "executable"), transfer=r["transfer"], line=line))
    if "" not in out:
        raise RulesError(f"{path.name}: 必须有全国默认规则（region_code 留空）")
    return {k: tuple(sorted(v, key=lambda x: x.priority)) for k, v in out.items()}


def load_policies(path: Path) -> dict[str, Policy]:
    out: dict[str, Policy] = {}
    for line, r in _rows(path, POLICY_COLUMNS):
        where = f"{path.name}:{line}"
        region = r["region_code"]
        if region and not (region.isdigit() and len(region) == 9):
            raise RulesError(f"{where}: region_code 必须是9位区划代码或留空（全国），不是“{region}”")
        if region in out:
            raise RulesError(f"{where}: 区划“{region or '全国'}”重复")
        zero = _flag(r["zero_carry"], where, "zero_carry")
        if zero is None:
            raise RulesError(f"{where}: zero_carry 必须填写 yes 或 no")
        try:
            age = int(r["max_carry_age"])
        except ValueError:
            raise RulesError(f"{where}: max_carry_age 必须是整数，不是“{r['max_carry_age']}”") from None
        if age < 0:
            raise RulesError(f"{where}: max_carry_age 不能为负数")
        if r["open_reservations"] not in OPEN_RESERVATIONS:
            raise RulesError(f"{where}: open_reservations 只能是 {'、'.join(OPEN_RESERVATIONS)}，"
                             f"不是“{r['open_reservations']}”")
        out[region] = Policy(region_code=region, zero_carry=zero, max_carry_age=age,
                             open_reservations=r["open_reservations"])
    if "" not in out:
        raise RulesError(f"{path.name}: 必须有全国默认行（region_code 留空）")
    return out


@functools.cache
def carry_rules() -> dict[str, tuple[Rule, ...]]:
    return load_rules(data_dir() / RULES_FILE)


@functools.cache
def region_policies() -> dict[str, Policy]:
    return load_policies(data_dir() / POLICY_FILE)


def _nearest(table: dict, region_code: str):
    for code in reversed(region_chain(region_code)):  # the region first, national ('') last
        if code in table:
            return table[code]
    return table[""]


def rules_for(region_code: str) -> tuple[Rule, ...]:
    """The region's rules: its own rows, else the nearest upper region's, else the national ones."""
    return _nearest(carry_rules(), region_code)


def policy_for(region_code: str) -> Policy:
    """The region's policy (零结转, the carry age, open reservations), found the same way."""
    return _nearest(region_policies(), region_code)
