"""Rules (CEL validated on save; a change of logic makes a new version that must be back-tested before it may
be enabled) and whitelist entries. Every function owns its transaction and invalidates the engine's cache."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from ibms.core import audit, clock
from ibms.core.errors import Conflict, ValidationFailed, Violation
from ibms.core.scoping import CHANGE, VIEW, check_write_scope, get_in_scope, require_perm
from ibms.masterdata.models import Region, Unit

from .. import engine
from ..models import Action, BacktestRun, Level, Rule, Stage, WhitelistEntry

P_RULE_ADD, P_RULE_CHANGE = "monitoring.add_rule", "monitoring.change_rule"
P_WL_ADD, P_WL_CHANGE = "monitoring.add_whitelistentry", "monitoring.change_whitelistentry"

# Changing any of these makes a new version: it must be back-tested before it may be enabled again.
LOGIC_FIELDS = ("condition", "params", "level", "department_code", "stage", "action", "valid_from", "valid_to")
TEXT_FIELDS = ("name", "catalogue_no", "message", "legal_basis", "provenance")


def _date(value, field: str, problems: list[Violation]) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        problems.append(Violation("date_invalid", f"日期格式应为 YYYY-MM-DD：{value}", field))
        return None


def _clean_rule(data: dict, *, region_code: str) -> tuple[dict, list[Violation]]:
    """Normalise and check the rule fields; returns (values, every problem found)."""
    problems: list[Violation] = []
    v = {k: (data.get(k) or "").strip() if isinstance(data.get(k, ""), str) else data.get(k)
         for k in ("name", "catalogue_no", "level", "department_code", "stage", "action", "condition", "message",
                   "legal_basis", "provenance")}
    v = {k: (x if x is not None else "") for k, x in v.items()}
    v["level"] = v["level"] or Level.REGION
    v["stage"] = v["stage"] or Stage.INLINE
    params = data.get("params")
    v["params"] = {} if params in (None, "") else params
    v["valid_from"] = _date(data.get("valid_from"), "valid_from", problems)
    v["valid_to"] = _date(data.get("valid_to"), "valid_to", problems)
    if not v["name"]:
        problems.append(Violation("name_required", "请填写规则名称", "name"))
    if v["level"] not in Level.values:
        problems.append(Violation("level_invalid", "规则级次只能是区划级或部门级", "level"))
    if v["stage"] not in Stage.values:
        problems.append(Violation("stage_invalid", "监控环节只能是事中、事后或两者", "stage"))
    if v["action"] not in Action.values:
        problems.append(Violation("action_invalid", "处理方式只能是阻断、红色预警、黄色预警或提示", "action"))
    if v["level"] == Level.DEPARTMENT:
        if not v["department_code"]:
            problems.append(Violation("department_required", "部门级规则须填写主管部门代码", "department_code"))
        else:
            units = Unit.objects.filter(code=v["department_code"], parent__isnull=True)
            if region_code:
                units = units.filter(region_code__in=_subtree(region_code))
            if not units.exists():
                problems.append(Violation("department_unknown", f"主管部门 {v['department_code']} 不存在",
                                          "department_code"))
    else:
        v["department_code"] = ""
    if not v["message"]:
        problems.append(Violation("message_required", "请填写提示信息", "message"))
    if v["valid_from"] and v["valid_to"] and v["valid_to"] < v["valid_from"]:
        problems.append(Violation("dates_invalid", "失效日期不能早于生效日期", "valid_to"))
    problems.extend(Violation(e.code, e.message, e.field)
                    for e in engine.check_rule(v["condition"], v["params"], v["message"]))
    return v, problems


def _subtree(region_code: str) -> set[str]:
    region = Region.objects.filter(code=region_code).first()
    if region is None:
        return {region_code}
    return set(Region.objects.filter(path__startswith=region.path).values_list("code", flat=True))


def rule_create(*, actor, data: dict) -> Rule:
    """A new rule of the actor's region (or `data["region_code"]` when writable), disabled, version 1."""
    require_perm(actor, P_RULE_ADD)
    region_code = (data.get("region_code") or getattr(actor, "region_code", "") or "").strip()
    code = (data.get("code") or "").strip()
    with transaction.atomic(durable=True):
        check_write_scope(actor, region_code=region_code)
        values, problems = _clean_rule(data, region_code=region_code)
        if not code:
            problems.insert(0, Violation("code_required", "请填写规则编码", "code"))
        elif Rule.objects.filter(region_code=region_code, code=code).exists():
            problems.insert(0, Violation("code_taken", f"本区划已有编码为 {code} 的规则", "code"))
        if problems:
            raise ValidationFailed(problems, message="规则未保存")
        rule = Rule.objects.create(region_code=region_code, code=code, enabled=False, version=1,
                                   created_by=actor, **values)
        audit.record_change(rule, "create")
        audit.record_event("monitoring.rule_created", obj=rule, message=f"新建监控规则 {code}")
    engine.invalidate()
    return rule


