"""The monitoring context: the plain dict a caller (treasury) hands to `engine.evaluate`.

All money is integer fen; dates are "YYYY-MM-DD" strings; codes are strings. Sections and keys (the defaults
below are what the engine fills in for anything the caller leaves out, so a rule never sees a missing key):

payment     region_code, year, number, amount, date, month, day, weekday (1 Monday … 7 Sunday, ISO), hour,
            is_holiday (weekend or `masterdata.Holiday`, but not a 调休 make-up working day), set_mode
            ("1" 转账 "2" 公务卡 "3" 现金 "4" 支票 "5" 托收), pay_method ("direct" | "centralized" | "authorized"),
            purpose, is_payroll, is_batch, line_count, contract_no, contract_amount, contract_paid_before
            (paid on the contract before this payment), fund_nature_code, exp_func_code, dep_eco_code, gov_eco_code,
            statement_match ("" a payment request; "unmatched": a debit on a unit's own-funds account statement that
            no approved request explains — unitfunds' T+1 source).
indicator   code ("" = no indicator), fund_nature_code, exp_func_code, dep_eco_code, gov_eco_code, amount,
            available (before this payment), spent, is_gov_pur, is_track (直达资金), is_sangong, is_sanbao,
            is_personnel (staff funds: 301/303), project_code.
unit        code, name, unit_type (organ | institution | other), department_code, region_code.
payee       name, kind (corporate | individual | government), account_no, bank_name, in_directory,
            is_blacklisted, is_own_funds_account (the account is an own-funds or special account of this unit,
            its department or its subordinates, or a 财政专户).
history     only the keys `engine.history_needed(region_code, stage)` returns need to be computed (HISTORY_KEYS);
            all exclude the payment being evaluated: payee_30d_count / payee_30d_amount / payee_30d_amounts
            (this unit's payments to this payee account in the last 30 days: count, sum, the amounts),
            payee_units_90d (distinct units that paid this payee account in the last 90 days), unit_cash_30d_count
            / unit_cash_30d_amount (this unit's cash payments, set_mode "3", last 30 days), indicator_paid_ytd /
            indicator_paid_dec (paid on this indicator this year / in December), unit_eco_paid_ytd (this unit's
            payments this year with the same department economic class), unit_eco_budget (sum of the unit's
            indicators with that class).
params      the rule's own `params` (set by the engine per rule, not by the caller).

`sample_context(**overrides)` builds a clean context that no shipped rule fires on (tests and the benchmark);
`calendar_facts(when, region_code)` computes the payment date fields from a date/datetime and the holiday calendar.
"""

from __future__ import annotations

import copy
import datetime as dt

SECTIONS = ("payment", "indicator", "unit", "payee", "history")

HISTORY_KEYS: frozenset[str] = frozenset({
    "payee_30d_count", "payee_30d_amount", "payee_30d_amounts", "payee_units_90d", "unit_cash_30d_count",
    "unit_cash_30d_amount", "indicator_paid_ytd", "indicator_paid_dec", "unit_eco_paid_ytd", "unit_eco_budget",
})

DEFAULTS: dict[str, dict] = {
    "payment": {
        "region_code": "", "year": 0, "number": "", "amount": 0, "date": "", "month": 0, "day": 0, "weekday": 0,
        "hour": 0, "is_holiday": False, "set_mode": "1", "pay_method": "centralized", "purpose": "",
        "is_payroll": False, "is_batch": False, "line_count": 1, "contract_no": "", "contract_amount": 0,
        "contract_paid_before": 0, "fund_nature_code": "", "exp_func_code": "", "dep_eco_code": "", "gov_eco_code": "",
        "statement_match": "",
    },
    "indicator": {
        "code": "", "fund_nature_code": "", "exp_func_code": "", "dep_eco_code": "", "gov_eco_code": "", "amount": 0,
        "available": 0, "spent": 0, "is_gov_pur": False, "is_track": False, "is_sangong": False, "is_sanbao": False,
        "is_personnel": False, "project_code": "",
    },
    "unit": {"code": "", "name": "", "unit_type": "", "department_code": "", "region_code": ""},
    "payee": {
        "name": "", "kind": "corporate", "account_no": "", "bank_name": "", "in_directory": False,
        "is_blacklisted": False, "is_own_funds_account": False,
    },
    "history": {
        "payee_30d_count": 0, "payee_30d_amount": 0, "payee_30d_amounts": [], "payee_units_90d": 0,
        "unit_cash_30d_count": 0, "unit_cash_30d_amount": 0, "indicator_paid_ytd": 0, "indicator_paid_dec": 0,
        "unit_eco_paid_ytd": 0, "unit_eco_budget": 0,
    },
}
assert set(DEFAULTS["history"]) == HISTORY_KEYS  # noqa: S101 - the schema and the key list are one thing

