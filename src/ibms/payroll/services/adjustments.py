"""本月调整: a run's adjustable items (the items entered by amount — 基本工资 … 绩效工资, 奖金, 伙食补助, 其他扣款)
come out as an Excel template filled with the run's people and their current amounts, and go back in: every row is
checked (the person is in this run, no row twice, amounts not negative, the pay after deductions not negative)
and every problem is listed with its row and column; one bad row and nothing changes. Only while the run is
editable (已生成/已退回). The slips changed are recomputed in the same transaction — the rate deductions on their
bases and the tax by the cumulative method on the same earlier months as at generation — and the run's totals
and its list of changes (one-off items are the amounts that differ from the person's profile) follow.

A blank cell keeps the amount the slip has; regenerating the run (按最新档案重新生成) starts again from the
profiles, so the adjustments are uploaded again after it."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from ibms.core import audit
from ibms.core.errors import Conflict
from ibms.core.excel import Column, ImportRejected, RowError, export_rows, read_rows
from ibms.core.money import Fen, fen_to_str, format_fen
from ibms.core.scoping import CHANGE, get_in_scope, require_perm

from .. import domain, rules
from ..models import PayProfile, PayrollRun, PayrollSlip
from .runs import P_ADD, S, _changes

EDITABLE = (S.DRAFT, S.RETURNED)
ID_HEADER, NAME_HEADER = "身份证号", "姓名"


@dataclass(frozen=True)
class AdjustResult:
    run: PayrollRun
    rows: int  # data rows read
    changed: int  # slips whose amounts changed


def adjustable_items(run: PayrollRun) -> list[domain.ItemRule]:
    """The items of the run's year entered by amount (not computed by a rate or the tax)."""
    return [r for r in rules.item_rules(run.region_code, run.year) if r.method == "fixed"]


def adjustment_columns(run: PayrollRun) -> list[Column]:
    return [Column("id_number", ID_HEADER, required=True, max_length=18, help="用于识别人员，请勿修改"),
            Column("name", NAME_HEADER, max_length=50, help="核对用，须与身份证号一致"),
            *[Column(f"i_{r.code}", r.name, kind="money", help="本月金额（元）；留空表示不变")
              for r in adjustable_items(run)]]


def adjustment_template(run: PayrollRun) -> bytes:
    """The run's people (slip order) with their current amounts of each adjustable item."""
    items = adjustable_items(run)
    rows = ({"id_number": s.id_number, "name": s.name, **{f"i_{r.code}": s.amounts.get(r.code, 0) for r in items}}
            for s in run.slips.order_by("id"))
    return export_rows(adjustment_columns(run), rows, title=f"{run.year}年{run.month}月工资调整")


def _check_editable(run: PayrollRun) -> None:
    if run.status not in EDITABLE:
        raise Conflict("not_editable", f"工资表“{run.get_status_display()}”状态下不能导入调整")


def payroll_run_adjust_file(*, actor, pk: int, file) -> AdjustResult:
    """Read the uploaded template (the core Excel reader: size, zip and cell checks) and apply it."""
    require_perm(actor, P_ADD)
    run = get_in_scope(PayrollRun.objects.all(), actor, CHANGE, what="工资表", pk=pk)
    _check_editable(run)
    if file is None:
        raise ImportRejected([RowError(0, "", "请选择要导入的 Excel 文件", "import_file_missing")])
    rows = read_rows(file, adjustment_columns(run), max_bytes=settings.IBMS_IMPORT_MAX_BYTES)
    return payroll_run_adjust(actor=actor, pk=pk, rows=rows)


def _recompute(slip: PayrollSlip, item_rules: list[domain.ItemRule], entered: dict[str, Fen], run: PayrollRun):
    """The slip's month again on the same earlier months (its cumulative figures less this month's)."""
    return domain.person_month(item_rules, entered, prior_income=slip.cum_income - slip.gross,
                               prior_deductions=slip.cum_deductions - slip.social, prior_tax=slip.cum_tax - slip.tax,
                               months=slip.months, basic_month=rules.basic_deduction(run.year),
                               brackets=rules.brackets(run.year))