def rule_update(*, actor, pk: int, data: dict) -> Rule:
    """Change a rule. A change of its logic (condition, params, level, stage, action, dates) makes a new version
    and disables the rule until that version is back-tested and enabled again."""
    require_perm(actor, P_RULE_CHANGE)
    with transaction.atomic(durable=True):
        rule = get_in_scope(Rule.objects.select_for_update(), actor, CHANGE, what="监控规则", pk=pk)
        merged = {f: getattr(rule, f) for f in (*LOGIC_FIELDS, *TEXT_FIELDS)}
        merged.update({k: v for k, v in data.items() if k in merged})
        values, problems = _clean_rule(merged, region_code=rule.region_code)
        if problems:
            raise ValidationFailed(problems, message="规则未保存")
        logic_changed = any(values[f] != getattr(rule, f) for f in LOGIC_FIELDS)
        if logic_changed:
            values.update(version=rule.version + 1, enabled=False)
        audit.update_fields(rule, **values)
        if logic_changed:
            audit.record_event("monitoring.rule_versioned", obj=rule,
                               message=f"监控规则 {rule.code} 修改为第 {rule.version} 版（须回测后启用）")
    engine.invalidate()
    return rule


def _set_enabled(actor, pk: int, enabled: bool) -> Rule:
    require_perm(actor, P_RULE_CHANGE)
    with transaction.atomic(durable=True):
        rule = get_in_scope(Rule.objects.select_for_update(), actor, CHANGE, what="监控规则", pk=pk)
        if rule.enabled == enabled:
            return rule
        if enabled:
            if not BacktestRun.objects.filter(rule=rule, rule_version=rule.version).exists():
                raise Conflict("backtest_required", f"启用前须先对规则当前版本（第 {rule.version} 版）进行回测")
            problems = engine.check_rule(rule.condition, rule.params, rule.message)
            if problems:
                raise ValidationFailed([Violation(e.code, e.message, e.field) for e in problems], message="规则不能启用")
        audit.update_fields(rule, enabled=enabled)
        audit.record_event("monitoring.rule_enabled" if enabled else "monitoring.rule_disabled", obj=rule,
                           message=f"{'启用' if enabled else '停用'}监控规则 {rule.code} 第 {rule.version} 版")
    engine.invalidate()
    return rule


def rule_enable(*, actor, pk: int) -> Rule:
    return _set_enabled(actor, pk, True)


def rule_disable(*, actor, pk: int) -> Rule:
    return _set_enabled(actor, pk, False)


# --- whitelist --------------------------------------------------------------------------------------------------

def whitelist_add(*, actor, rule_id: int, legal_basis: str, valid_from: dt.date | str | None = None,
                  valid_to: dt.date | str | None = None, region_code: str = "", unit_code: str = "",
                  payee_account: str = "", indicator_code: str = "") -> WhitelistEntry:
    """Exempt payments of a region subtree (optionally one unit / payee account / indicator) from a rule code."""
    require_perm(actor, P_WL_ADD)
    region_code = (region_code or getattr(actor, "region_code", "") or "").strip()
    with transaction.atomic(durable=True):
        rule = get_in_scope(Rule.objects.all(), actor, VIEW, what="监控规则", pk=rule_id)
        check_write_scope(actor, region_code=region_code)
        problems: list[Violation] = []
        start = _date(valid_from, "valid_from", problems) or clock.today(region_code)
        end = _date(valid_to, "valid_to", problems)
        if not (legal_basis or "").strip():
            problems.append(Violation("legal_basis_required", "白名单须填写豁免依据（文件或法规）", "legal_basis"))
        if end and end < start:
            problems.append(Violation("dates_invalid", "失效日期不能早于生效日期", "valid_to"))
        if rule.region_code and rule.region_code not in engine.rule_set().chain(region_code):
            problems.append(Violation("region_outside_rule", "白名单区划不在该规则的适用范围内", "region_code"))
        if unit_code and not Unit.objects.filter(region_code=region_code, code=unit_code.strip()).exists():
            problems.append(Violation("unit_unknown", f"本区划不存在单位 {unit_code}", "unit_code"))
        if problems:
            raise ValidationFailed(problems, message="白名单未保存")
        entry = WhitelistEntry.objects.create(
            rule=rule, rule_code=rule.code, region_code=region_code, unit_code=unit_code.strip(),
            payee_account=payee_account.strip(), indicator_code=indicator_code.strip(),
            legal_basis=legal_basis.strip(), valid_from=start, valid_to=end, created_by=actor)
        audit.record_change(entry, "create")
    engine.invalidate()
    return entry


def whitelist_deactivate(*, actor, pk: int) -> WhitelistEntry:
    require_perm(actor, P_WL_CHANGE)
    with transaction.atomic(durable=True):
        entry = get_in_scope(WhitelistEntry.objects.select_for_update(), actor, CHANGE, what="白名单", pk=pk)
        audit.update_fields(entry, is_active=False)
    engine.invalidate()
    return entry
