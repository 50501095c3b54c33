"""Reads of the indicator ledger: lists within scope, the journal, lineage, the lookups the pages make, and the
balance check. Every list starts from `permitted` (403 without the model's view permission), every single row
from `get_in_scope` (403 without it, 404 out of scope), so the pages and endpoints repeat no read check."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Q, QuerySet

from ibms.core.scoping import CHANGE, VIEW, get_in_scope
from ibms.masterdata.models import Unit

from .models import (
    BUCKETS,
    Indicator,
    IndicatorEntry,
    Reallocation,
    ReallocationLine,
    Reservation,
    SourceDocument,
    TransferNotice,
)

FLAG_FIELDS = {"is_gov_pur": "政府采购", "is_track": "直达资金", "is_sanbao": "三保", "is_sangong": "三公经费"}


def indicator_list(*, actor, year: int | None = None, region_code: str = "", unit_code: str = "",
                   department_code: str = "", source_kind: str = "", fund_nature_code: str = "",
                   exp_func_code: str = "", flags: list[str] | None = None, executable: bool | None = None,
                   q: str = "") -> QuerySet[Indicator]:
    qs = Indicator.objects.permitted(actor).select_related("unit", "department", "source", "project")
    if year:
        qs = qs.filter(year=year)
    if region_code:
        qs = qs.filter(region_code=region_code)
    if unit_code:
        qs = qs.filter(unit__code=unit_code)
    if department_code:
        qs = qs.filter(department__code=department_code)
    if source_kind:
        qs = qs.filter(source__kind=source_kind)
    if fund_nature_code:
        qs = qs.filter(fund_nature_code__startswith=fund_nature_code)
    if exp_func_code:
        qs = qs.filter(exp_func_code__startswith=exp_func_code)
    for flag in flags or []:
        if flag in FLAG_FIELDS:
            qs = qs.filter(**{flag: True})
    if executable is not None:
        qs = qs.filter(is_executable=executable)
    if q:
        qs = qs.filter(Q(code__icontains=q) | Q(summary__icontains=q) | Q(source__doc_no__icontains=q))
    return qs.order_by("code")


def indicator_get(*, actor, pk: int) -> Indicator:
    return get_in_scope(Indicator.objects.select_related("unit", "department", "source", "project", "parent"),
                        actor, VIEW, what="指标", pk=pk)


def indicators_written(rows: list[Indicator]) -> QuerySet[Indicator]:
    """The indicators a service has just created for the caller, in id order, as the response shows them."""
    return Indicator.objects.filter(pk__in=[r.pk for r in rows]).select_related("source", "unit").order_by("id")


def indicator_changeable(*, actor, pk: int) -> bool:
    """May the actor move this indicator: the change permission and the indicator within their write scope."""
    return (actor.has_perm("indicators.change_indicator")
            and Indicator.objects.restrict(actor, CHANGE).filter(pk=pk).exists())


def indicator_ids_by_code(*, actor, codes: set[str]) -> dict[str, int]:
    """Code → id of the indicators the actor may change (the 调剂 form names indicators by code)."""
    return dict(Indicator.objects.restrict(actor, CHANGE).filter(code__in=codes).values_list("code", "pk"))


def unit_ids_by_code(*, region_code: str, codes: list[str]) -> dict[str, int]:
    """Code → id of the region's budget units (the forms name units by code)."""
    return dict(Unit.objects.filter(region_code=region_code, code__in=codes).values_list("code", "pk"))


def indicator_entries(*, actor, pk: int) -> QuerySet[IndicatorEntry]:
    ind = indicator_get(actor=actor, pk=pk)
    return (IndicatorEntry.objects.filter(indicator=ind).select_related("source", "counterpart", "actor")
            .order_by("id"))


@dataclass
class Node:
    """One indicator in a lineage: `visible` False when it lies outside the reader's scope (shown by code)."""

    code: str
    region_code: str
    year: int
    amount: int
    pk: int | None = None
    visible: bool = True
    relation: str = ""
    summary: str = ""


@dataclass
class Lineage:
    indicator: Indicator
    source: SourceDocument
    ancestors: list[Node] = field(default_factory=list)  # parent first, up to the root
    children: list[Node] = field(default_factory=list)  # distributed / carried / received / 调剂 targets
    counterparts: list[Node] = field(default_factory=list)  # paired entries' other side
    reservations: list[Reservation] = field(default_factory=list)
    notices: list[TransferNotice] = field(default_factory=list)  # allotted to lower regions


def _node(ind: Indicator, visible: set[int], relation: str = "") -> Node:
    shown = ind.pk in visible
    return Node(code=ind.code, region_code=ind.region_code, year=ind.year, amount=ind.amount,
                pk=ind.pk if shown else None, visible=shown, relation=relation,
                summary=ind.summary if shown else "")


