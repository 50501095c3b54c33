"""Whose 决算 a table is: one unit's account set (`unit-<unit id>`), a department's unit subtree (`dept-<unit id>`,
the sum of its units by unit tree path) or a region's 总预算会计 and unit sets (`region-<region code>`).

`scope_resolve` reads through the actor's scope: a unit table needs accounting's own view permission on account
sets (403 without) and the set inside the actor's scope (404 outside: a county never sees a neighbour's unit); a
region table needs closing.view_yearstep and the region among the actor's regions.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from ibms.accounting.models import AccountSet, VoucherLine
from ibms.core.errors import NotFound
from ibms.core.scoping import VIEW, get_in_scope, require_perm, scope_of
from ibms.masterdata.models import Region, Unit

REGION_PERMISSION = "closing.view_yearstep"


@dataclass(frozen=True)
class Scope:
    kind: str  # unit | dept | region
    ident: str
    region_code: str
    year: int
    name: str
    set_ids: tuple[int, ...]  # unit / dept: the unit sets; region: the 总预算会计 set (may be empty)
    unit_path: str = ""
    unit_set_ids: tuple[int, ...] = ()  # region: its own unit sets (政府综合财务报告 data)

    @property
    def token(self) -> str:
        return f"{self.kind}-{self.ident}"

    @property
    def label(self) -> str:
        return {"unit": "单位", "dept": "部门", "region": "区划"}[self.kind]


def lines_of(actor, scope: Scope):
    """The posted lines a scope's figures are summed from, read through the actor's scope (region: the
    总预算会计 set, whose reading is governed by closing.view_yearstep)."""
    if scope.kind == "region":
        return VoucherLine.objects.in_scope(actor, VIEW).filter(account_set_id__in=scope.set_ids,
                                                                voucher__status="posted")
    return VoucherLine.objects.restrict(actor, VIEW).filter(account_set_id__in=scope.set_ids,
                                                            voucher__status="posted", basis="budget")


def _unit_scope(aset: AccountSet) -> Scope:
    return Scope("unit", str(aset.unit_id), aset.region_code, aset.year, aset.unit.name, (aset.pk,), aset.unit_path)


def _dept_scope(dept: Unit, year: int, sets) -> Scope:
    ids = tuple(sets.filter(year=year, kind=AccountSet.Kind.UNIT, unit_path__startswith=dept.path)
                .order_by("pk").values_list("pk", flat=True))
    return Scope("dept", str(dept.pk), dept.region_code, year, dept.name, ids, dept.path)


def _region_scope(code: str, year: int, sets) -> Scope:
    name = Region.objects.filter(code=code).values_list("name", flat=True).first() or code
    fiscal = tuple(sets.filter(region_code=code, year=year, kind=AccountSet.Kind.FISCAL).values_list("pk", flat=True))
    units = tuple(sets.filter(region_code=code, year=year, kind=AccountSet.Kind.UNIT).order_by("pk")
                  .values_list("pk", flat=True))
    return Scope("region", code, code, year, name, fiscal, "", units)


def scope_resolve(*, actor, year: int, token: str) -> Scope:
    kind, _, ident = (token or "").partition("-")
    if kind == "unit" and ident.isdigit():
        aset = get_in_scope(AccountSet.objects.select_related("unit"), actor, VIEW, what="单位决算",
                            unit_id=int(ident), year=year, kind=AccountSet.Kind.UNIT)
        return _unit_scope(aset)
    if kind == "dept" and ident.isdigit():
        sets = AccountSet.objects.permitted(actor)
        dept = Unit.objects.in_scope(actor, VIEW).filter(pk=int(ident), parent__isnull=True).first()
        if dept is None:
            raise NotFound("部门决算")
        scope = _dept_scope(dept, year, sets)
        if not scope.set_ids:
            raise NotFound("部门决算")
        return scope
    if kind == "region" and ident.isdigit():
        require_perm(actor, REGION_PERMISSION)
        s = scope_of(actor)
        if not s.unrestricted and ident not in s.view_regions:
            raise NotFound("总决算")
        if not Region.objects.filter(code=ident).exists():
            raise NotFound("总决算")
        return _region_scope(ident, year, AccountSet.objects.in_scope(actor, VIEW))
    raise NotFound("决算")


def region_scopes(region_code: str, year: int) -> list[Scope]:
    """Every scope of a region-year (for the generation step and `ibms verify`; no actor: internal only):
    each unit with a set, each department with sets under it, and the region."""
    sets = AccountSet.objects.all()
    unit_sets = list(sets.filter(region_code=region_code, year=year, kind=AccountSet.Kind.UNIT)
                     .select_related("unit").order_by("unit__path"))
    out = [_unit_scope(a) for a in unit_sets]
    for dept in Unit.objects.filter(region_code=region_code, parent__isnull=True).order_by("code"):
        if any(a.unit_path.startswith(dept.path) for a in unit_sets):
            out.append(_dept_scope(dept, year, sets))
    out.append(_region_scope(region_code, year, sets))
    return out


def visible_scopes(*, actor, year: int, q: str = "") -> list[Scope]:
    """The unit and department scopes the actor may read in a year (the index's picker), at most 500."""
    sets = AccountSet.objects.permitted(actor).filter(year=year, kind=AccountSet.Kind.UNIT).select_related("unit")
    if q:
        sets = sets.filter(Q(unit__name__icontains=q) | Q(unit__code__startswith=q))
    out = [_unit_scope(a) for a in sets.order_by("region_code", "unit__path")[:500]]
    depts = Unit.objects.in_scope(actor, VIEW).filter(parent__isnull=True, pk__in={a.unit.department_id or a.unit_id
                                                                                     for a in sets[:500]})
    for dept in depts.order_by("region_code", "code"):
        s = _dept_scope(dept, year, AccountSet.objects.permitted(actor))
        if s.set_ids:
            out.append(s)
    return out
