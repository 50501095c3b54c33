"""The rule engine: a plain context in, the hits of the active rules out. Reads rules, writes nothing.

Compilation. Each rule's condition is compiled once per (rule id, version) into one CEL program
`[<params as a literal>].all(params, (<condition>))`, so `params` is bound inside the program and one CEL
context (the payment context, converted once per evaluation) serves every rule without being rebuilt.

Which rules apply to a payment (region and date from `context["payment"]`): enabled; stage matches ("inline" runs
inline + both, "batch" runs batch + both); region '' (national) or a region on the payment region's chain (a rule
of a province applies to its cities and counties, via `masterdata.Region.path`); the most specific region wins
among enabled rules with the same code (a region's own thresholds replace the national ones); valid_from ≤ date ≤
valid_to; level "department" rules only for units of that department (`unit.department_code`). A hit is dropped
when an active whitelist entry for the rule code covers the payment (region subtree, and the entry's unit code /
payee account / indicator code when set, dates). A rule whose evaluation fails on some context (e.g. a type error
on odd data) is logged and counts as no hit; conditions are validated against `sample_context` when saved.

Cache and invalidation. The rule set (rows, compiled programs, per-region lists) is cached per process. Before
each evaluation the engine compares a cheap stamp of the tables — one aggregate query: count, enabled count,
max(updated_at) and sum(version) of rules, count, active count and max(updated_at) of whitelist entries — with
the one the cache was built from and reloads on any difference; compiled programs are kept per (id, version), so a reload recompiles only changed
rules. Every writer of rules/whitelist goes through `services`, which bump `updated_at` (and `version` for content
changes), so a change committed by any process is seen by the next evaluation in every other process. The stamp
check may be throttled with `settings.MONITORING_STAMP_TTL` (seconds, default 0 = every call); with a TTL a
change reaches other processes within that many seconds (this process still sees its own changes at once, as the
services call `invalidate()`).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import cel
from django.conf import settings
from django.db import connection

from ibms.core.money import format_fen

from .context import DEFAULTS, HISTORY_KEYS, complete, field_names, sample_context
from .models import ACTION_ORDER, Level, Rule, Stage, WhitelistEntry

log = logging.getLogger("ibms.monitoring")

STAGES = {"inline": (Stage.INLINE, Stage.BOTH), "batch": (Stage.BATCH, Stage.BOTH)}
_HISTORY_RE = re.compile(r"\bhistory\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)")
_FIELD_RE = re.compile(r"(?<![\w.])(payment|indicator|unit|payee|history)\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)")
_PLACEHOLDER_RE = re.compile(r"\{([a-z_]+)\.([A-Za-z0-9_]+)(?::(yuan))?\}")


@dataclass(frozen=True)
class Hit:
    rule_id: int
    rule_code: str
    rule_version: int
    name: str
    action: str
    message: str


@dataclass
class CompiledRule:
    id: int
    code: str
    version: int
    name: str
    region_code: str
    level: str
    department_code: str
    stage: str
    action: str
    message: str
    params: dict
    valid_from: str  # "" or "YYYY-MM-DD" (compared as strings with the payment date)
    valid_to: str
    program: object
    history_keys: frozenset[str] = field(default_factory=frozenset)

    @property
    def reads_history_always(self) -> bool:
        """`has(history.…)` answers differently when the key is absent: such a rule always gets the history."""
        return "has(history" in self.condition_text

    @property
    def message_history(self) -> bool:
        return "history." in self.message

    condition_text: str = ""


@dataclass(frozen=True)
class WhiteEntry:
    rule_code: str
    region_code: str
    unit_code: str
    payee_account: str
    indicator_code: str
    valid_from: str
    valid_to: str


class RuleError(ValueError):
    """A condition or message template that cannot be used; `message` is Chinese, for the rule editor."""

    def __init__(self, code: str, message: str, field: str = "condition"):
        super().__init__(message)
        self.code, self.message, self.field = code, message, field


# --- compilation ------------------------------------------------------------------------------------------------

def _wrap(condition: str, params: dict) -> str:
    return f"[{json.dumps(params or {}, ensure_ascii=False)}].all(params, ({condition}))"


def compile_condition(condition: str, params: dict):
    """Compile a rule's condition with its params bound; RuleError with a Chinese message when it is not CEL."""
    if not condition.strip():
        raise RuleError("condition_required", "触发条件不能为空")
    try:
        return cel.compile(_wrap(condition, params))
    except (ValueError, RuntimeError, TypeError) as exc:
        raise RuleError("condition_syntax", f"触发条件不是有效的 CEL 表达式：{exc}") from exc


def history_keys_of(condition: str) -> frozenset[str]:
    return frozenset(_HISTORY_RE.findall(condition))


