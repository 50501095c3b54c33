"""Monitoring writers: rules (CEL validated on save; enabled only after a back-test of the current version),
whitelist entries, alerts and their life cycle, the T+1 batch and back-tests.

`alerts_raise` runs inside the caller's transaction (`@in_callers_transaction`; treasury calls it from its
submit). Everything else owns its transaction (`durable=True`), checks permission first (403), then scope
(out of scope = 404), then state (409), and writes the audit in the same transaction.

Alert life cycle (动态监控: 预警 → 核实/说明 → 处理):
    raised --explain (unit)--> unit_explained --verify (finance)--> normal | violation
    violation --rectify (finance: ask)--> rectifying --rectify (unit: detail, amounts)--> rectified
    normal | rectified --close (finance)--> closed;  a notice (提示) may be closed straight from raised.
"""

from ibms.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

from .alerts import (
    P_EXPLAIN,
    P_VERIFY,
    Subject,
    alert_close,
    alert_explain,
    alert_rectify,
    alert_verify,
    alerts_raise,
)
from .rules import (
    LOGIC_FIELDS,
    P_RULE_ADD,
    P_RULE_CHANGE,
    P_WL_ADD,
    P_WL_CHANGE,
    TEXT_FIELDS,
    rule_create,
    rule_disable,
    rule_enable,
    rule_update,
    whitelist_add,
    whitelist_deactivate,
)
from .runs import (
    BATCH_CHUNK,
    MAX_BACKTEST_DAYS,
    MAX_STORED_HITS,
    P_BACKTEST,
    P_BATCH,
    batch_run,
    batch_run_daily,
    rule_backtest,
)

__all__ = [
    "BATCH_CHUNK", "LOGIC_FIELDS", "MAX_BACKTEST_DAYS", "MAX_STORED_HITS", "P_BACKTEST", "P_BATCH", "P_EXPLAIN",
    "P_RULE_ADD", "P_RULE_CHANGE", "P_VERIFY", "P_WL_ADD", "P_WL_CHANGE", "TEXT_FIELDS", "Conflict", "NotFound",
    "PermissionDenied", "Subject", "ValidationFailed", "alert_close", "alert_explain", "alert_rectify",
    "alert_verify", "alerts_raise", "batch_run", "batch_run_daily", "rule_backtest", "rule_create",
    "rule_disable", "rule_enable", "rule_update", "whitelist_add", "whitelist_deactivate",
]
