"""Accounting writers: account sets, accounts, vouchers (manual entry → review → post, reversal), the posting
engine entry point `post_event`, and period closing.

Durable services (`transaction.atomic(durable=True)`) serve people (pages, API). Two services run inside the
caller's transaction (plain `transaction.atomic()`, a savepoint) so that another module's business write and
its vouchers commit together: `post_event` (business event → posted voucher, idempotent by event id) and
`voucher_post_system` (pre-built lines, e.g. year-end closing computed by the books).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from ibms.core import audit, workflow
from ibms.core.audit import canonical
from ibms.core.crypto import sm3_hex
from ibms.core.errors import Conflict, DomainError, NotFound, ValidationFailed, Violation, invalid
from ibms.core.numbering import next_value
from ibms.core.scoping import CHANGE, VIEW, check_write_scope, get_in_scope, require_perm
from ibms.masterdata.models import Region, Unit

from . import posting, years
from .models import (
    DIMENSION_LABELS,
    DIMENSIONS,
    Account,
    AccountSet,
    Basis,
    ChartAccount,
    ChartKind,
    ChartTemplate,
    Period,
    Voucher,
    VoucherLine,
)
from .posting import LineSpec
from .setup import FISCAL_VOUCHER_DOC, VOUCHER_DOC

DIM_MAX = {name: VoucherLine._meta.get_field(f).max_length for name, f in DIMENSIONS.items()}


# --- account sets --------------------------------------------------------------------------------

def set_code(*, year: int, unit: Unit | None) -> str:
    return f"{unit.code}-{year}" if unit is not None else f"ZYS-{year}"


def new_account_set(*, year: int, template: ChartTemplate, unit: Unit | None = None,
                    region: Region | None = None) -> AccountSet:
    """An unsaved set: a unit's (kind unit) or a finance bureau's (kind fiscal, `region`)."""
    if unit is not None:
        return AccountSet(region_code=unit.region_code, year=year, kind=AccountSet.Kind.UNIT,
                          code=set_code(year=year, unit=unit), name=f"{unit.name}{year}年度账套", unit=unit,
                          unit_path=unit.path, unit_type=unit.unit_type, chart=template)
    return AccountSet(region_code=region.code, year=year, kind=AccountSet.Kind.FISCAL, code=set_code(year=year, unit=None),
                      name=f"{region.name}财政总预算会计{year}年度账套", unit=None, unit_path="", unit_type="",
                      chart=template)


def new_periods(aset: AccountSet) -> list[Period]:
    return [Period(account_set=aset, region_code=aset.region_code, number=m, start_date=dt.date(aset.year, m, 1),
                   end_date=dt.date(aset.year, m, calendar.monthrange(aset.year, m)[1])) for m in range(1, 13)]


def new_accounts(aset: AccountSet, chart: list[ChartAccount], level: int, parents: dict[str, Account]) -> list[Account]:
    """Unsaved accounts of one level (parents of the level above already saved, keyed by code)."""
    return [Account(account_set=aset, region_code=aset.region_code, code=c.code, name=c.name,
                    parent=parents.get(c.parent_code) if c.parent_code else None, level=c.level, is_leaf=c.is_leaf,
                    category=c.category, basis=c.basis, balance_side=c.balance_side, aux_dims=list(c.aux_dims))
            for c in chart if c.level == level]


def create_books(sets: list[AccountSet]) -> dict[str, int]:
    """Save new sets with their accounts (copied from each set's chart) and 12 periods; audited. Caller holds
    the transaction. Bulk: one insert per level per batch of sets."""
    if not sets:
        return {"sets": 0, "accounts": 0, "periods": 0}
    AccountSet.objects.bulk_create(sets)
    audit.record_changes(sets, "create")
    charts: dict[int, list[ChartAccount]] = {}
    for s in sets:
        if s.chart_id not in charts:
            charts[s.chart_id] = list(ChartAccount.objects.filter(template_id=s.chart_id).order_by("code"))
    n_accounts = 0
    parents: dict[int, dict[str, Account]] = {s.pk: {} for s in sets}
    depth = max((c.level for rows in charts.values() for c in rows), default=1)
    for level in range(1, depth + 1):
        batch: list[Account] = []
        for s in sets:
            batch.extend(new_accounts(s, charts[s.chart_id], level, parents[s.pk]))
        Account.objects.bulk_create(batch, batch_size=2000)
        audit.record_changes(batch, "create")
        for a in batch:
            parents[a.account_set_id][a.code] = a
        n_accounts += len(batch)
    periods = [p for s in sets for p in new_periods(s)]
    Period.objects.bulk_create(periods, batch_size=2000)
    audit.record_changes(periods, "create")
    return {"sets": len(sets), "accounts": n_accounts, "periods": len(periods)}


def _template(kind: str, year: int) -> ChartTemplate:
    tpl = ChartTemplate.objects.filter(kind=kind, year=year).first()
    if tpl is None:
        raise invalid("no_chart", f"{year}年度尚未装载会计科目表", "year")
    return tpl


def account_set_create(*, actor, year: int, unit_id: int | None = None, region_code: str = "") -> AccountSet:
    """A unit's set (unit_id) or the finance bureau's 总预算会计 set of `region_code`, with its chart and periods."""
    require_perm(actor, "accounting.add_accountset")
    with transaction.atomic(durable=True):
        if unit_id is not None:
            unit = get_in_scope(Unit.objects, actor, VIEW, what="预算单位", pk=unit_id)
            check_write_scope(actor, region_code=unit.region_code, unit_path=unit.path, spec=AccountSet.scope_spec)
            if AccountSet.objects.filter(unit=unit, year=year).exists():
                raise Conflict("set_exists", f"{unit.name}已有{year}年度账套")
            aset = new_account_set(year=year, template=_template(ChartKind.UNIT, year), unit=unit)
        else:
            region = Region.objects.filter(code=region_code).first()
            if region is None:
                raise NotFound("财政区划")
            check_write_scope(actor, region_code=region.code, spec=AccountSet.scope_spec)
            if AccountSet.objects.filter(region_code=region.code, year=year, kind=AccountSet.Kind.FISCAL).exists():
                raise Conflict("set_exists", f"{region.name}已有{year}年度总预算会计账套")
            aset = new_account_set(year=year, template=_template(ChartKind.FISCAL, year), region=region)
        create_books([aset])
        audit.record_event("accounting.set_created", obj=aset, payload={"year": year, "kind": aset.kind})
        return aset


def ensure_books(*, year: int, units: Iterable[Unit] = (), regions: Iterable[Region] = ()) -> dict[str, int]:
    """Create the missing sets for these units and finance bureaus (system set-up, demo). Caller holds the
    transaction."""
    have_units = set(AccountSet.objects.filter(year=year, unit__isnull=False).values_list("unit_id", flat=True))
    have_regions = set(AccountSet.objects.filter(year=year, kind=AccountSet.Kind.FISCAL)
                       .values_list("region_code", flat=True))
    unit_tpl, fiscal_tpl = _template(ChartKind.UNIT, year), _template(ChartKind.FISCAL, year)
    sets = [new_account_set(year=year, template=unit_tpl, unit=u) for u in units if u.pk not in have_units]
    sets += [new_account_set(year=year, template=fiscal_tpl, region=r) for r in regions if r.code not in have_regions]
    return create_books(sets)


# --- accounts ------------------------------------------------------------------------------------

def _check_dims(dims: list[str]) -> list[str]:
    unknown = [d for d in dims if d not in DIMENSIONS]
    if unknown:
        raise invalid("unknown_dimension", f"未知的辅助核算维度：{'、'.join(unknown)}", "aux_dims")
    return list(dict.fromkeys(dims))


def account_create(*, actor, parent_id: int, suffix: str, name: str, aux_dims: list[str] | None = None) -> Account:
    """A sub-account `<parent>.<suffix>` (two digits). A parent that already has postings cannot get children."""
    require_perm(actor, "accounting.add_account")
    suffix, name = suffix.strip(), name.strip()
    if len(suffix) != 2 or not suffix.isdigit():
        raise invalid("bad_code", "明细科目编码为两位数字，例如 01", "suffix")
    if not name:
        raise invalid("required", "请填写科目名称", "name")
    with transaction.atomic(durable=True):
        parent = get_in_scope(Account.objects.select_for_update(of=("self",)).select_related("account_set"), actor, CHANGE,
                              what="会计科目", pk=parent_id)
        if parent.account_set.status != AccountSet.Status.ACTIVE:
            raise invalid("set_closed", "账套已年结，不能增加科目")
        code = f"{parent.code}.{suffix}"
        if Account.objects.filter(account_set_id=parent.account_set_id, code=code).exists():
            raise Conflict("account_exists", f"科目 {code} 已存在")
        if parent.is_leaf and VoucherLine.objects.filter(account=parent).exists():
            raise invalid("parent_has_postings", f"科目 {parent.code} 已有凭证，不能再增加明细科目", "parent")
        dims = _check_dims(aux_dims if aux_dims is not None else parent.aux_dims)
        acc = Account.objects.create(account_set_id=parent.account_set_id, region_code=parent.region_code, code=code,
                                     name=name, parent=parent, level=parent.level + 1, is_leaf=True,
                                     category=parent.category, basis=parent.basis, balance_side=parent.balance_side,
                                     aux_dims=dims)
        audit.record_change(acc, "create")
        if parent.is_leaf:
            before = audit.snapshot(parent)
            parent.is_leaf = False
            parent.save(update_fields=["is_leaf", "updated_at"])
            audit.record_change(parent, "update", before)
        return acc


def account_update(*, actor, pk: int, name: str | None = None, aux_dims: list[str] | None = None,
                   is_active: bool | None = None) -> Account:
    """Rename, change the required dimensions, or close/reopen (is_active) an account."""
    require_perm(actor, "accounting.change_account")
    with transaction.atomic(durable=True):
        acc = get_in_scope(Account.objects.select_for_update(), actor, CHANGE, what="会计科目", pk=pk)
        before = audit.snapshot(acc)
        if name is not None:
            if not name.strip():
                raise invalid("required", "请填写科目名称", "name")
            acc.name = name.strip()[:100]
        if aux_dims is not None:
            acc.aux_dims = _check_dims(aux_dims)
        if is_active is not None:
            acc.is_active = is_active
        acc.save()
        audit.record_change(acc, "update", before)
        return acc


# --- periods -------------------------------------------------------------------------------------

def open_period(aset: AccountSet, date: dt.date) -> Period:
    """The (locked) period of `date`; refuses a date outside the set's year or in a closed period."""
    if aset.status != AccountSet.Status.ACTIVE:
        raise invalid("set_closed", f"账套“{aset.name}”已年结，不能记账")
    if date.year != aset.year:
        raise invalid("date_outside_year", f"凭证日期 {date} 不在账套会计年度 {aset.year} 内", "date")
    period = Period.objects.select_for_update().get(account_set=aset, number=date.month)
    if period.status == Period.Status.CLOSED:
        raise invalid("period_closed", f"{aset.year}年{date.month}月已结账，不能记账", "date")
    return period


def period_close(*, actor, pk: int) -> Period:
    """Close a period: every earlier period closed, no voucher of the period left unposted."""
    require_perm(actor, "accounting.close_period")
    with transaction.atomic(durable=True):
        period = get_in_scope(Period.objects.select_for_update(), actor, CHANGE, what="会计期间", pk=pk)
        if period.status == Period.Status.CLOSED:
            raise Conflict("already_closed", f"{period}已结账")
        earlier_open = Period.objects.filter(account_set_id=period.account_set_id, number__lt=period.number,
                                             status=Period.Status.OPEN).order_by("number").first()
        if earlier_open is not None:
            raise invalid("close_out_of_order", f"请先结账{earlier_open.number}月，期间须按顺序结账", "period")
        pending = Voucher.objects.filter(account_set_id=period.account_set_id, period=period).exclude(
            status=Voucher.Status.POSTED).count()
        if pending:
            raise invalid("unposted_vouchers", f"本期还有 {pending} 张凭证未记账，不能结账", "period")
        before = audit.snapshot(period)
        period.status, period.closed_at, period.closed_by = Period.Status.CLOSED, timezone.now(), actor
        period.save(update_fields=["status", "closed_at", "closed_by", "updated_at"])
        audit.record_change(period, "update", before)
        audit.record_event("accounting.period_closed", obj=period, payload={"number": period.number})
        return period


def account_set_close(*, actor, pk: int) -> AccountSet:
    """年结: once all 12 periods are closed, the set is closed for good (no posting, no reopening)."""
    require_perm(actor, "accounting.close_period")
    with transaction.atomic(durable=True):
        aset = get_in_scope(AccountSet.objects.select_for_update(), actor, VIEW, what="账套", pk=pk)
        check_write_scope(actor, region_code=aset.region_code, unit_path=aset.unit_path or None,
                          spec=Period.scope_spec)
        if aset.status == AccountSet.Status.CLOSED:
            raise Conflict("already_closed", f"账套“{aset.name}”已年结")
        open_ = Period.objects.filter(account_set=aset, status=Period.Status.OPEN).count()
        if open_:
            raise invalid("periods_open", f"还有 {open_} 个会计期间未结账，不能年结", "period")
        before = audit.snapshot(aset)
        aset.status = AccountSet.Status.CLOSED
        aset.save(update_fields=["status", "updated_at"])
        audit.record_change(aset, "update", before)
        audit.record_event("accounting.set_closed", obj=aset, payload={"year": aset.year})
        return aset


def period_reopen(*, actor, pk: int) -> Period:
    """Reopen (反结账) the latest closed period only."""
    require_perm(actor, "accounting.close_period")
    with transaction.atomic(durable=True):
        period = get_in_scope(Period.objects.select_for_update(), actor, CHANGE, what="会计期间", pk=pk)
        if period.status != Period.Status.CLOSED:
            raise Conflict("not_closed", f"{period}未结账")
        if Period.objects.filter(account_set_id=period.account_set_id, number__gt=period.number,
                                 status=Period.Status.CLOSED).exists():
            raise invalid("reopen_out_of_order", "只能反结账最后一个已结账期间", "period")
        if AccountSet.objects.filter(pk=period.account_set_id, status=AccountSet.Status.CLOSED).exists():
            raise invalid("set_closed", "账套已年结，不能反结账")
        before = audit.snapshot(period)
        period.status, period.closed_at, period.closed_by = Period.Status.OPEN, None, None
        period.save(update_fields=["status", "closed_at", "closed_by", "updated_at"])
        audit.record_change(period, "update", before)
        audit.record_event("accounting.period_reopened", obj=period, payload={"number": period.number})
        return period


# --- vouchers: validation and writing ---------------------------------------------------------------

def resolve_lines(aset: AccountSet, lines: list[LineSpec], *, manual: bool, check_dims: bool = True,
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


def _event_hash(event_type: str, date: dt.date, amounts: dict, dimensions: dict, attrs: dict) -> str:
    return sm3_hex(canonical({"type": event_type, "date": date.isoformat(), "amounts": amounts,
                              "dims": {k: v for k, v in dimensions.items() if v}, "attrs": attrs}).encode())


def _resolve_set(*, account_set: AccountSet | None, account_set_id: int | None, unit_id: int | None,
                 region_code: str, year: int | None, date: dt.date, actor=None) -> AccountSet:
    """The set an event posts to. With `actor`, only sets in the actor's scope are found."""
    qs = AccountSet.objects.select_related("chart")
    if actor is not None:
        qs = qs.restrict(actor, VIEW)
    if account_set is not None:
        return qs.get(pk=account_set.pk)
    if account_set_id is not None:
        found = qs.filter(pk=account_set_id).first()
    elif unit_id is not None:
        found = qs.filter(unit_id=unit_id, year=year or date.year).first()
    elif region_code:
        found = qs.filter(region_code=region_code, year=year or date.year, kind=AccountSet.Kind.FISCAL).first()
    else:
        raise invalid("no_account_set", "请指定账套（账套、单位或财政区划）", "account_set")
    if found is None:
        if actor is not None:
            raise NotFound("账套")  # out of scope looks like absent
        raise invalid("no_account_set", "未找到对应年度的账套，请先建账", "account_set")
    return found


# --- the posting engine entry point ------------------------------------------------------------------

def post_event(*, actor=None, event_id: str, event_type: str, date: dt.date, amounts: dict[str, int],
               dimensions: dict[str, str] | None = None, attrs: dict | None = None,
               account_set: AccountSet | None = None, account_set_id: int | None = None, unit_id: int | None = None,
               region_code: str = "", year: int | None = None, summary: str = "") -> Voucher | None:
    """Turn a business event into one posted voucher (both bases) by the posting rules of the set's year.

    Runs **inside the caller's transaction** (plain `atomic()`, a savepoint): the treasury module calls it when
    a bank receipt arrives, in the same transaction as its own writes. Permission is the caller's business
    (it checked its own); the REST endpoint checks `accounting.post_event` and scope.

    Idempotent by `event_id` per account set (unique constraint): posting the same event again returns the
    same voucher; the same id with different content is a Conflict. A rule with no lines (e.g. a quota
    notice under direct payment) records nothing and returns None. Refused, with nothing written: unknown
    set, no applicable rule, missing required dimensions, a result that does not balance per basis, a
    posting to a non-leaf/closed account, a date in a closed period, a fiscal year that does not take it
    (`accounting.years`: a closed year only in its adjustment period) unless the system books it on its own
    (no actor or the system user: the accounting of bank receipts and refunds).
    """
    event_id = (event_id or "").strip()
    if not event_id or len(event_id) > 100:
        raise invalid("event_id_required", "业务事件号必填（不超过100个字符）", "event_id")
    dimensions = {k: v for k, v in (dimensions or {}).items() if v not in (None, "")}
    attrs = dict(attrs or {})
    with transaction.atomic():
        aset = _resolve_set(account_set=account_set, account_set_id=account_set_id, unit_id=unit_id,
                            region_code=region_code, year=year, date=date)
        digest = _event_hash(event_type, date, amounts, dimensions, attrs)
        existing = Voucher.objects.filter(account_set=aset, event_id=event_id).first()
        if existing is not None:
            return _same_event(existing, digest)
        ev = posting.evaluate(aset, event_type, amounts, dimensions, attrs)
        if not ev.lines:
            return None
        closing = event_type.startswith(posting.CLOSING_PREFIX)
        period = open_period(aset, date)
        if not years.is_system(actor):  # the system's own bookings (bank receipts, refunds) record what happened
            years.require_year(aset, date)
        resolved = resolve_lines(aset, ev.lines, manual=False, check_dims=not closing)
        try:
            with transaction.atomic():
                v = _write_voucher(aset, period, date=date, summary=summary or ev.summary, actor=actor,
                                   source=Voucher.Source.CLOSING if closing else Voucher.Source.EVENT,
                                   resolved=resolved, post=True,
                                   event={"event_id": event_id, "event_type": event_type, "event_hash": digest,
                                          "rule_code": ev.rule.code})
        except IntegrityError:
            existing = Voucher.objects.filter(account_set=aset, event_id=event_id).first()
            if existing is None:
                raise
            return _same_event(existing, digest)  # a concurrent call posted it first
        audit.record_event("accounting.event_posted", obj=v, message=f"{event_type} {event_id}",
                           payload={"event_id": event_id, "event_type": event_type, "rule": ev.rule.code,
                                    "number": v.number})
        return v


def event_check(*, event_type: str, date: dt.date, amounts: dict[str, int], dimensions: dict[str, str] | None = None,
                attrs: dict | None = None, unit_id: int | None = None, region_code: str = "",
                year: int | None = None, event_id: str = "") -> list[Violation]:
    """Would `post_event` accept this event? Every reason it would refuse (set, rule, dimensions, accounts);
    nothing written. Callers check before they commit to an event they must book later (a payment's receipt)."""
    dimensions = {k: v for k, v in (dimensions or {}).items() if v not in (None, "")}
    try:
        aset = _resolve_set(account_set=None, account_set_id=None, unit_id=unit_id, region_code=region_code,
                            year=year, date=date)
        ev = posting.evaluate(aset, event_type, amounts, dimensions, dict(attrs or {}))
        if ev.lines:
            resolve_lines(aset, ev.lines, manual=False, check_dims=not event_type.startswith(posting.CLOSING_PREFIX))
    except DomainError as exc:
        return exc.violations_or_self
    return []


def event_post(*, actor, event_id: str, event_type: str, date: dt.date, amounts: dict[str, int],
               dimensions: dict[str, str] | None = None, attrs: dict | None = None, account_set_id: int | None = None,
               unit_id: int | None = None, region_code: str = "", year: int | None = None,
               summary: str = "") -> tuple[Voucher | None, bool]:
    """A business event posted on its own (the REST endpoint): permission and write scope on the set, then
    `post_event` in its own transaction. Returns (voucher or None, whether this call posted it)."""
    require_perm(actor, "accounting.post_event")
    with transaction.atomic(durable=True):
        aset = _resolve_set(account_set=None, account_set_id=account_set_id, unit_id=unit_id,
                            region_code=region_code, year=year, date=date, actor=actor)
        check_write_scope(actor, region_code=aset.region_code, unit_path=aset.unit_path or None,
                          spec=Voucher.scope_spec)
        already = Voucher.objects.filter(account_set=aset, event_id=(event_id or "").strip()).exists()
        v = post_event(actor=actor, event_id=event_id, event_type=event_type, date=date, amounts=amounts,
                       dimensions=dimensions, attrs=attrs, account_set=aset, summary=summary)
        return v, v is not None and not already


def _same_event(existing: Voucher, digest: str) -> Voucher:
    if existing.event_hash != digest:
        raise Conflict("event_conflict", f"业务事件 {existing.event_id} 已按不同内容记账（凭证 {existing.display_number}）",
                       {"voucher_id": existing.pk})
    return existing


def voucher_post_system(*, actor=None, account_set: AccountSet, date: dt.date, summary: str, lines: list[LineSpec],
                        source: str = Voucher.Source.CLOSING, event_id: str = "") -> Voucher:
    """Post pre-built lines as one voucher (e.g. year-end closing computed from balances), inside the caller's
    transaction. Same checks as a manual voucher except required dimensions; idempotent by `event_id` if given."""
    with transaction.atomic():
        aset = AccountSet.objects.select_related("chart").get(pk=account_set.pk)
        digest = sm3_hex(canonical([(ln.basis, ln.account_code, ln.debit, ln.credit, sorted(ln.dims.items()))
                                    for ln in lines]).encode()) if event_id else ""
        if event_id:
            existing = Voucher.objects.filter(account_set=aset, event_id=event_id).first()
            if existing is not None:
                return _same_event(existing, digest)
        period = open_period(aset, date)
        if not years.is_system(actor):
            years.require_year(aset, date)
        resolved = resolve_lines(aset, lines, manual=False, check_dims=False)
        v = _write_voucher(aset, period, date=date, summary=summary, actor=actor, source=source, resolved=resolved,
                           post=True, event={"event_id": event_id, "event_type": source if event_id else "",
                                             "event_hash": digest})
        audit.record_event("accounting.system_posted", obj=v, payload={"source": source, "number": v.number})
        return v


# --- manual vouchers ---------------------------------------------------------------------------------

def _doc(aset: AccountSet) -> str:
    return FISCAL_VOUCHER_DOC if aset.kind == AccountSet.Kind.FISCAL else VOUCHER_DOC


def _step(aset: AccountSet) -> workflow.Step:
    steps = workflow.approval_steps(_doc(aset), aset.region_code)
    if not steps:
        raise invalid("no_chain", "未配置记账凭证的审核流程")
    return steps[0]


def _open_todo(v: Voucher, title: str) -> None:
    workflow.todo_open(doc_type=_doc(v.account_set), obj=v, title=title,
                       url=reverse("accounting:voucher-detail", args=[v.pk]), step=_step(v.account_set),
                       region_code=v.region_code, unit_path=v.unit_path)


def _editable_set(actor, account_set_id: int) -> AccountSet:
    aset = get_in_scope(AccountSet.objects.select_related("chart"), actor, VIEW, what="账套", pk=account_set_id)
    check_write_scope(actor, region_code=aset.region_code, unit_path=aset.unit_path or None, spec=Voucher.scope_spec)
    return aset


def voucher_create(*, actor, account_set_id: int, date: dt.date, summary: str, lines: list[LineSpec],
                   attachments: int = 0) -> Voucher:
    """Enter a manual voucher (draft, unnumbered); it must already balance in each basis."""
    require_perm(actor, "accounting.add_voucher")
    if not (summary or "").strip():
        raise invalid("required", "请填写摘要", "summary")
    with transaction.atomic(durable=True):
        aset = _editable_set(actor, account_set_id)
        period = open_period(aset, date)
        years.require_year(aset, date)
        resolved = resolve_lines(aset, lines, manual=True)
        v = _write_voucher(aset, period, date=date, summary=summary.strip(), source=Voucher.Source.MANUAL,
                           actor=actor, resolved=resolved, post=False, attachments=max(0, attachments))
        _open_todo(v, f"凭证审核：{aset.name} {v.summary}")
        audit.record_event("accounting.voucher_entered", obj=v)
        return v


def _lock_voucher(actor, pk: int, action: str = CHANGE) -> Voucher:
    return get_in_scope(Voucher.objects.select_for_update(of=("self",)).select_related("account_set", "account_set__chart"),
                        actor, action, what="凭证", pk=pk)


def voucher_update(*, actor, pk: int, date: dt.date, summary: str, lines: list[LineSpec],
                   attachments: int = 0) -> Voucher:
    """Replace a draft's header and lines."""
    require_perm(actor, "accounting.change_voucher")
    if not (summary or "").strip():
        raise invalid("required", "请填写摘要", "summary")
    with transaction.atomic(durable=True):
        v = _lock_voucher(actor, pk)
        if v.status != Voucher.Status.DRAFT or v.source != Voucher.Source.MANUAL:
            raise Conflict("not_editable", "只有待审核的手工凭证可以修改")
        period = open_period(v.account_set, date)
        years.require_year(v.account_set, date)
        resolved = resolve_lines(v.account_set, lines, manual=True)
        before = audit.snapshot(v)
        old = list(v.lines.all())
        audit.record_changes(old, "delete", {str(x.pk): audit.snapshot(x) for x in old})
        VoucherLine.objects.filter(voucher=v).delete()
        v.date, v.period, v.period_no, v.summary = date, period, period.number, summary.strip()[:200]
        v.attachments = max(0, attachments)
        v.financial_total = sum(ln.debit for ln, acc in resolved if acc.basis == Basis.FINANCIAL)
        v.budget_total = sum(ln.debit for ln, acc in resolved if acc.basis == Basis.BUDGET)
        v.save()
        _write_lines(v, resolved)
        audit.record_change(v, "update", before)
        return v


def voucher_delete(*, actor, pk: int) -> None:
    """Delete a draft (drafts carry no number, so numbering stays gap-free)."""
    require_perm(actor, "accounting.delete_voucher")
    with transaction.atomic(durable=True):
        v = _lock_voucher(actor, pk)
        if v.status != Voucher.Status.DRAFT or v.source != Voucher.Source.MANUAL:
            raise Conflict("not_deletable", "只有待审核的手工凭证可以删除")
        old = list(v.lines.all())
        audit.record_changes(old, "delete", {str(x.pk): audit.snapshot(x) for x in old})
        VoucherLine.objects.filter(voucher=v).delete()
        workflow.todo_close(doc_type=_doc(v.account_set), obj=v, user=actor)
        audit.record_change(v, "delete", audit.snapshot(v))
        audit.record_event("accounting.voucher_deleted", obj=v)
        v.delete()


def voucher_review(*, actor, pk: int, approve: bool = True) -> Voucher:
    """审核 (approve: draft → reviewed) or 取消审核 (reviewed → draft). Never by the person who entered it."""
    require_perm(actor, "accounting.review_voucher")
    with transaction.atomic(durable=True):
        v = _lock_voucher(actor, pk, VIEW)
        workflow.check_step_actor(actor, _step(v.account_set), submitted_by_id=v.entered_by_id)
        check_write_scope(actor, region_code=v.region_code, unit_path=v.unit_path or None, spec=Voucher.scope_spec)
        before = audit.snapshot(v)
        if approve:
            years.require_year(v.account_set, v.date)
            target = Voucher.Status.REVIEWED
            v.reviewed_by, v.reviewed_at = actor, timezone.now()
        else:
            target = Voucher.Status.DRAFT
            v.reviewed_by, v.reviewed_at = None, None
        if target not in Voucher.TRANSITIONS.get(v.status, set()):
            raise Conflict("invalid_transition", f"凭证当前状态“{v.get_status_display()}”不能"
                           f"{'审核' if approve else '取消审核'}")
        v.status = target
        v.save(update_fields=["status", "reviewed_by", "reviewed_at", "updated_at"])
        audit.record_change(v, "update", before)
        audit.record_event("accounting.voucher_reviewed" if approve else "accounting.voucher_unreviewed", obj=v)
        workflow.todo_close(doc_type=_doc(v.account_set), obj=v, user=actor)
        _open_todo(v, f"凭证{'记账' if approve else '审核'}：{v.account_set.name} {v.summary}")
        return v


def voucher_post(*, actor, pk: int) -> Voucher:
    """记账: reviewed → posted, numbered gap-free within its set and period; never by the person who entered it."""
    require_perm(actor, "accounting.post_voucher")
    with transaction.atomic(durable=True):
        v = _lock_voucher(actor, pk, VIEW)
        workflow.check_step_actor(actor, _step(v.account_set), submitted_by_id=v.entered_by_id)
        check_write_scope(actor, region_code=v.region_code, unit_path=v.unit_path or None, spec=Voucher.scope_spec)
        if v.status != Voucher.Status.REVIEWED:
            raise Conflict("invalid_transition", f"凭证当前状态“{v.get_status_display()}”不能记账，须先审核")
        period = open_period(v.account_set, v.date)
        years.require_year(v.account_set, v.date)
        lines = [LineSpec(basis=ln.basis, account_code=ln.account_code, debit=ln.debit, credit=ln.credit,
                          dims={d: getattr(ln, f) for d, f in DIMENSIONS.items() if getattr(ln, f)})
                 for ln in v.lines.all()]
        resolve_lines(v.account_set, lines, manual=True)  # accounts may have been closed since entry
        before = audit.snapshot(v)
        v.status, v.posted_by, v.posted_at = Voucher.Status.POSTED, actor, timezone.now()
        v.number = next_value(f"accounting.voucher:{v.account_set_id}:{period.number}")
        v.save(update_fields=["status", "posted_by", "posted_at", "number", "updated_at"])
        audit.record_change(v, "update", before)
        audit.record_event("accounting.voucher_posted", obj=v, payload={"number": v.number})
        workflow.todo_close(doc_type=_doc(v.account_set), obj=v, user=actor)
        return v


def voucher_reverse(*, actor, pk: int, date: dt.date | None = None, reason: str = "") -> Voucher:
    """冲销: a posted reversal voucher (same accounts and sides, negated amounts) linked to the original. The
    original stays as it was. Dated like the original unless that period is closed (then `date` is required)."""
    require_perm(actor, "accounting.post_voucher")
    with transaction.atomic(durable=True):
        v = _lock_voucher(actor, pk, VIEW)
        check_write_scope(actor, region_code=v.region_code, unit_path=v.unit_path or None, spec=Voucher.scope_spec)
        if v.status != Voucher.Status.POSTED:
            raise Conflict("not_posted", "只有已记账凭证可以冲销")
        if v.source == Voucher.Source.REVERSAL:
            raise Conflict("is_reversal", "冲销凭证不能再冲销，请重新录入正确凭证")
        if Voucher.objects.filter(reversal_of=v).exists():
            raise Conflict("already_reversed", f"凭证 {v.display_number} 已冲销")
        when = date or v.date
        if date is None and Period.objects.filter(account_set_id=v.account_set_id, number=v.date.month,
                                                  status=Period.Status.CLOSED).exists():
            raise invalid("period_closed", "原凭证所在期间已结账，请指定本期的冲销日期", "date")
        period = open_period(v.account_set, when)
        years.require_year(v.account_set, when)
        lines = [LineSpec(basis=ln.basis, account_code=ln.account_code, debit=-ln.debit, credit=-ln.credit,
                          summary=ln.summary, dims={d: getattr(ln, f) for d, f in DIMENSIONS.items() if getattr(ln, f)})
                 for ln in v.lines.all()]
        resolved = resolve_lines(v.account_set, lines, manual=False, check_dims=False, allow_closed=True)
        summary = f"冲销{v.year}年{v.period_no:02d}期{v.display_number}" + (f"：{reason.strip()}" if reason.strip() else "")
        r = _write_voucher(v.account_set, period, date=when, summary=summary, source=Voucher.Source.REVERSAL,
                           actor=actor, resolved=resolved, post=True, reversal_of=v)
        audit.record_event("accounting.voucher_reversed", obj=v, message=reason[:300],
                           payload={"reversal_id": r.pk, "reversal_number": r.number})
        return r