def check_rule(condition: str, params: dict, message: str) -> list[RuleError]:
    """Every problem of a condition + params + message template (empty list = usable). Compiles, checks the field
    names against the context schema, and runs it on `sample_context()`: the result must be true or false."""
    problems: list[RuleError] = []
    if not isinstance(params, dict):
        return [RuleError("params_invalid", "参数必须是 JSON 对象（{…}）", "params")]
    names = field_names()
    unknown = sorted({f"{s}.{k}" for s, k in _FIELD_RE.findall(condition) if k not in names[s]})
    if unknown:
        problems.append(RuleError("condition_field", f"触发条件引用了不存在的字段：{'、'.join(unknown)}"))
    for section, key, _ in _PLACEHOLDER_RE.findall(message or ""):
        if section == "params":
            if key not in params:
                problems.append(RuleError("message_field", f"提示信息引用了不存在的参数：params.{key}", "message"))
        elif section not in names or key not in names[section]:
            problems.append(RuleError("message_field", f"提示信息引用了不存在的字段：{section}.{key}", "message"))
    try:
        compile_condition(condition, params)
        raw = cel.compile(condition)  # run unwrapped too, so a non-boolean result is named as such
    except RuleError as exc:
        return [*problems, exc]
    if not problems:
        try:
            result = raw.execute(cel.Context({**sample_context(), "params": params}))
        except Exception as exc:  # noqa: BLE001 - any evaluation failure is the editor's problem to fix
            problems.append(RuleError("condition_eval", f"触发条件无法求值：{exc}"))
        else:
            if not isinstance(result, bool):
                problems.append(RuleError("condition_not_bool", "触发条件的结果必须是真/假（true/false）"))
    return problems


def render_message(template: str, ctx: dict, params: dict) -> str:
    """`{payment.amount}` → the value; `{payment.amount:yuan}` → grouped yuan text."""
    def sub(m: re.Match) -> str:
        section, key, fmt = m.groups()
        value = (params if section == "params" else ctx.get(section, {})).get(key, "")
        if fmt == "yuan" and isinstance(value, int) and not isinstance(value, bool):
            return format_fen(value)
        return str(value)
    return _PLACEHOLDER_RE.sub(sub, template)


# --- the cached rule set ----------------------------------------------------------------------------------------

_STAMP_SQL = None


def _stamp() -> tuple:
    global _STAMP_SQL
    if _STAMP_SQL is None:
        r, w = Rule._meta.db_table, WhitelistEntry._meta.db_table
        _STAMP_SQL = (f"SELECT COUNT(*), SUM(CASE WHEN enabled THEN 1 ELSE 0 END), MAX(updated_at), "  # noqa: S608
                      f"SUM(version) FROM {r} UNION ALL SELECT COUNT(*), SUM(CASE WHEN is_active THEN 1 ELSE 0 END), "
                      f"MAX(updated_at), 0 FROM {w}")
    with connection.cursor() as cur:
        cur.execute(_STAMP_SQL)
        return tuple(cur.fetchall())


class RuleSet:
    def __init__(self, stamp: tuple, rules: list[CompiledRule], white: list[WhiteEntry]):
        self.stamp = stamp
        self.rules = rules
        self.white: dict[str, list[WhiteEntry]] = {}
        for w in white:
            self.white.setdefault(w.rule_code, []).append(w)
        self._for_region: dict[tuple[str, str], list[CompiledRule]] = {}
        self._chains: dict[str, tuple[str, ...]] = {}

    def chain(self, region_code: str) -> tuple[str, ...]:
        """'' and the region with the regions above it (from Region.path), memoised for this rule set."""
        got = self._chains.get(region_code)
        if got is None:
            from ibms.masterdata.selectors import region_chain

            got = self._chains[region_code] = tuple(region_chain(region_code)) if region_code else ("",)
        return got

    def for_region(self, region_code: str, stage: str) -> list[CompiledRule]:
        key = (region_code, stage)
        got = self._for_region.get(key)
        if got is None:
            chain = self.chain(region_code)
            depth = {code: n for n, code in enumerate(chain)}
            stages = STAGES[stage]
            best: dict[str, CompiledRule] = {}
            for r in self.rules:
                if r.region_code in depth and r.stage in stages:
                    cur = best.get(r.code)
                    if cur is None or depth[r.region_code] > depth[cur.region_code]:
                        best[r.code] = r
            got = self._for_region[key] = sorted(best.values(), key=lambda r: (ACTION_ORDER[r.action], r.code))
        return got

    def whitelisted(self, rule_code: str, ctx: dict, date: str, chain: tuple[str, ...]) -> bool:
        for w in self.white.get(rule_code, ()):
            if w.region_code not in chain or w.valid_from > date or (w.valid_to and w.valid_to < date):
                continue
            if w.unit_code and w.unit_code != ctx["unit"]["code"]:
                continue
            if w.payee_account and w.payee_account != ctx["payee"]["account_no"]:
                continue
            if w.indicator_code and w.indicator_code != ctx["indicator"]["code"]:
                continue
            return True
        return False