def _one_off(run: PayrollRun, slips: list[PayrollSlip], items: list[domain.ItemRule]) -> list[dict]:
    """The amounts of this month that are not the person's standing ones (profile, else the item's standard)."""
    standing = dict(PayProfile.objects.filter(unit=run.unit).values_list("person_id", "items"))
    out = []
    for s in slips:
        own = standing.get(s.person_id) or {}
        diffs = [f"{r.name} {format_fen(own.get(r.code, r.standard))} → {format_fen(s.amounts.get(r.code, 0))} 元"
                 for r in items if s.amounts.get(r.code, 0) != own.get(r.code, r.standard)]
        if diffs:
            out.append({"kind": "adjust", "label": "本月调整", "person_id": s.person_id, "name": s.name,
                        "detail": "；".join(diffs)})
    return out


def payroll_run_adjust(*, actor, pk: int, rows: list[dict]) -> AdjustResult:
    """Apply rows as `read_rows(file, adjustment_columns(run))` returns them; all or nothing."""
    require_perm(actor, P_ADD)
    with transaction.atomic(durable=True):
        run = get_in_scope(PayrollRun.objects.select_for_update().select_related("unit"), actor, CHANGE,
                           what="工资表", pk=pk)
        _check_editable(run)
        all_rules = rules.item_rules(run.region_code, run.year)
        items = [r for r in all_rules if r.method == "fixed"]
        headers = {f"i_{r.code}": r.name for r in items}
        slips = {s.id_number.upper(): s for s in run.slips.order_by("id")}
        errors: list[RowError] = []
        seen: dict[str, int] = {}
        changed: list[PayrollSlip] = []
        for row in rows:
            n, idn = row.get("_row", 0), str(row.get("id_number") or "").strip().upper()
            slip = slips.get(idn)
            if slip is None:
                errors.append(RowError(n, ID_HEADER, f"身份证号 {idn} 的人员不在本月工资表中", "person_not_in_run"))
                continue
            if idn in seen:
                errors.append(RowError(n, ID_HEADER, f"与第 {seen[idn]} 行重复", "row_duplicate"))
                continue
            seen[idn] = n
            name = (row.get("name") or "").strip()
            if name and name != slip.name:
                errors.append(RowError(n, NAME_HEADER, f"姓名与身份证号不符（应为 {slip.name}）", "name_mismatch"))
            entered = {r.code: slip.amounts.get(r.code, 0) for r in items}
            bad = False
            for key, header in headers.items():
                value = row.get(key)
                if value is None:
                    continue
                if value < 0:
                    errors.append(RowError(n, header, "金额不能为负数", "amount_negative"))
                    bad = True
                entered[key[2:]] = value
            if bad:
                continue
            pm = _recompute(slip, all_rules, entered, run)
            for v in pm.violations:
                errors.append(RowError(n, headers.get(f"i_{v.field}", "实发合计"), v.message, v.code))
            if pm.violations or pm.amounts == slip.amounts:
                continue
            slip.amounts = pm.amounts
            slip.gross, slip.social, slip.tax, slip.other, slip.net = pm.gross, pm.social, pm.tax, pm.other, pm.net
            slip.cum_income, slip.cum_deductions, slip.cum_tax = pm.cum_income, pm.cum_deductions, pm.cum_tax
            changed.append(slip)
        if errors:
            raise ImportRejected(errors)
        before = audit.snapshot(run)
        PayrollSlip.objects.bulk_update(changed, ["amounts", "gross", "social", "tax", "other", "net", "cum_income",
                                                  "cum_deductions", "cum_tax"], batch_size=2000)
        every = list(slips.values())
        totals = {f: sum(getattr(s, f) for s in every) for f in ("gross", "social", "tax", "other", "net")}
        changes = [c for c in _changes(run, every) if c["kind"] != "adjust"] + _one_off(run, every, items)
        audit.update_fields(run, before, changes=changes, **totals)
        audit.record_event("payroll.run_adjusted", obj=run, region_code=run.region_code,
                           payload={"number": run.number, "rows": len(rows), "changed": len(changed),
                                    "net": fen_to_str(run.net)})
        return AdjustResult(run, len(rows), len(changed))
