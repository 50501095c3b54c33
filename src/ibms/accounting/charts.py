"""Chart templates and posting rules, loaded from data files (idempotent, audited).

- `data/reference/gov_accounting_unit_chart.csv`: the unit chart (classes 1–5 财务会计, 6–8 预算会计).
- `data/reference/fiscal_general_accounting_chart_2015.csv`: the 2015 总预算会计 chart (single basis).
- `data/accounting/chart_config.csv`: sub-accounts (dotted codes) and auxiliary dimensions per account.
- `data/accounting/posting_rules.csv` + `posting_rule_lines.csv`: posting rules, effective from
  `valid_from` to `valid_to` (blank = open-ended); each year gets its own copy of the rules in force.
- `data/accounting/business_types.csv`: 支付业务类型 and the account each one debits (`debit_account`).
"""

from __future__ import annotations

import csv
from pathlib import Path

import cel
from django.conf import settings
from django.db import transaction

from ibms.core import audit

from .models import (
    DIMENSIONS,
    Basis,
    BusinessType,
    ChartAccount,
    ChartKind,
    ChartTemplate,
    PostingRule,
    PostingRuleLine,
    Side,
)

UNIT_CHART = "gov_accounting_unit_chart.csv"
FISCAL_CHART = "fiscal_general_accounting_chart_2015.csv"
CHART_NAMES = {ChartKind.UNIT: "政府会计制度——行政事业单位会计科目", ChartKind.FISCAL: "财政总预算会计科目（2015）"}
DEBIT_CATEGORIES = {"资产类", "支出类", "费用类", "预算支出类"}


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def accounting_dir() -> Path:
    return Path(settings.DATA_DIR) / "accounting"


def reference_dir() -> Path:
    return Path(settings.DATA_DIR) / "reference"


def parent_code(code: str) -> str:
    return code.rsplit(".", 1)[0] if "." in code else ""


def chart_rows(kind: str) -> list[dict]:
    """The chart's accounts as plain dicts, parents before children, `is_leaf`/`level` computed."""
    rows: dict[str, dict] = {}
    if kind == ChartKind.UNIT:
        for r in _read(reference_dir() / UNIT_CHART):
            rows[r["code"]] = {"code": r["code"], "name": r["name"], "category": r["category"],
                               "basis": Basis.FINANCIAL if r["code"][0] in "12345" else Basis.BUDGET,
                               "balance_side": r["balance_side"], "aux_dims": []}
    else:
        for r in _read(reference_dir() / FISCAL_CHART):
            rows[r["code"]] = {"code": r["code"], "name": r["name"], "category": r["category"],
                               "basis": Basis.FINANCIAL,
                               "balance_side": Side.DEBIT if r["category"] in DEBIT_CATEGORIES else Side.CREDIT,
                               "aux_dims": []}
    for r in _read(accounting_dir() / "chart_config.csv"):
        if r["chart"] != kind:
            continue
        dims = r["aux_dims"].split()
        unknown = [d for d in dims if d not in DIMENSIONS]
        if unknown:
            raise ValueError(f"chart_config.csv {r['code']}: unknown dimensions {unknown}")
        if r["code"] in rows:  # configuring a chart account
            rows[r["code"]]["aux_dims"] = dims
            continue
        parent = rows.get(parent_code(r["code"]))
        if parent is None:
            raise ValueError(f"chart_config.csv {r['code']}: parent account missing")
        rows[r["code"]] = {"code": r["code"], "name": r["name"], "category": parent["category"],
                           "basis": parent["basis"], "balance_side": parent["balance_side"], "aux_dims": dims}
    parents = {parent_code(c) for c in rows}
    out = []
    for code in sorted(rows):
        row = rows[code]
        row["parent_code"] = parent_code(code)
        row["level"] = code.count(".") + 1
        row["is_leaf"] = code not in parents
        out.append(row)
    return out


def load_chart(kind: str, year: int) -> tuple[ChartTemplate, int]:
    """Create the year's template and any accounts it lacks; returns (template, accounts created)."""
    tpl = ChartTemplate.objects.filter(kind=kind, year=year).first()
    if tpl is None:
        tpl = ChartTemplate.objects.create(kind=kind, year=year, name=CHART_NAMES[kind],
                                           source=UNIT_CHART if kind == ChartKind.UNIT else FISCAL_CHART)
        audit.record_change(tpl, "create")
    have = {a.code: a for a in tpl.accounts.all()}
    new, changed = [], []
    for row in chart_rows(kind):
        acc = have.get(row["code"])
        if acc is None:
            new.append(ChartAccount(template=tpl, **row))
        elif acc.is_leaf != row["is_leaf"] or acc.aux_dims != row["aux_dims"]:
            before = audit.snapshot(acc)
            acc.is_leaf, acc.aux_dims = row["is_leaf"], row["aux_dims"]
            acc.save(update_fields=["is_leaf", "aux_dims", "updated_at"])
            changed.append((acc, before))
    ChartAccount.objects.bulk_create(new)
    audit.record_changes(new, "create")
    for acc, before in changed:
        audit.record_change(acc, "update", before)
    return tpl, len(new)


# --- posting rules -----------------------------------------------------------------------------

def _split(text: str) -> list[str]:
    return text.split() if text else []