_lock = threading.Lock()
_programs: dict[tuple[int, int], tuple[str, object]] = {}
_current: RuleSet | None = None
_checked_at = 0.0
_dirty = False


def compiled(rule: Rule):
    """The program for this (rule id, version), compiled once. The source is kept beside it and compared, so an id
    reused after a rollback (SQLite, tests) can never run another rule's program."""
    key = (rule.pk, rule.version)
    source = _wrap(rule.condition, rule.params)
    got = _programs.get(key)
    if got is None or got[0] != source:
        got = _programs[key] = (source, compile_condition(rule.condition, rule.params))
    return got[1]


def _compile_rule(r: Rule) -> CompiledRule | None:
    try:
        prog = compiled(r)
    except RuleError as exc:
        log.warning("monitoring rule %s v%s does not compile: %s", r.code, r.version, exc)
        return None
    return CompiledRule(id=r.pk, code=r.code, version=r.version, name=r.name, region_code=r.region_code,
                        level=r.level, department_code=r.department_code, stage=r.stage, action=r.action,
                        message=r.message, params=r.params or {},
                        valid_from=r.valid_from.isoformat() if r.valid_from else "",
                        valid_to=r.valid_to.isoformat() if r.valid_to else "",
                        program=prog, condition_text=r.condition,
                        history_keys=history_keys_of(r.condition + " " + r.message) & HISTORY_KEYS)


def _load(stamp: tuple) -> RuleSet:
    rules = [c for r in Rule.objects.filter(enabled=True).order_by("code", "region_code")
             if (c := _compile_rule(r)) is not None]
    white = [WhiteEntry(w.rule_code, w.region_code, w.unit_code, w.payee_account, w.indicator_code,
                        w.valid_from.isoformat(), w.valid_to.isoformat() if w.valid_to else "")
             for w in WhitelistEntry.objects.filter(is_active=True)]
    if len(_programs) > 4096:  # old versions pile up only under heavy editing: keep the live ones
        live = {(r.id, r.version) for r in rules}
        for key in [k for k in _programs if k not in live]:
            _programs.pop(key, None)
    return RuleSet(stamp, rules, white)


def invalidate() -> None:
    """Drop this process's rule set: the next evaluation reloads it (services call this after writing)."""
    global _dirty, _current
    _dirty = True
    _current = None


def rule_set() -> RuleSet:
    global _current, _checked_at, _dirty
    ttl = float(getattr(settings, "MONITORING_STAMP_TTL", 0) or 0)
    now = time.monotonic()
    current = _current
    if current is not None and not _dirty and ttl and now - _checked_at < ttl:
        return current
    stamp = _stamp()
    with _lock:
        _dirty = False
        _checked_at = now
        if _current is None or _current.stamp != stamp:
            _current = _load(stamp)
        return _current


# --- evaluation -------------------------------------------------------------------------------------------------

def _applies(r: CompiledRule, ctx: dict, date: str) -> bool:
    if r.valid_from and date < r.valid_from:
        return False
    if r.valid_to and date > r.valid_to:
        return False
    return not (r.level == Level.DEPARTMENT and ctx["unit"]["department_code"] != r.department_code)


FAILED_MESSAGE = "监控规则“{name}”（{code}）对本笔支付执行出错，按{action}处理，请联系系统管理员核查规则"
FAIL_CLOSED = {"block": "阻断", "warn_red": "红色预警"}


def _run(r: CompiledRule, cel_ctx, ctx: dict) -> bool | None:
    """True/False, or None when the condition fails at run time (logged)."""
    try:
        return r.program.execute(cel_ctx) is True
    except Exception as exc:  # noqa: BLE001 - the caller decides (fail closed for block / red)
        log.warning("monitoring rule %s v%s failed on %s: %s", r.code, r.version, ctx["payment"]["number"], exc)
        return None


def _hit(r: CompiledRule, ctx: dict, outcome: bool | None) -> Hit | None:
    """A rule that fails at run time fails closed when it blocks or needs an explanation (a control that cannot
    be evaluated must not wave the payment through); a failing yellow warning or notice is only logged."""
    if outcome is None and r.action in FAIL_CLOSED:
        message = FAILED_MESSAGE.format(name=r.name, code=r.code, action=FAIL_CLOSED[r.action])
    elif outcome:
        message = render_message(r.message, ctx, r.params)
    else:
        return None
    return Hit(rule_id=r.id, rule_code=r.code, rule_version=r.version, name=r.name, action=r.action, message=message)


