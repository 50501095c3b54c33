"""Writing vouchers: every line checked against the set's accounts (leaf, open, one side, dimensions, each
basis balanced), then the voucher and its lines written (numbered gap-free when posted), audited."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from ibms.core import audit
from ibms.core.errors import ValidationFailed, Violation
from ibms.core.numbering import next_value

from ..models import DIMENSION_LABELS, DIMENSIONS, Account, AccountSet, Basis, Period, Voucher, VoucherLine
from ..posting import LineSpec

DIM_MAX = {name: VoucherLine._meta.get_field(f).max_length for name, f in DIMENSIONS.items()}


def voucher_lines_resolve(aset: AccountSet, lines: list[LineSpec], *, manual: bool, check_dims: bool = True,
                          allow_closed: bool = False) -> list[tuple[LineSpec, Account]]:
    """Every line on a leaf, open account of the set, one side only, required dimensions present, each basis
    balanced. Collects all problems before refusing."""
    out: list[tuple[LineSpec, Account]] = []
    problems: list[Violation] = []
    accounts = {a.code: a for a in Account.objects.filter(account_set=aset, code__in={ln.account_code for ln in lines})}
    diff: dict[str, int] = {}
    for i, ln in enumerate(lines, 1):
        where = f"第{i}行"
        acc = accounts.get(ln.account_code)
        if acc is None:
            problems.append(Violation("unknown_account", f"{where}：科目 {ln.account_code} 不存在", f"lines.{i}.account"))
            continue
        if not acc.is_leaf:
            problems.append(Violation("non_leaf_account", f"{where}：科目 {acc.code} {acc.name} 不是末级科目，"
                                      "请选择明细科目", f"lines.{i}.account"))
        if not acc.is_active and not allow_closed:
            problems.append(Violation("account_closed", f"{where}：科目 {acc.code} {acc.name} 已停用",
                                      f"lines.{i}.account"))
        if ln.basis and ln.basis != acc.basis:
            problems.append(Violation("basis_mismatch", f"{where}：科目 {acc.code} 属于{Basis(acc.basis).label}",
                                      f"lines.{i}.account"))
        if (ln.debit == 0) == (ln.credit == 0):
            problems.append(Violation("line_one_side", f"{where}：借方、贷方金额须填且只填一方", f"lines.{i}.amount"))
        if manual and (ln.debit < 0 or ln.credit < 0):
            problems.append(Violation("amount_negative", f"{where}：金额不能为负数", f"lines.{i}.amount"))
        unknown = set(ln.dims) - set(DIMENSIONS)
        if unknown:
            problems.append(Violation("unknown_dimension", f"{where}：未知的辅助核算 {'、'.join(sorted(unknown))}",
                                      f"lines.{i}.dims"))
        for d, value in ln.dims.items():
            if d in DIM_MAX and len(str(value)) > DIM_MAX[d]:
                problems.append(Violation("dimension_too_long", f"{where}：{DIMENSION_LABELS[d]}过长", f"lines.{i}.{d}"))
        if check_dims:
            missing = [DIMENSION_LABELS[d] for d in acc.aux_dims if not ln.dims.get(d)]
            if missing:
                problems.append(Violation("missing_dimension", f"{where}：科目 {acc.code} 须填辅助核算："
                                          f"{'、'.join(missing)}", f"lines.{i}.dims"))
        diff[acc.basis] = diff.get(acc.basis, 0) + ln.debit - ln.credit
        out.append((ln, acc))
    if not lines:
        problems.append(Violation("empty_voucher", "凭证至少要有一行分录", "lines"))
    for basis, d in diff.items():
        if d:
            problems.append(Violation("unbalanced", f"{Basis(basis).label}借贷不平衡（借方比贷方多 {d / 100:,.2f} 元）",
                                      "lines"))
    if problems:
        raise ValidationFailed(problems, message="凭证未通过校验")
    return out


def _write_voucher(aset: AccountSet, period: Period, *, date: dt.date, summary: str, source: str, actor,
                   resolved: list[tuple[LineSpec, Account]], post: bool, attachments: int = 0,
                   reversal_of: Voucher | None = None, event: dict | None = None) -> Voucher:
    user = actor if getattr(actor, "pk", None) else None
    now = timezone.now()
    fin = sum(ln.debit for ln, acc in resolved if acc.basis == Basis.FINANCIAL)
    bud = sum(ln.debit for ln, acc in resolved if acc.basis == Basis.BUDGET)
    v = Voucher(account_set=aset, region_code=aset.region_code, unit_path=aset.unit_path, year=aset.year,
                period=period, period_no=period.number, date=date, summary=summary[:200] or "记账凭证",
                attachments=attachments, source=source, status=Voucher.Status.DRAFT, reversal_of=reversal_of,
                financial_total=fin, budget_total=bud, entered_by=user, **(event or {}))
    if post:
        v.status, v.posted_at, v.posted_by = Voucher.Status.POSTED, now, user
        v.number = next_value(f"accounting.voucher:{aset.pk}:{period.number}")
    v.save()
    _write_lines(v, resolved)
    audit.record_change(v, "create")
    return v


def _write_lines(v: Voucher, resolved: list[tuple[LineSpec, Account]]) -> None:
    rows = []
    for i, (ln, acc) in enumerate(resolved, 1):
        dims = {DIMENSIONS[d]: str(val) for d, val in ln.dims.items() if d in DIMENSIONS and val}
        rows.append(VoucherLine(voucher=v, account_set_id=v.account_set_id, region_code=v.region_code, line_no=i,
                                basis=acc.basis, account=acc, account_code=acc.code,
                                summary=(ln.summary or v.summary)[:200], debit=ln.debit, credit=ln.credit, **dims))
    VoucherLine.objects.bulk_create(rows)
    audit.record_changes(rows, "create")