SET_MODES = {"1": "转账", "2": "公务卡", "3": "现金", "4": "支票", "5": "托收"}


def field_names() -> dict[str, set[str]]:
    """section → its keys (what a condition or a message template may name)."""
    return {s: set(v) for s, v in DEFAULTS.items()}


def complete(context: dict) -> dict:
    """The context with every documented key present (the caller's values win). Shallow per section."""
    out = {}
    for section, defaults in DEFAULTS.items():
        given = context.get(section)
        out[section] = {**defaults, **given} if given else dict(defaults)
    return out


def calendar_facts(when: dt.date | dt.datetime, region_code: str) -> dict:
    """date, month, day, weekday, hour and is_holiday for a payment made `when` in `region_code`."""
    from ibms.masterdata.selectors import is_business_day

    day = when.date() if isinstance(when, dt.datetime) else when
    return {"date": day.isoformat(), "month": day.month, "day": day.day, "weekday": day.isoweekday(),
            "hour": when.hour if isinstance(when, dt.datetime) else 0,
            "is_holiday": not is_business_day(day, region_code=region_code)}


_SAMPLE: dict[str, dict] = {
    "payment": {
        "region_code": "990000000", "year": 2026, "number": "SQ-990000-20260616-00001", "amount": 1_200_000,
        "date": "2026-06-16", "hour": 10, "set_mode": "1", "pay_method": "centralized", "purpose": "支付6月水费",
        "is_payroll": False, "is_batch": False, "line_count": 1, "contract_no": "", "contract_amount": 0,
        "contract_paid_before": 0, "fund_nature_code": "111", "exp_func_code": "2050202", "dep_eco_code": "30205",
        "gov_eco_code": "50201",
    },
    "indicator": {
        "code": "990000000260000001", "fund_nature_code": "111", "exp_func_code": "2050202",
        "dep_eco_code": "30205", "gov_eco_code": "50201", "amount": 50_000_000, "available": 30_000_000,
        "spent": 20_000_000, "project_code": "",
    },
    "unit": {"code": "001001", "name": "省第一实验中学", "unit_type": "institution", "department_code": "001",
             "region_code": "990000000"},
    "payee": {"name": "华夏水务有限公司", "kind": "corporate", "account_no": "6222000011112222",
              "bank_name": "工商银行华夏分行", "in_directory": True},
    "history": {"indicator_paid_ytd": 20_000_000, "unit_eco_paid_ytd": 20_000_000, "unit_eco_budget": 50_000_000},
}


def sample_context(**overrides: dict) -> dict:
    """A complete, clean context (a water bill paid by transfer on a Tuesday morning). `overrides` are merged per
    section: `sample_context(payment={"amount": 9_000_000, "set_mode": "3"}, payee={"kind": "individual"})`.
    When `payment.date` is overridden, month/day/weekday/is_holiday follow it (weekends are holidays) unless they
    are overridden too."""
    unknown = set(overrides) - set(SECTIONS)
    if unknown:
        raise KeyError(f"unknown context sections: {sorted(unknown)}")
    ctx = complete(copy.deepcopy(_SAMPLE))
    for section, values in overrides.items():
        bad = set(values) - set(DEFAULTS[section])
        if bad:
            raise KeyError(f"unknown keys in {section}: {sorted(bad)}")
        ctx[section].update(copy.deepcopy(values))
    pay = ctx["payment"]
    day = dt.date.fromisoformat(pay["date"])
    given = overrides.get("payment", {})
    derived = {"month": day.month, "day": day.day, "weekday": day.isoweekday(), "year": day.year,
               "is_holiday": day.isoweekday() >= 6}
    for key, value in derived.items():
        if key not in given:
            pay[key] = value
    return ctx