def _without_history(r: CompiledRule, cel_ctx) -> bool | None:
    """The rule's answer with an empty `history`, or None when it reached a history key (or fails anyway)."""
    try:
        return r.program.execute(cel_ctx) is True
    except Exception:  # noqa: BLE001 - run again with the history it needs; real failures are handled there
        return None


def evaluate(context: dict, *, stage: str = "inline",
             history: Callable[[frozenset[str]], dict] | None = None) -> list[Hit]:
    """The hits of the rules in force for this payment (most severe first). Region and date from the payment.

    With `history` (a function of the keys wanted, returning the `history` section), the aggregates are computed
    lazily: every rule first runs without them; a rule whose condition never reached a history key (CEL
    short-circuits: `payment.set_mode == "3" && history.unit_cash_30d_count > …` stops at a transfer) has its
    answer; only the rules that reached one (a missing key is an error in CEL) run again, once the keys they use
    are computed. Most payments then need no history query at all."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}")
    rs = rule_set()
    ctx = complete(context)
    pay = ctx["payment"]
    region, date = pay["region_code"], pay["date"]
    rules = [r for r in rs.for_region(region, stage) if _applies(r, ctx, date)]
    if not rules:
        return []
    outcomes: dict[int, bool | None] = {}
    if history is not None:
        lazy = {**ctx, "history": {}}
        cel_lazy = cel.Context(lazy)
        for i, r in enumerate(rules):
            if not r.history_keys:
                outcomes[i] = _run(r, cel_lazy, lazy)
            elif not r.reads_history_always:
                value = _without_history(r, cel_lazy)
                if value is False or (value and not r.message_history):
                    outcomes[i] = value
        pending = [r for i, r in enumerate(rules) if i not in outcomes]
        wanted = frozenset().union(*(r.history_keys for r in pending))
        ctx["history"] = {**ctx["history"], **(history(wanted) if wanted else {})}
    cel_ctx = cel.Context(ctx)
    chain = rs.chain(region)
    hits = []
    for i, r in enumerate(rules):
        outcome = outcomes[i] if i in outcomes else _run(r, cel_ctx, ctx)
        hit = _hit(r, ctx, outcome)
        if hit is not None and not rs.whitelisted(r.code, ctx, date, chain):
            hits.append(hit)
    return hits


_extra_history: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar("mon_extra_history",
                                                                                default=frozenset())


@contextlib.contextmanager
def also_needed(keys: frozenset[str]):
    """While a back-test reads its source, `history_needed` also names the keys of the rule being tested (a draft
    or a disabled rule is not among the rules in force), so the source computes them."""
    token = _extra_history.set(_extra_history.get() | keys)
    try:
        yield
    finally:
        _extra_history.reset(token)


def history_needed(region_code: str, stage: str = "inline") -> frozenset[str]:
    """The history.* keys the rules in force in this region and stage use (the caller computes only these)."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}")
    out: set[str] = set(_extra_history.get())
    for r in rule_set().for_region(region_code, stage):
        out |= r.history_keys
    return frozenset(out)


def evaluate_one(rule: Rule, context: dict) -> Hit | None:
    """One rule (saved or draft, enabled or not) on one context, with the same date, level and whitelist logic as
    `evaluate` — the back-test. The region must be the rule's region or below it."""
    prog = compiled(rule) if rule.pk else compile_condition(rule.condition, rule.params)
    c = CompiledRule(id=rule.pk or 0, code=rule.code, version=rule.version, name=rule.name,
                     region_code=rule.region_code, level=rule.level, department_code=rule.department_code,
                     stage=rule.stage, action=rule.action, message=rule.message, params=rule.params or {},
                     valid_from=rule.valid_from.isoformat() if rule.valid_from else "",
                     valid_to=rule.valid_to.isoformat() if rule.valid_to else "", program=prog)
    ctx = complete(context)
    rs = rule_set()
    pay = ctx["payment"]
    chain = rs.chain(pay["region_code"])
    if c.region_code not in chain or not _applies(c, ctx, pay["date"]):
        return None
    hit = _hit(c, ctx, _run(c, cel.Context(ctx), ctx))
    if hit is None or rs.whitelisted(c.code, ctx, pay["date"], chain):
        return None
    return hit


__all__ = ["DEFAULTS", "Hit", "evaluate", "evaluate_one", "history_needed", "invalidate", "check_rule",
           "compile_condition", "render_message"]
