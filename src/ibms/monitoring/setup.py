"""Set-up every deployment needs for this app (called by `ibms setup` / `demo.setup.setup_system`): the shipped
rule catalogue from `data/monitoring/rules.csv`, loaded and updated in place (idempotent, audited).

A row is keyed by (region_code, code). A changed row updates the rule; a change of its logic (condition, params,
level, stage, action, dates) bumps the version. The file is the authority for its rules, including `enabled`
(the national catalogue is maintained here, not on screen; regions add or override rules through the editor).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

from django.conf import settings
from django.db import transaction

from ibms.core import audit
from ibms.core.transactions import in_callers_transaction

from . import engine
from .models import Rule

LOGIC = ("condition", "params", "level", "department_code", "stage", "action", "valid_from", "valid_to")
TEXT = ("name", "catalogue_no", "message", "legal_basis", "provenance", "enabled")


def rules_file() -> Path:
    return Path(settings.DATA_DIR) / "monitoring" / "rules.csv"


def read_rules(path: Path | None = None) -> list[dict]:
    """The rows of the catalogue file as rule field values; ValueError naming the row when one is unusable."""
    out = []
    with open(path or rules_file(), encoding="utf-8", newline="") as fh:
        for n, row in enumerate(csv.DictReader(fh), start=2):
            try:
                params = json.loads(row["params"] or "{}")
            except json.JSONDecodeError as exc:
                raise ValueError(f"rules.csv line {n}: params is not JSON: {exc}") from exc
            values = {
                "region_code": row["region_code"].strip(), "code": row["code"].strip(), "name": row["name"].strip(),
                "catalogue_no": row["catalogue_no"].strip(), "level": row["level"].strip() or "region",
                "department_code": row["department_code"].strip(), "stage": row["stage"].strip() or "inline",
                "action": row["action"].strip(), "condition": row["condition"].strip(), "params": params,
                "message": row["message"].strip(),
                "valid_from": dt.date.fromisoformat(row["valid_from"]) if row["valid_from"].strip() else None,
                "valid_to": dt.date.fromisoformat(row["valid_to"]) if row["valid_to"].strip() else None,
                "enabled": row["enabled"].strip().lower() in ("1", "true", "yes", "y"),
                "legal_basis": row["legal_basis"].strip(), "provenance": row["provenance"].strip(),
            }
            problems = engine.check_rule(values["condition"], params, values["message"])
            if problems:
                raise ValueError(f"rules.csv line {n} ({values['code']}): " + "; ".join(p.message for p in problems))
            out.append(values)
    return out


@in_callers_transaction
def load_rules(path: Path | None = None) -> dict[str, int]:
    rows = read_rules(path)
    created = updated = 0
    with transaction.atomic():
        for values in rows:
            key = {"region_code": values["region_code"], "code": values["code"]}
            rule = Rule.objects.select_for_update().filter(**key).first()
            if rule is None:
                rule = Rule.objects.create(**values, version=1)
                audit.record_change(rule, "create")
                created += 1
                continue
            logic = any(getattr(rule, f) != values[f] for f in LOGIC)
            if not logic and all(getattr(rule, f) == values[f] for f in TEXT):
                continue
            before = audit.snapshot(rule)
            for f in (*LOGIC, *TEXT):
                setattr(rule, f, values[f])
            if logic:
                rule.version += 1
            rule.save()
            audit.record_change(rule, "update", before)
            updated += 1
    engine.invalidate()
    return {"created": created, "updated": updated}


def setup_app(years: list[int]) -> None:
    with transaction.atomic():
        load_rules()