def rule_rows() -> tuple[list[dict], dict[str, list[dict]]]:
    rules = _read(accounting_dir() / "posting_rules.csv")
    lines: dict[str, list[dict]] = {}
    for r in _read(accounting_dir() / "posting_rule_lines.csv"):
        lines.setdefault(r["rule_code"], []).append(r)
    known = {r["code"] for r in rules}
    orphan = set(lines) - known
    if orphan:
        raise ValueError(f"posting_rule_lines.csv: lines for unknown rules {sorted(orphan)}")
    return rules, lines


def rule_text_check(rule: dict, lines: list[dict]) -> list[str]:
    """Static checks of a rule as data: CEL compiles, sides/bases valid, dimensions known."""
    problems = []
    for expr in [rule.get("condition", "")] + [ln.get("condition", "") for ln in lines]:
        if expr:
            try:
                cel.compile(expr)
            except ValueError as exc:
                problems.append(f"{rule['code']}: condition does not compile: {exc}")
    for ln in lines:
        for expr in (ln["account"], ln["amount"]):
            if expr.startswith("="):
                try:
                    cel.compile(expr[1:])
                except ValueError as exc:
                    problems.append(f"{rule['code']}#{ln['seq']}: expression does not compile: {exc}")
        if ln["basis"] not in Basis.values or ln["side"] not in Side.values:
            problems.append(f"{rule['code']}#{ln['seq']}: bad basis/side")
        dims = _split(ln["copy_dims"])
        if any(d != "*" and d not in DIMENSIONS for d in dims):
            problems.append(f"{rule['code']}#{ln['seq']}: unknown dimension in {dims}")
    if any(d not in DIMENSIONS for d in _split(rule.get("required_dims", ""))):
        problems.append(f"{rule['code']}: unknown required dimension")
    return problems


def load_rules(year: int) -> int:
    """The rules in force in `year`, written as that year's rules (created or updated); returns rows changed."""
    rules, lines = rule_rows()
    changed = 0
    existing = {r.code: r for r in PostingRule.objects.filter(year=year).prefetch_related("lines")}
    for r in rules:
        if int(r["valid_from"]) > year or (r["valid_to"] and int(r["valid_to"]) < year):
            continue
        rule_lines = sorted(lines.get(r["code"], []), key=lambda x: int(x["seq"]))
        problems = rule_text_check(r, rule_lines)
        if problems:
            raise ValueError("; ".join(problems))
        fields = {"event_type": r["event_type"], "name": r["summary"] or r["code"], "chart_kind": r["chart"],
                  "condition": r["condition"], "priority": int(r["priority"] or 100),
                  "required_dims": _split(r["required_dims"]), "summary": r["summary"],
                  "provenance": r["provenance"][:60], "is_active": True}
        line_specs = [{"seq": int(ln["seq"]), "basis": ln["basis"], "side": ln["side"], "account": ln["account"],
                       "amount_field": ln["amount"], "copy_dims": _split(ln["copy_dims"]),
                       "condition": ln["condition"]} for ln in rule_lines]
        rule = existing.get(r["code"])
        if rule is not None:
            same = all(getattr(rule, k) == v for k, v in fields.items())
            have_lines = [{"seq": x.seq, "basis": x.basis, "side": x.side, "account": x.account,
                           "amount_field": x.amount_field, "copy_dims": x.copy_dims, "condition": x.condition}
                          for x in rule.lines.all()]
            if same and have_lines == line_specs:
                continue
            audit.update_fields(rule, **fields)
            old = list(rule.lines.all())
            for x in old:
                audit.record_change(x, "delete", audit.snapshot(x))
            PostingRuleLine.objects.filter(rule=rule).delete()
        else:
            rule = PostingRule.objects.create(year=year, code=r["code"], **fields)
            audit.record_change(rule, "create")
        new = PostingRuleLine.objects.bulk_create([PostingRuleLine(rule=rule, **spec) for spec in line_specs])
        audit.record_changes(new, "create")
        changed += 1
    return changed


def load_business_types(year: int) -> int:
    """The year's 支付业务类型 (created or updated in place); returns rows changed."""
    existing = {b.code: b for b in BusinessType.objects.filter(year=year)}
    changed = 0
    for r in _read(accounting_dir() / "business_types.csv"):
        try:
            if not r["debit_account"][:1].isdigit():
                cel.compile(r["debit_account"])
        except ValueError as exc:
            raise ValueError(f"business_types.csv {r['code']}: debit_account is not CEL: {exc}") from exc
        fields = {"name": r["name"], "debit_account": r["debit_account"], "derive_eco": _split(r["derive_eco"]),
                  "allowed_eco": _split(r["allowed_eco"]), "sort": int(r["sort"] or 100),
                  "provenance": r["provenance"][:60], "is_active": True}
        bt = existing.get(r["code"])
        if bt is None:
            audit.record_change(BusinessType.objects.create(year=year, code=r["code"], **fields), "create")
        elif any(getattr(bt, k) != v for k, v in fields.items()):
            audit.update_fields(bt, **fields)
        else:
            continue
        changed += 1
    return changed


def load_all(years: list[int]) -> dict[str, int]:
    out = {"accounts": 0, "rules": 0, "business_types": 0}
    with transaction.atomic(durable=True):
        for year in years:
            for kind in ChartKind.values:
                out["accounts"] += load_chart(kind, year)[1]
            out["rules"] += load_rules(year)
            out["business_types"] += load_business_types(year)
    return out