def indicator_lineage(*, actor, pk: int, limit: int = 500) -> Lineage:
    """Up to the creating document and the parent chain; down to every consumer: children (distribution,
    carry-over, transfer receipt, 调剂 targets), 调剂 counterparts, payment reservations, transfer notices."""
    ind = indicator_get(actor=actor, pk=pk)
    scoped = Indicator.objects.restrict(actor, VIEW)
    chain: list[Indicator] = []
    cur, seen = ind, {ind.pk}
    while cur.parent_id and cur.parent_id not in seen and len(chain) < 50:
        cur = Indicator.objects.get(pk=cur.parent_id)
        seen.add(cur.pk)
        chain.append(cur)
    children = list(Indicator.objects.filter(parent=ind).select_related("source").order_by("id")[:limit])
    counter_ids = set(IndicatorEntry.objects.filter(indicator=ind, counterpart__isnull=False)
                      .values_list("counterpart_id", flat=True)[:limit])
    counters = list(Indicator.objects.filter(pk__in=counter_ids - {c.pk for c in children} - seen).order_by("id"))
    related = [c.pk for c in (*chain, *children, *counters)]
    visible = set(scoped.filter(pk__in=related).values_list("pk", flat=True))
    kinds = dict(IndicatorEntry.objects.filter(indicator=ind, counterpart__isnull=False)
                 .values_list("counterpart_id", "kind"))
    labels = dict(IndicatorEntry.Kind.choices)
    return Lineage(
        indicator=ind, source=ind.source,
        ancestors=[_node(a, visible, "来源指标") for a in chain],
        children=[_node(c, visible, c.source.get_kind_display()) for c in children],
        counterparts=[_node(c, visible, labels.get(kinds.get(c.pk, ""), "")) for c in counters],
        reservations=list(Reservation.objects.restrict(actor, VIEW).filter(indicator=ind).order_by("id")[:limit]),
        notices=list(TransferNotice.objects.filter(upper_indicator=ind).order_by("id")),
    )


def source_document_list(*, actor, year: int | None = None, kind: str = "", q: str = "") -> QuerySet[SourceDocument]:
    qs = SourceDocument.objects.permitted(actor)
    if year:
        qs = qs.filter(year=year)
    if kind:
        qs = qs.filter(kind=kind)
    if q:
        qs = qs.filter(Q(doc_no__icontains=q) | Q(title__icontains=q) | Q(upper_doc_no__icontains=q))
    return qs.order_by("-doc_date", "doc_no")


def reallocation_list(*, actor, status: str = "") -> QuerySet[Reallocation]:
    qs = Reallocation.objects.permitted(actor)
    return qs.filter(status=status) if status else qs


def reallocation_get(*, actor, pk: int) -> Reallocation:
    return get_in_scope(Reallocation.objects.select_related("submitted_by", "reviewed_by", "source"), actor, VIEW,
                        what="调剂单", pk=pk)


def reallocation_lines(r: Reallocation) -> list[ReallocationLine]:
    return list(r.lines.select_related("indicator", "unit", "result").order_by("direction", "id"))


def transfer_notice_list(*, actor, status: str = "", incoming_only: bool = False) -> QuerySet[TransferNotice]:
    qs = TransferNotice.objects.permitted(actor)
    if incoming_only:
        qs = qs.filter(region_code=getattr(actor, "region_code", ""))
    return qs.filter(status=status) if status else qs


def transfer_notice_get(*, actor, pk: int) -> TransferNotice:
    return get_in_scope(TransferNotice.objects.select_related("received_indicator", "received_doc"), actor, VIEW,
                        what="转移支付通知", pk=pk)


def transfer_notice_receivable(*, actor, notice: TransferNotice) -> bool:
    """May the actor receive this notice now: still sent, the receive permission, within their write scope."""
    return (notice.status == TransferNotice.Status.SENT and actor.has_perm("indicators.change_transfernotice")
            and TransferNotice.objects.restrict(actor, CHANGE).filter(pk=notice.pk).exists())


# --- ibms verify ------------------------------------------------------------------------------------------------

MAX_REPORTED = 1000


def balance_problems() -> list[str]:
    """Every indicator's cached buckets recomputed from its entries in one grouped query (plus one for the
    reservations); any difference is named with the indicator's code."""
    ind, ent, res = Indicator._meta.db_table, IndicatorEntry._meta.db_table, Reservation._meta.db_table
    cols = ["amount", *BUCKETS]
    sums = ", ".join(f"SUM(d_{c}) AS s_{c}" for c in cols)
    differs = " OR ".join(f"i.{c} <> COALESCE(e.s_{c}, 0)" for c in cols)
    picked = ", ".join(f"i.{c}, COALESCE(e.s_{c}, 0)" for c in cols)
    sql = (f"SELECT i.code, {picked} FROM {ind} i LEFT JOIN (SELECT indicator_id, {sums} FROM {ent} "  # noqa: S608
           f"GROUP BY indicator_id) e ON e.indicator_id = i.id WHERE {differs} ORDER BY i.code")
    problems: list[str] = []
    with connection.cursor() as cur:
        cur.execute(sql)
        for row in cur.fetchmany(MAX_REPORTED):
            code, values = row[0], row[1:]
            diffs = [f"{c} {values[2 * k]} != journal {values[2 * k + 1]}" for k, c in enumerate(cols)
                     if values[2 * k] != values[2 * k + 1]]
            problems.append(f"indicator {code}: cached balance differs from its entries ({'; '.join(diffs)})")
        sql = (f"SELECT i.code, i.reserved, COALESCE(r.held, 0) FROM {ind} i LEFT JOIN (SELECT indicator_id, "  # noqa: S608
               f"SUM(CASE WHEN status = 'reserved' THEN amount ELSE 0 END) AS held FROM {res} GROUP BY indicator_id)"
               f" r ON r.indicator_id = i.id WHERE i.reserved <> COALESCE(r.held, 0) ORDER BY i.code")
        cur.execute(sql)
        for code, reserved, held in cur.fetchmany(MAX_REPORTED):
            problems.append(f"indicator {code}: reserved {reserved} != open reservations {held}")
    return problems
