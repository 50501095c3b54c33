"""Account sets (建账): a unit's set or a finance bureau's 总预算会计 set, with the accounts copied from the
year's chart and 12 periods; sub-accounts and account changes."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable

from django.db import transaction

from ibms.core import audit
from ibms.core.errors import Conflict, NotFound, invalid
from ibms.core.scoping import CHANGE, VIEW, check_write_scope, get_in_scope, require_perm
from ibms.core.transactions import in_callers_transaction
from ibms.masterdata.models import Region, Unit

from ..models import (
    DIMENSIONS,
    Account,
    AccountSet,
    ChartAccount,
    ChartKind,
    ChartTemplate,
    Period,
    VoucherLine,
)


def account_set_code(*, year: int, unit: Unit | None) -> str:
    return f"{unit.code}-{year}" if unit is not None else f"ZYS-{year}"


def account_set_build(*, year: int, template: ChartTemplate, unit: Unit | None = None,
                      region: Region | None = None) -> AccountSet:
    """An unsaved set: a unit's (kind unit) or a finance bureau's (kind fiscal, `region`)."""
    if unit is not None:
        return AccountSet(region_code=unit.region_code, year=year, kind=AccountSet.Kind.UNIT,
                          code=account_set_code(year=year, unit=unit), name=f"{unit.name}{year}年度账套", unit=unit,
                          unit_path=unit.path, unit_type=unit.unit_type, chart=template)
    return AccountSet(region_code=region.code, year=year, kind=AccountSet.Kind.FISCAL,
                      code=account_set_code(year=year, unit=None),
                      name=f"{region.name}财政总预算会计{year}年度账套", unit=None, unit_path="", unit_type="",
                      chart=template)


def _new_periods(aset: AccountSet) -> list[Period]:
    return [Period(account_set=aset, region_code=aset.region_code, number=m, start_date=dt.date(aset.year, m, 1),
                   end_date=dt.date(aset.year, m, calendar.monthrange(aset.year, m)[1])) for m in range(1, 13)]


def _new_accounts(aset: AccountSet, chart: list[ChartAccount], level: int, parents: dict[str, Account]) -> list[Account]:
    """Unsaved accounts of one level (parents of the level above already saved, keyed by code)."""
    return [Account(account_set=aset, region_code=aset.region_code, code=c.code, name=c.name,
                    parent=parents.get(c.parent_code) if c.parent_code else None, level=c.level, is_leaf=c.is_leaf,
                    category=c.category, basis=c.basis, balance_side=c.balance_side, aux_dims=list(c.aux_dims))
            for c in chart if c.level == level]


@in_callers_transaction
def books_create(sets: list[AccountSet]) -> dict[str, int]:
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
            batch.extend(_new_accounts(s, charts[s.chart_id], level, parents[s.pk]))
        Account.objects.bulk_create(batch, batch_size=2000)
        audit.record_changes(batch, "create")
        for a in batch:
            parents[a.account_set_id][a.code] = a
        n_accounts += len(batch)
    periods = [p for s in sets for p in _new_periods(s)]
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
            aset = account_set_build(year=year, template=_template(ChartKind.UNIT, year), unit=unit)
        else:
            region = Region.objects.filter(code=region_code).first()
            if region is None:
                raise NotFound("财政区划")
            check_write_scope(actor, region_code=region.code, spec=AccountSet.scope_spec)
            if AccountSet.objects.filter(region_code=region.code, year=year, kind=AccountSet.Kind.FISCAL).exists():
                raise Conflict("set_exists", f"{region.name}已有{year}年度总预算会计账套")
            aset = account_set_build(year=year, template=_template(ChartKind.FISCAL, year), region=region)
        books_create([aset])
        audit.record_event("accounting.set_created", obj=aset, payload={"year": year, "kind": aset.kind})
        return aset


@in_callers_transaction
def books_ensure(*, year: int, units: Iterable[Unit] = (), regions: Iterable[Region] = ()) -> dict[str, int]:
    """Create the missing sets for these units and finance bureaus (system set-up, demo). Caller holds the
    transaction."""
    have_units = set(AccountSet.objects.filter(year=year, unit__isnull=False).values_list("unit_id", flat=True))
    have_regions = set(AccountSet.objects.filter(year=year, kind=AccountSet.Kind.FISCAL)
                       .values_list("region_code", flat=True))
    unit_tpl, fiscal_tpl = _template(ChartKind.UNIT, year), _template(ChartKind.FISCAL, year)
    sets = [account_set_build(year=year, template=unit_tpl, unit=u) for u in units if u.pk not in have_units]
    sets += [account_set_build(year=year, template=fiscal_tpl, region=r) for r in regions if r.code not in have_regions]
    return books_create(sets)


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
            audit.update_fields(parent, is_leaf=False)
        return acc


def account_update(*, actor, pk: int, name: str | None = None, aux_dims: list[str] | None = None,
                   is_active: bool | None = None) -> Account:
    """Rename, change the required dimensions, or close/reopen (is_active) an account."""
    require_perm(actor, "accounting.change_account")
    with transaction.atomic(durable=True):
        acc = get_in_scope(Account.objects.select_for_update(), actor, CHANGE, what="会计科目", pk=pk)
        values = {}
        if name is not None:
            if not name.strip():
                raise invalid("required", "请填写科目名称", "name")
            values["name"] = name.strip()[:100]
        if aux_dims is not None:
            values["aux_dims"] = _check_dims(aux_dims)
        if is_active is not None:
            values["is_active"] = is_active
        return audit.update_fields(acc, **values)
