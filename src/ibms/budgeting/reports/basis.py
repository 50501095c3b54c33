"""What every table of one request is computed from: the scoped budget lines of a round, version and unit
subtree (`ReportBasis`), summed into facts, with the value-set names; and the reads that pick them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property

from django.db.models import Q, QuerySet, Sum

from ibms.core.errors import invalid
from ibms.core.scoping import VIEW, get_in_scope, scope_of
from ibms.masterdata.models import Region, Unit, ValueSetItem
from ibms.masterdata.selectors import region_chain

from .. import selectors
from ..models import BudgetLine, BudgetRound, Version
from .layout import Layout, layout

REVENUE, EXPENDITURE = BudgetLine.Direction.REVENUE.value, BudgetLine.Direction.EXPENDITURE.value
BASIC, PROJECT = BudgetLine.ExpKind.BASIC.value, BudgetLine.ExpKind.PROJECT.value


@dataclass(frozen=True)
class Fact:
    """Budget lines summed over one combination of the dimensions the summary tables use."""

    unit_id: int
    department_id: int
    direction: str
    exp_kind: str
    revenue: str
    fund: str
    func: str
    eco: str
    amount: int


FACT_FIELDS = ("unit_id", "department_id", "direction", "exp_kind", "revenue_code", "fund_nature_code",
               "exp_func_code", "dep_eco_code")


@dataclass
class ReportBasis:
    """What every table of one request is computed from: the scoped lines of a round, version and unit subtree."""

    round: BudgetRound
    version: str
    unit: Unit | None  # the unit (department) subtree reported; None = every line of the region in scope
    region_name: str
    lines: QuerySet

    @cached_property
    def layout(self) -> Layout:
        return layout()

    @cached_property
    def facts(self) -> list[Fact]:
        rows = self.lines.values(*FACT_FIELDS).annotate(total=Sum("amount")).order_by()
        return [Fact(r["unit_id"], r["department_id"], r["direction"], r["exp_kind"] or "", r["revenue_code"] or "",
                     r["fund_nature_code"] or "", r["exp_func_code"] or "", r["dep_eco_code"] or "", int(r["total"]))
                for r in rows]

    def expenditure(self, pred: Callable[[Fact], bool] | None = None) -> list[Fact]:
        return [f for f in self.facts if f.direction == EXPENDITURE and (pred is None or pred(f))]

    def revenue(self) -> list[Fact]:
        return [f for f in self.facts if f.direction == REVENUE]

    @cached_property
    def units(self) -> dict[int, Unit]:
        ids = {f.unit_id for f in self.facts} | {f.department_id for f in self.facts}
        return {u.pk: u for u in Unit.objects.filter(pk__in=ids)}

    def unit_of(self, unit_id: int) -> Unit:
        if unit_id not in self.units:  # lines of the project tables outside the summary facts: never, but safe
            self.units.update({u.pk: u for u in Unit.objects.filter(pk=unit_id)})
        return self.units[unit_id]

    @cached_property
    def _regions(self) -> list[str]:
        return region_chain(self.round.region_code)

    @cached_property
    def _name_cache(self) -> dict[str, dict[str, str]]:
        return {}

    def names(self, value_set: str, codes: Iterable[str] | None = None) -> dict[str, str]:
        """code → name in the round's year, a region's own name winning over the national one."""
        if codes is None:
            if value_set not in self._name_cache:
                self._name_cache[value_set] = self.names(value_set, [])
            return self._name_cache[value_set]
        qs = ValueSetItem.objects.filter(value_set__code=value_set, fiscal_year=self.round.year,
                                         region_code__in=self._regions)
        wanted = set(codes)
        if wanted:
            qs = qs.filter(code__in=wanted)
        rank = {r: i for i, r in enumerate(self._regions)}
        out: dict[str, str] = {}
        for code, name, _region in sorted(qs.values_list("code", "name", "region_code"), key=lambda t: rank[t[2]]):
            out[code] = name
        return out

    def value_set_items(self, value_set: str) -> list[tuple[str, str, str]]:
        """(code, name, parent code) of a value set's items for the round's year and region chain."""
        rows = ValueSetItem.objects.filter(value_set__code=value_set, fiscal_year=self.round.year,
                                           region_code__in=self._regions, is_active=True)
        seen: dict[str, tuple[str, str, str]] = {}
        rank = {r: i for i, r in enumerate(self._regions)}
        for code, name, parent, _region in sorted(rows.values_list("code", "name", "parent__code", "region_code"),
                                                 key=lambda t: rank[t[3]]):
            seen[code] = (code, name, parent or "")
        return sorted(seen.values())

    @property
    def scope_label(self) -> str:
        return self.unit.name if self.unit is not None else f"{self.region_name}（全部部门）"

    @property
    def version_label(self) -> str:
        return Version(self.version).label

    @property
    def subtitle(self) -> str:
        return (f"编制单位：{self.scope_label}　　预算年度：{self.round.year}年　　版本：{self.version_label}"
                f"　　金额单位：元")


def report_round_list(*, actor) -> QuerySet:
    """The rounds whose tables the user may read; the tables are made of budget lines, so a user without their view
    permission is refused (403)."""
    BudgetLine.objects.permitted(actor)
    return BudgetRound.objects.restrict(actor, VIEW).order_by("-year", "region_code")


def report_round_get(*, actor, round_id: int) -> BudgetRound:
    return selectors.round_get(actor=actor, pk=round_id, reading=BudgetLine)


def report_unit_list(*, actor, round: BudgetRound) -> list[Unit]:
    """The units a user may pick for a round's tables: the departments in scope, or their own unit."""
    scope = scope_of(actor)
    qs = Unit.objects.restrict(actor, VIEW).filter(region_code=round.region_code)
    own = Q(path=scope.unit_path) if scope.unit_path else Q(pk__in=[])
    return list(qs.filter(Q(parent__isnull=True) | own).order_by("path"))


def _own_unit(actor, region_code: str) -> Unit | None:
    path = scope_of(actor).unit_path
    if not path:
        return None
    return Unit.objects.filter(region_code=region_code, path=path).first()


def report_basis_get(*, actor, round: BudgetRound, version: str = "", unit_id: int | None = None) -> ReportBasis:
    """Scope check and the lines of one round, version and unit subtree. Out-of-scope units are not found."""
    lines = BudgetLine.objects.permitted(actor).filter(round=round)
    if unit_id is not None:
        unit = get_in_scope(Unit.objects.filter(region_code=round.region_code), actor, VIEW, what="单位", pk=unit_id)
    else:
        unit = _own_unit(actor, round.region_code)
    if unit is not None:
        lines = lines.filter(unit_path__startswith=unit.path)
    if not version:
        version = default_version(lines)
    elif version not in Version.values:
        raise invalid("version_invalid", f"版本 {version} 不存在，应为一上、二上或批复", "version")
    region = Region.objects.filter(code=round.region_code).first()
    return ReportBasis(round=round, version=version, unit=unit, region_name=region.name if region else round.region_code,
                       lines=lines.filter(version=version))


def default_version(lines: QuerySet) -> str:
    """The latest version that has lines (批复, else 二上, else 一上)."""
    for v in (Version.REPLY, Version.SECOND_UP, Version.FIRST_UP):
        if lines.filter(version=v).exists():
            return v.value
    return Version.FIRST_UP.value
