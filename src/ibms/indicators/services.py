"""Indicator ledger writers: the only code that creates indicators or moves money between their buckets.

Every movement locks the indicators it touches (`select_for_update`, in id order), computes the new
buckets, refuses anything that would drive a bucket negative, and writes the immutable entries, the cached
buckets and the audit in one transaction. Each entry names its source document (or, for payments, the
consuming document's key).

Services for other modules run inside the caller's transaction (`transaction.atomic()`, a savepoint) and say
so: `source_document_create`, `indicators_create` (budgeting's reply). The payment reservation —
`indicator_reserve`, `reservation_post`, `reservation_void`, `indicator_restore` (treasury) — is a set of
building blocks: they refuse to run outside the caller's transaction and check no permission of their own (see
the section below). The movements behind pages and the API own their transaction (`durable=True`).

The fiscal year must accept the movement (`masterdata.selectors.fiscal_year_require`, purpose "indicator"): a
closed year refuses every movement and every new indicator (`fiscal_year_closed`), a year the region has not set
up refuses them too (`fiscal_year_missing`); a preparing year takes them (next year's 批复 is written while it
prepares). Carry-over writes both years, so both must accept it: carry over first, then close the year. The
payment side (reserve, post, void, restore) is not checked here: treasury checks its own writes before it
reserves, and the postings and releases that follow a bank message record what already happened.
`fiscal_year_require_for` is imported here for treasury, which reaches the guard through this module.

`is_sangong` is derived from the department economic class (`masterdata.selectors.is_sangong`) on every
indicator this module creates; a caller's `IndicatorSpec.is_sangong` is not used.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from ibms.core import audit, clock, workflow
from ibms.core.errors import Conflict, NotFound, ValidationFailed, Violation, invalid
from ibms.core.models import Sequence
from ibms.core.money import fen_to_str, format_fen
from ibms.core.numbering import next_number
from ibms.core.scoping import CHANGE, VIEW, ScopeSpec, check_write_scope, get_in_scope, require_perm, scope_of
from ibms.masterdata.models import Region, Unit, ValueSetItem
from ibms.masterdata.selectors import (
    fiscal_year_require,
    fiscal_year_require_for,
    is_sangong,
    region_chain,
    sangong_eco_codes,
)
from ibms.projects.models import Project

from . import domain
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

Kind = SourceDocument.Kind
E = IndicatorEntry.Kind

DOC_REALLOCATION = "indicator_reallocation"
DOC_TRANSFER = "indicator_transfer_notice"
DEFAULT_REALLOCATION_CHAIN = [("预算处审核", "budget_division", "finance")]
DEFAULT_TRANSFER_CHAIN = [("预算处接收", "budget_division", "finance")]

# PRODUCT §5: indicators come from these documents, never from nowhere (ALLOT: 待分 split to units).
CREATING_KINDS = {Kind.BUDGET_REPLY, Kind.TRANSFER_ADVANCE, Kind.TRANSFER_FORMAL, Kind.RESERVE_FUND,
                  Kind.SUPPLEMENT, Kind.TRANSFER_IN, Kind.CARRY_OVER, Kind.ADJUSTMENT, Kind.ALLOT}
INCREASE_KINDS = {Kind.SUPPLEMENT, Kind.RESERVE_FUND, Kind.TRANSFER_ADVANCE, Kind.TRANSFER_FORMAL}

P_ADD, P_CHANGE = "indicators.add_indicator", "indicators.change_indicator"
P_DOC = "indicators.add_sourcedocument"
P_REALLOC_SUBMIT, P_REALLOC_REVIEW = "indicators.add_reallocation", "indicators.change_reallocation"
P_TRANSFER_ALLOT, P_TRANSFER_RECEIVE = "indicators.add_transfernotice", "indicators.change_transfernotice"
UNIT_WRITABLE = ScopeSpec(unit_path_field="unit_path", unit_writable=True)  # payments: units spend their own


@dataclass(frozen=True)
class Doc:
    """The document a movement rests on. An existing number of the right kind in the region is reused."""

    doc_no: str
    title: str = ""
    doc_date: dt.date | None = None
    upper_doc_no: str = ""
    adj_batch_no: str = ""


@dataclass
class IndicatorSpec:
    """One indicator to create (budgeting's reply lines, adjustments, the generator)."""

    amount: int
    fund_nature_code: str
    exp_func_code: str
    unit_id: int | None = None
    department_id: int | None = None
    project_id: int | None = None
    gov_eco_code: str = ""
    dep_eco_code: str = ""
    pay_type_code: str = ""
    source_type_code: str = ""  # default: from the source document's kind (data/indicators/source_kinds.csv)
    bgt_type_code: str = ""
    is_executable: bool = True
    is_gov_pur: bool = False
    is_track: bool = False
    is_sanbao: bool = False
    is_sangong: bool = False  # not used to create: derived from dep_eco_code (masterdata.selectors.is_sangong)
    rec_region_code: str = ""
    summary: str = ""


@dataclass(frozen=True)
class Split:
    """One line of a distribution (分配): an executable indicator for a unit, classification refinable."""

    unit_id: int
    amount: int
    project_id: int | None = None
    exp_func_code: str = ""
    dep_eco_code: str = ""
    gov_eco_code: str = ""
    summary: str = ""


@dataclass(frozen=True)
class ReallocIn:
    """An in-line of a 调剂: an existing indicator, or a new one for a unit/project/classification."""

    amount: int
    indicator_id: int | None = None
    unit_id: int | None = None
    project_id: int | None = None
    exp_func_code: str = ""
    dep_eco_code: str = ""
    gov_eco_code: str = ""


# --- numbering ---------------------------------------------------------------------------------------------

def _next_block(key: str, count: int) -> int:
    """Take `count` gap-free numbers under `key` in the caller's transaction; returns the first of them."""
    table = Sequence._meta.db_table
    with connection.cursor() as cur:
        cur.execute(f"UPDATE {table} SET last_value = last_value + %s WHERE key = %s RETURNING last_value",  # noqa: S608
                    [count, key])
        row = cur.fetchone()
    if row is not None:
        return row[0] - count + 1
    try:
        with transaction.atomic():
            Sequence.objects.create(key=key, last_value=count)
        return 1
    except IntegrityError:  # created by a concurrent transaction: take the normal path
        return _next_block(key, count)


def indicator_codes(region_code: str, year: int, count: int) -> list[str]:
    """Gap-free indicator codes (like bgt_id): region (9) + year (4) + serial (8) within the region and year."""
    first = _next_block(f"indicator:{region_code}:{year}", count)
    return [f"{region_code}{year}{n:08d}" for n in range(first, first + count)]


# --- source documents --------------------------------------------------------------------------------------

def source_document_create(*, actor, region_code: str, year: int, kind: str, doc_no: str, title: str,
                           doc_date: dt.date, upper_doc_no: str = "", adj_batch_no: str = "") -> SourceDocument:
    """Register a document indicators rest on. Runs inside the caller's transaction (savepoint)."""
    require_perm(actor, P_DOC)
    check_write_scope(actor, region_code=region_code)
    fiscal_year_require(region_code, year, purpose="indicator")
    with transaction.atomic():
        return _create_source(actor, region_code=region_code, year=year, kind=kind,
                              doc=Doc(doc_no, title, doc_date, upper_doc_no, adj_batch_no))


def _create_source(actor, *, region_code: str, year: int, kind: str, doc: Doc) -> SourceDocument:
    v: list[Violation] = []
    doc_no, title = (doc.doc_no or "").strip(), (doc.title or "").strip()
    if kind not in Kind.values:
        v.append(Violation("doc_kind_unknown", f"未知的文件类型：{kind}", "kind"))
    if not doc_no:
        v.append(Violation("doc_no_required", "必须填写文号", "doc_no"))
    if not title:
        v.append(Violation("doc_title_required", "必须填写文件标题", "title"))
    if kind in (Kind.TRANSFER_ADVANCE, Kind.TRANSFER_FORMAL) and not doc.upper_doc_no.strip():
        v.append(Violation("upper_doc_no_required", "上级转移支付必须填写上级文号", "upper_doc_no"))
    if kind == Kind.ADJUSTMENT and not doc.adj_batch_no.strip():
        v.append(Violation("adj_batch_required", "预算调整必须填写调整批次号", "adj_batch_no"))
    if not Region.objects.filter(code=region_code).exists():
        v.append(Violation("region_unknown", f"财政区划 {region_code} 不存在", "region_code"))
    if doc_no and SourceDocument.objects.filter(region_code=region_code, doc_no=doc_no).exists():
        v.append(Violation("doc_no_taken", f"文号 {doc_no} 已登记，不能重复使用", "doc_no"))
    if v:
        raise ValidationFailed(v)
    source = SourceDocument.objects.create(
        region_code=region_code, year=year, kind=kind, doc_no=doc_no[:60], title=title[:200],
        doc_date=doc.doc_date or clock.today(region_code), upper_doc_no=doc.upper_doc_no.strip()[:60],
        adj_batch_no=doc.adj_batch_no.strip()[:30], created_by=actor if getattr(actor, "pk", None) else None)
    audit.record_change(source, "create")
    return source


def _source_for(actor, *, region_code: str, year: int, kinds: Iterable[str], doc: Doc,
                create_kind: str | None = None) -> SourceDocument:
    """The movement's document: an existing number of an allowed kind, or a new one (`create_kind`)."""
    kinds = set(kinds)
    existing = SourceDocument.objects.filter(region_code=region_code, doc_no=(doc.doc_no or "").strip()).first()
    if existing is not None:
        if existing.kind not in kinds:
            raise invalid("doc_kind_mismatch", f"文号 {existing.doc_no} 已登记为“{existing.get_kind_display()}”，"
                                               f"不能作为本业务的依据", "doc_no")
        if existing.year != year:
            raise invalid("doc_year_mismatch", f"文号 {existing.doc_no} 属于 {existing.year} 年度", "doc_no")
        return existing
    kind = create_kind or next(iter(kinds))
    return _create_source(actor, region_code=region_code, year=year, kind=kind, doc=doc)


# --- the ledger ---------------------------------------------------------------------------------------------

class _Ledger:
    """Movements of one transaction, built against locked rows and written together."""

    def __init__(self, actor):
        self.actor = actor if getattr(actor, "pk", None) else None
        self.entries: list[IndicatorEntry] = []
        self.touched: dict[int, Indicator] = {}

    def move(self, ind: Indicator, kind: str, deltas: dict[str, int], *, source: SourceDocument | None = None,
             counterpart: Indicator | None = None, consumer: str = "", reservation: Reservation | None = None,
             memo: str = "") -> IndicatorEntry:
        new, short = domain.apply(ind.buckets, deltas)
        if short is not None:
            code, message, lack = short
            raise Conflict(code, f"指标 {ind.code}：{message}（差额 {format_fen(lack)} 元）",
                           {"indicator": ind.code, "shortfall": fen_to_str(lack)})
        d_amount = new["amount"] - ind.amount
        for name, value in new.items():
            setattr(ind, name, value)
        self.touched[ind.pk] = ind
        entry = IndicatorEntry(indicator=ind, region_code=ind.region_code, unit_path=ind.unit_path, kind=kind,
                               d_amount=d_amount, **{f"d_{b}": deltas.get(b, 0) for b in BUCKETS},
                               source=source, doc_no=source.doc_no if source else "", counterpart=counterpart,
                               consumer=consumer, reservation=reservation,
                               adj_batch_no=source.adj_batch_no if source else "", memo=memo[:300],
                               actor=self.actor)
        self.entries.append(entry)
        return entry

    def write(self) -> None:
        if not self.entries:
            return
        IndicatorEntry.objects.bulk_create(self.entries, batch_size=1000)
        rows = list(self.touched.values())
        fields = ["amount", *BUCKETS]
        if len(rows) <= 4:
            for ind in rows:
                Indicator.objects.filter(pk=ind.pk).update(**{f: getattr(ind, f) for f in fields})
        else:
            Indicator.objects.bulk_update(rows, fields, batch_size=500)
        audit.record_changes(self.entries, "create")


def _lock(actor, ids: Iterable[int], *, action: str = CHANGE) -> dict[int, Indicator]:
    """Lock the indicators (id order, so concurrent movements never deadlock); out of scope = not found."""
    ids = sorted(set(ids))
    # FOR NO KEY UPDATE: rows that only reference the indicator (entries, reservations, requests) don't wait on it
    rows = {i.pk: i for i in Indicator.objects.restrict(actor, action).select_for_update(no_key=True)
            .filter(pk__in=ids).order_by("pk")}
    if len(rows) != len(ids):
        raise NotFound("指标")
    return rows


def _lock_one(actor, pk: int, *, action: str = CHANGE) -> Indicator:
    return _lock(actor, [pk], action=action)[pk]


def _positive(amount: int, field: str = "amount") -> None:
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise invalid("amount_not_positive", "金额必须大于零", field)


# --- creating indicators ------------------------------------------------------------------------------------

def _classification_violations(year: int, region_code: str, wanted: dict[str, set[str]],
                               leaf_required: set[str]) -> dict[tuple[str, str], Violation]:
    """Bulk leaf check: a handful of queries per call, whatever the number of specs."""
    regions = region_chain(region_code)
    out: dict[tuple[str, str], Violation] = {}
    for vs, codes in wanted.items():
        codes = {c for c in codes if c}
        if not codes:
            continue
        items: dict[str, dict] = {}
        for row in (ValueSetItem.objects.filter(value_set__code=vs, fiscal_year=year, code__in=codes,
                                                region_code__in=regions, is_active=True)
                    .values("id", "code", "name", "is_leaf", "region_code")):
            if row["code"] not in items or len(row["region_code"]) > len(items[row["code"]]["region_code"]):
                items[row["code"]] = row
        refined = set(ValueSetItem.objects.filter(parent_id__in=[r["id"] for r in items.values()],
                                                  region_code__in=regions, is_active=True)
                      .values_list("parent_id", flat=True))
        for code in codes:
            item = items.get(code)
            if item is None:
                out[(vs, code)] = Violation("classification_unknown", f"{year}年度不存在代码 {code}（{vs}）", vs)
            elif vs in leaf_required and (not item["is_leaf"] or item["id"] in refined):
                out[(vs, code)] = Violation("classification_not_leaf",
                                            f"{code} {item['name']} 不是末级代码，指标只能使用末级", vs)
    return out


def _build_rows(source: SourceDocument, specs: list[IndicatorSpec], *, parents: list[Indicator | None] | None = None,
                allow_zero: bool = False) -> list[Indicator]:
    """Unsaved indicators for the specs, validated all at once (every problem named with its line)."""
    region, year = source.region_code, source.year
    v: list[Violation] = []
    unit_ids = {s.unit_id for s in specs if s.unit_id} | {s.department_id for s in specs if s.department_id}
    units = {u.pk: u for u in Unit.objects.filter(pk__in=unit_ids, region_code=region)
             .only("id", "path", "department_id", "region_code")}
    project_ids = {s.project_id for s in specs if s.project_id}
    projects = set(Project.objects.filter(pk__in=project_ids, region_code=region).values_list("pk", flat=True))
    wanted = {"fund_type": {s.fund_nature_code for s in specs}, "exp_func": {s.exp_func_code for s in specs},
              "dep_eco": {s.dep_eco_code for s in specs}, "gov_eco": {s.gov_eco_code for s in specs}}
    bad_codes = _classification_violations(year, region, wanted, {"exp_func", "dep_eco", "gov_eco"})
    sangong = sangong_eco_codes(fiscal_year=year, region_code=region)
    default_source, default_type = domain.source_codes().get(source.kind, ("", ""))
    rows: list[Indicator] = []
    for i, s in enumerate(specs):
        where = f"第{i + 1}行"
        line: list[Violation] = []
        if not isinstance(s.amount, int) or isinstance(s.amount, bool) or s.amount < 0 or (
                s.amount == 0 and not allow_zero):
            line.append(Violation("amount_not_positive", f"{where}：金额必须大于零", f"specs[{i}].amount"))
        if not s.fund_nature_code or not s.exp_func_code:
            line.append(Violation("classification_required", f"{where}：必须填写资金性质和支出功能分类",
                                  f"specs[{i}]"))
        for vs, code in (("fund_type", s.fund_nature_code), ("exp_func", s.exp_func_code),
                         ("dep_eco", s.dep_eco_code), ("gov_eco", s.gov_eco_code)):
            if (vs, code) in bad_codes:
                bad = bad_codes[(vs, code)]
                line.append(Violation(bad.code, f"{where}：{bad.message}", f"specs[{i}].{vs}"))
        unit = units.get(s.unit_id) if s.unit_id else None
        if s.unit_id and unit is None:
            line.append(Violation("unit_unknown", f"{where}：本区划不存在该预算单位", f"specs[{i}].unit_id"))
        if s.is_executable and not s.unit_id:
            line.append(Violation("unit_required", f"{where}：可执行指标必须落实到预算单位", f"specs[{i}].unit_id"))
        if s.department_id and s.department_id not in units:
            line.append(Violation("unit_unknown", f"{where}：本区划不存在该主管部门", f"specs[{i}].department_id"))
        if s.project_id and s.project_id not in projects:
            line.append(Violation("project_unknown", f"{where}：本区划不存在该项目", f"specs[{i}].project_id"))
        if s.rec_region_code and s.rec_region_code == region:
            line.append(Violation("rec_region_invalid", f"{where}：接收区划不能是本级", f"specs[{i}].rec_region_code"))
        if line:
            v.extend(line)
            if len(v) >= 50:
                break
            continue
        department_id = s.department_id or ((unit.department_id or unit.pk) if unit else None)
        rows.append(Indicator(
            region_code=region, year=year, source=source, parent=parents[i] if parents else None,
            unit_id=s.unit_id, department_id=department_id, unit_path=unit.path if unit else "",
            project_id=s.project_id, summary=(s.summary or "")[:200], fund_nature_code=s.fund_nature_code,
            exp_func_code=s.exp_func_code, gov_eco_code=s.gov_eco_code, dep_eco_code=s.dep_eco_code,
            pay_type_code=s.pay_type_code, source_type_code=s.source_type_code or default_source,
            bgt_type_code=s.bgt_type_code or default_type, is_executable=s.is_executable, is_gov_pur=s.is_gov_pur,
            is_track=s.is_track, is_sanbao=s.is_sanbao,
            is_sangong=is_sangong(s.dep_eco_code, fiscal_year=year, region_code=region, codes=sangong),
            rec_region_code=s.rec_region_code, adj_batch_no=source.adj_batch_no,
            amount=s.amount, available=s.amount))
    if v:
        raise ValidationFailed(v, message="指标数据校验未通过")
    return rows


def _insert(actor, rows: list[Indicator], *, counterparts: list[Indicator | None] | None = None,
            memo: str = "") -> list[Indicator]:
    """Give codes, insert the indicators and their creation entries, audit both (bulk)."""
    if not rows:
        return rows
    by_key: dict[tuple[str, int], list[Indicator]] = {}
    for ind in rows:
        by_key.setdefault((ind.region_code, ind.year), []).append(ind)
    for (region, year), group in by_key.items():
        for ind, code in zip(group, indicator_codes(region, year, len(group)), strict=True):
            ind.code = code
    Indicator.objects.bulk_create(rows, batch_size=1000)
    who = actor if getattr(actor, "pk", None) else None
    entries = [IndicatorEntry(indicator=ind, region_code=ind.region_code, unit_path=ind.unit_path, kind=E.CREATE,
                              d_amount=ind.amount, d_available=ind.available, source=ind.source,
                              doc_no=ind.source.doc_no, counterpart=(counterparts[i] if counterparts else None),
                              adj_batch_no=ind.adj_batch_no, memo=memo[:300], actor=who)
               for i, ind in enumerate(rows) if ind.amount]
    IndicatorEntry.objects.bulk_create(entries, batch_size=1000)
    audit.record_changes(rows, "create")
    audit.record_changes(entries, "create")
    return rows


def indicators_create(*, actor, source: SourceDocument, specs: list[IndicatorSpec]) -> list[Indicator]:
    """Create indicators from a source document (e.g. budgeting's 批复, one per reply line), each with its
    creation entry. Bulk: a few queries whatever the number of specs. Runs inside the caller's transaction
    (savepoint); nothing is written when any spec is refused."""
    require_perm(actor, P_ADD)
    if source is None or source.pk is None:
        raise invalid("source_required", "指标必须依据来源文件生成", "source")
    check_write_scope(actor, region_code=source.region_code)
    if source.kind not in CREATING_KINDS:
        raise invalid("source_cannot_create", f"“{source.get_kind_display()}”文件不能生成新指标", "source")
    fiscal_year_require(source.region_code, source.year, purpose="indicator")
    if not specs:
        return []
    with transaction.atomic():
        rows = _build_rows(source, list(specs))
        _insert(actor, rows)
        audit.record_event("indicators.created", region_code=source.region_code, obj=source,
                           message=f"{len(rows)} indicators", payload={"count": len(rows),
                                                                     "amount": fen_to_str(sum(r.amount for r in rows))})
        return rows


# --- movements behind pages and the API ----------------------------------------------------------------------

def _doc(actor, ind: Indicator, doc: Doc, kinds: set[str], create_kind: str) -> SourceDocument:
    """The document of a movement on the (locked) indicator, whose fiscal year must accept movements."""
    require_perm(actor, P_DOC)
    fiscal_year_require(ind.region_code, ind.year, purpose="indicator")
    return _source_for(actor, region_code=ind.region_code, year=ind.year, kinds=kinds, doc=doc,
                       create_kind=create_kind)


def _event(code: str, ind: Indicator, source: SourceDocument | None, amount: int, **payload) -> None:
    audit.record_event(code, obj=ind, region_code=ind.region_code,
                       message=f"{ind.code} {fen_to_str(amount)}",
                       payload={"indicator": ind.code, "amount": fen_to_str(amount),
                                "doc_no": source.doc_no if source else "", **payload})


def indicator_distribute(*, actor, indicator_id: int, doc: Doc, splits: list[Split]) -> list[Indicator]:
    """分配: split a finance-held 待分 indicator into executable indicators of units (children)."""
    require_perm(actor, P_ADD)
    require_perm(actor, P_CHANGE)
    if not splits:
        raise invalid("lines_required", "请至少填写一条分配明细", "splits")
    for s in splits:
        _positive(s.amount)
    with transaction.atomic(durable=True):
        parent = _lock_one(actor, indicator_id)
        if parent.is_executable:
            raise invalid("not_unallocated", "只有待分指标可以分配", "indicator")
        total = sum(s.amount for s in splits)
        if total > parent.available:
            raise Conflict("overdraw", f"指标 {parent.code}：分配合计 {format_fen(total)} 超过可用余额 "
                                       f"{format_fen(parent.available)}",
                           {"indicator": parent.code, "shortfall": fen_to_str(total - parent.available)})
        source = _doc(actor, parent, doc, {Kind.ALLOT}, Kind.ALLOT)
        specs = [IndicatorSpec(
            amount=s.amount, fund_nature_code=parent.fund_nature_code,
            exp_func_code=s.exp_func_code or parent.exp_func_code, unit_id=s.unit_id,
            project_id=s.project_id or parent.project_id, gov_eco_code=s.gov_eco_code or parent.gov_eco_code,
            dep_eco_code=s.dep_eco_code or parent.dep_eco_code, pay_type_code=parent.pay_type_code,
            source_type_code=parent.source_type_code, bgt_type_code=parent.bgt_type_code, is_executable=True,
            is_gov_pur=parent.is_gov_pur, is_track=parent.is_track, is_sanbao=parent.is_sanbao,
            summary=s.summary or parent.summary) for s in splits]
        children = _build_rows(source, specs, parents=[parent] * len(specs))
        _insert(actor, children, counterparts=[parent] * len(children), memo="分配")
        ledger = _Ledger(actor)
        for child in children:
            ledger.move(parent, E.DISTRIBUTE_OUT, {"available": -child.amount, "allotted": child.amount},
                        source=source, counterpart=child, memo=f"分配至 {child.code}")
        ledger.write()
        _event("indicators.distributed", parent, source, total, children=[c.code for c in children])
        return children


def indicator_increase(*, actor, indicator_id: int, amount: int, doc: Doc, kind: str = Kind.SUPPLEMENT,
                       memo: str = "") -> IndicatorEntry:
    """追加: more money for an indicator, from a supplement, the reserve fund or an upper-level transfer."""
    require_perm(actor, P_CHANGE)
    _positive(amount)
    if kind not in INCREASE_KINDS:
        raise invalid("doc_kind_invalid", "追加的依据必须是本级追加、预备费或上级转移支付文件", "kind")
    with transaction.atomic(durable=True):
        ind = _lock_one(actor, indicator_id)
        if ind.is_sangong:
            raise invalid("sangong_increase", f"三公经费指标 {ind.code} 只减不增，不能追加", "indicator")
        source = _doc(actor, ind, doc, INCREASE_KINDS, kind)
        ledger = _Ledger(actor)
        entry = ledger.move(ind, E.INCREASE, {"available": amount}, source=source, memo=memo or "追加")
        ledger.write()
        _event("indicators.increased", ind, source, amount)
        return entry


def indicator_decrease(*, actor, indicator_id: int, amount: int, doc: Doc, memo: str = "") -> IndicatorEntry:
    """追减: less money for an indicator (only from what is still available)."""
    require_perm(actor, P_CHANGE)
    _positive(amount)
    with transaction.atomic(durable=True):
        ind = _lock_one(actor, indicator_id)
        source = _doc(actor, ind, doc, {Kind.REDUCTION}, Kind.REDUCTION)
        ledger = _Ledger(actor)
        entry = ledger.move(ind, E.DECREASE, {"available": -amount}, source=source, memo=memo or "追减")
        ledger.write()
        _event("indicators.decreased", ind, source, amount)
        return entry


def indicator_adjust(*, actor, indicator_id: int, delta: int, doc: Doc, memo: str = "") -> IndicatorEntry:
    """调整: the legislature's change to an approved indicator (signed), with its 预算调整 document and
    adjustment batch number (adj_batch_no)."""
    require_perm(actor, P_CHANGE)
    if not isinstance(delta, int) or isinstance(delta, bool) or delta == 0:
        raise invalid("amount_zero", "调整金额不能为零", "delta")
    with transaction.atomic(durable=True):
        ind = _lock_one(actor, indicator_id)
        source = _doc(actor, ind, doc, {Kind.ADJUSTMENT}, Kind.ADJUSTMENT)
        ledger = _Ledger(actor)
        entry = ledger.move(ind, E.ADJUST, {"available": delta}, source=source, memo=memo or "预算调整")
        ledger.write()
        _event("indicators.adjusted", ind, source, delta, adj_batch_no=source.adj_batch_no)
        return entry


def indicator_freeze(*, actor, indicator_id: int, amount: int, doc: Doc, reason: str = "") -> IndicatorEntry:
    """冻结: hold part of the available balance (procurement and other holds)."""
    return _hold(actor, indicator_id, amount, doc, reason, freeze=True)


def indicator_unfreeze(*, actor, indicator_id: int, amount: int, doc: Doc, reason: str = "") -> IndicatorEntry:
    """解冻: release a hold back to the available balance."""
    return _hold(actor, indicator_id, amount, doc, reason, freeze=False)


def _hold(actor, indicator_id: int, amount: int, doc: Doc, reason: str, *, freeze: bool) -> IndicatorEntry:
    require_perm(actor, P_CHANGE)
    _positive(amount)
    with transaction.atomic(durable=True):
        ind = _lock_one(actor, indicator_id)
        source = _doc(actor, ind, doc, {Kind.HOLD}, Kind.HOLD)
        ledger = _Ledger(actor)
        sign = 1 if freeze else -1
        entry = ledger.move(ind, E.FREEZE if freeze else E.UNFREEZE,
                            {"available": -sign * amount, "frozen": sign * amount}, source=source,
                            memo=reason or ("冻结" if freeze else "解冻"))
        ledger.write()
        _event("indicators.frozen" if freeze else "indicators.unfrozen", ind, source, amount, reason=reason[:200])
        return entry


def indicator_recall(*, actor, indicator_id: int, amount: int, doc: Doc, memo: str = "") -> IndicatorEntry:
    """收回: finance takes back available money. An indicator distributed from a 待分 indicator of the same
    region gives it back to that parent (paired entries) while the parent can take it (up to what it
    distributed); otherwise the money goes back to finance's general pool (the amount shrinks)."""
    require_perm(actor, P_CHANGE)
    _positive(amount)
    with transaction.atomic(durable=True):
        ind = Indicator.objects.restrict(actor, CHANGE).filter(pk=indicator_id).select_related("source").first()
        if ind is None:
            raise NotFound("指标")
        to_parent = (ind.parent_id is not None and ind.source.kind == Kind.ALLOT)
        locked = _lock(actor, [ind.pk, ind.parent_id] if to_parent else [ind.pk])
        ind = locked[ind.pk]
        parent = locked.get(ind.parent_id) if to_parent else None
        if parent is not None and parent.allotted < amount:
            parent = None
        source = _doc(actor, ind, doc, {Kind.RECALL}, Kind.RECALL)
        ledger = _Ledger(actor)
        entry = ledger.move(ind, E.RECALL, {"available": -amount}, source=source, counterpart=parent,
                            memo=memo or ("收回至 " + parent.code if parent else "收回财政"))
        if parent is not None:
            ledger.move(parent, E.RECALL_IN, {"allotted": -amount, "available": amount}, source=source,
                        counterpart=ind, memo=f"自 {ind.code} 收回")
        ledger.write()
        _event("indicators.recalled", ind, source, amount, to=parent.code if parent else "")
        return entry


def indicator_carry_over(*, actor, indicator_ids: list[int], doc: Doc) -> list[Indicator]:
    """年末结转: each indicator's available balance becomes next year's indicator (source 上年结转, parent link,
    classification and tracking flags kept). `doc` is the next year's carry-over document."""
    require_perm(actor, P_ADD)
    require_perm(actor, P_CHANGE)
    if not indicator_ids:
        raise invalid("lines_required", "请选择要结转的指标", "indicator_ids")
    with transaction.atomic(durable=True):
        olds = _lock(actor, indicator_ids)
        regions_years = {(i.region_code, i.year) for i in olds.values()}
        if len(regions_years) != 1:
            raise invalid("mixed_lines", "一次结转的指标必须属于同一区划和年度", "indicator_ids")
        region, year = regions_years.pop()
        fiscal_year_require(region, year, purpose="indicator")  # carry over before the year closes
        fiscal_year_require(region, year + 1, purpose="indicator")
        picked = [i for i in olds.values() if i.available > 0]
        if not picked:
            raise invalid("nothing_to_carry", "所选指标没有可结转的余额", "indicator_ids")
        require_perm(actor, P_DOC)
        source = _source_for(actor, region_code=region, year=year + 1, kinds={Kind.CARRY_OVER}, doc=doc)
        _, carry_type = domain.source_codes().get(Kind.CARRY_OVER, ("", ""))
        specs = [IndicatorSpec(
            amount=o.available, fund_nature_code=o.fund_nature_code, exp_func_code=o.exp_func_code,
            unit_id=o.unit_id, department_id=o.department_id, project_id=o.project_id, gov_eco_code=o.gov_eco_code,
            dep_eco_code=o.dep_eco_code, pay_type_code=o.pay_type_code, bgt_type_code=carry_type,
            is_executable=o.is_executable, is_gov_pur=o.is_gov_pur, is_track=o.is_track, is_sanbao=o.is_sanbao,
            rec_region_code=o.rec_region_code, summary=o.summary) for o in picked]
        news = _build_rows(source, specs, parents=picked)
        _insert(actor, news, counterparts=picked, memo="上年结转")
        ledger = _Ledger(actor)
        for old, new in zip(picked, news, strict=True):
            ledger.move(old, E.CARRY_OUT, {"available": -new.amount, "allotted": new.amount}, source=source,
                        counterpart=new, memo=f"结转至 {new.code}")
        ledger.write()
        audit.record_event("indicators.carried_over", region_code=region, obj=source,
                           payload={"count": len(news), "amount": fen_to_str(sum(n.amount for n in news))})
        return news


# --- 调剂 (reallocation) --------------------------------------------------------------------------------------

def _side(ind: Indicator, category: str | None) -> domain.Side:
    return domain.Side(key=ind.code, fund_nature_code=ind.fund_nature_code,
                       is_personnel=domain.is_personnel(category, ind.dep_eco_code), is_sangong=ind.is_sangong,
                       is_track=ind.is_track, is_gov_pur=ind.is_gov_pur, available=ind.available)


def _new_in_spec(line: ReallocIn | ReallocationLine, template: Indicator, i: int) -> IndicatorSpec:
    """A new receiving indicator: the first out-indicator's classification unless the line refines it. Its 三公
    flag (derived from the class, as creation will) is filled in for the 调剂 rules: a 三公 class never receives."""
    dep_eco = line.dep_eco_code or template.dep_eco_code
    return IndicatorSpec(
        amount=0, fund_nature_code=template.fund_nature_code,
        exp_func_code=line.exp_func_code or template.exp_func_code, unit_id=line.unit_id,
        project_id=line.project_id, dep_eco_code=dep_eco,
        gov_eco_code=line.gov_eco_code or template.gov_eco_code, pay_type_code=template.pay_type_code,
        is_executable=True, is_gov_pur=template.is_gov_pur, is_track=template.is_track,
        is_sanbao=template.is_sanbao,
        is_sangong=is_sangong(dep_eco, fiscal_year=template.year, region_code=template.region_code),
        summary=f"调剂调入（第{i + 1}行）")


def _check_reallocation(outs: list[tuple[Indicator, int]], ins: list[tuple[Indicator | None, IndicatorSpec, int]]):
    """Run the 调剂 rules on indicators and new-target specs (no writes)."""
    project_ids = {i.project_id for i, _ in outs} | {(ind.project_id if ind else spec.project_id)
                                                      for ind, spec, _ in ins}
    categories = dict(Project.objects.filter(pk__in=project_ids - {None}).values_list("pk", "category"))
    out_sides = [(_side(i, categories.get(i.project_id)), a) for i, a in outs]
    in_sides = []
    for n, (ind, spec, amount) in enumerate(ins):
        if ind is not None:
            in_sides.append((_side(ind, categories.get(ind.project_id)), amount))
        else:
            in_sides.append((domain.Side(key=f"新指标（第{n + 1}行）", fund_nature_code=spec.fund_nature_code,
                                         is_personnel=domain.is_personnel(categories.get(spec.project_id),
                                                                          spec.dep_eco_code),
                                         is_sangong=spec.is_sangong, is_track=spec.is_track,
                                         is_gov_pur=spec.is_gov_pur, exists=False), amount))
    v = domain.reallocation_violations(out_sides, in_sides)
    if v:
        raise ValidationFailed(v, message="调剂不符合规定")


def reallocation_submit(*, actor, reason: str, outs: list[tuple[int, int]], ins: list[ReallocIn]) -> Reallocation:
    """Submit a 调剂 (out lines: (indicator id, amount); in lines: existing or new indicators). Checked now and
    again at approval; a to-do goes to the approving budget officer (never the submitter)."""
    require_perm(actor, P_REALLOC_SUBMIT)
    if not reason.strip():
        raise invalid("reason_required", "必须填写调剂事由", "reason")
    if not outs or not ins:
        raise invalid("lines_required", "调剂必须至少有一条调出和一条调入", "lines")
    for _, a in outs:
        _positive(a)
    for line in ins:
        _positive(line.amount)
    with transaction.atomic(durable=True):
        ids = [i for i, _ in outs] + [line.indicator_id for line in ins if line.indicator_id]
        rows = {i.pk: i for i in Indicator.objects.restrict(actor, CHANGE).filter(pk__in=set(ids))}
        if len(rows) != len(set(ids)):
            raise NotFound("指标")
        regions = {(i.region_code, i.year) for i in rows.values()}
        if len(regions) != 1:
            raise invalid("mixed_lines", "调剂的指标必须属于同一区划和年度", "lines")
        region, year = regions.pop()
        fiscal_year_require(region, year, purpose="indicator")
        template = rows[outs[0][0]]
        specs = [(rows[line.indicator_id] if line.indicator_id else None,
                  None if line.indicator_id else _new_in_spec(line, template, n), line.amount)
                 for n, line in enumerate(ins)]
        # validate the new targets' owner and classification the way creation will
        new_specs = [s for ind, s, _ in specs if ind is None]
        if new_specs:
            probe = SourceDocument(region_code=region, year=year, kind=Kind.TRANSFER_IN, doc_no="-")
            _build_rows(probe, new_specs, allow_zero=True)
        _check_reallocation([(rows[i], a) for i, a in outs], specs)
        steps = workflow.approval_steps(DOC_REALLOCATION, region)
        if not steps:
            raise invalid("no_chain", "未配置指标调剂的审批流程")
        r = Reallocation.objects.create(
            region_code=region, year=year, number=next_number(f"TJ{region}{year}", width=6),
            reason=reason.strip()[:300], amount=sum(a for _, a in outs), submitted_by=actor)
        lines = [ReallocationLine(reallocation=r, region_code=region, direction="out", indicator_id=i, amount=a)
                 for i, a in outs]
        lines += [ReallocationLine(reallocation=r, region_code=region, direction="in", indicator_id=line.indicator_id,
                                   amount=line.amount, unit_id=line.unit_id, project_id=line.project_id,
                                   exp_func_code=line.exp_func_code, dep_eco_code=line.dep_eco_code,
                                   gov_eco_code=line.gov_eco_code) for line in ins]
        ReallocationLine.objects.bulk_create(lines)
        audit.record_change(r, "create")
        audit.record_changes(lines, "create")
        audit.record_event("indicators.reallocation_submitted", obj=r, region_code=region,
                           payload={"number": r.number, "amount": fen_to_str(r.amount)})
        workflow.todo_open(doc_type=DOC_REALLOCATION, obj=r, title=f"指标调剂审核：{r.number} {r.reason}"[:200],
                           url=reverse("indicators:reallocation-detail", args=[r.pk]), step=steps[0],
                           region_code=region)
        return r


def reallocation_review(*, actor, pk: int, approve: bool, comment: str = "") -> Reallocation:
    """Approve (the paired entries are written now, against the balances as they are now) or return a 调剂."""
    require_perm(actor, P_REALLOC_REVIEW)
    fiscal_year_require_for(Reallocation.objects.restrict(actor, CHANGE), pk, purpose="indicator", when=approve)
    with transaction.atomic(durable=True):
        r = get_in_scope(Reallocation.objects.select_for_update(), actor, CHANGE, what="调剂单", pk=pk)
        if r.status != Reallocation.Status.SUBMITTED:
            raise Conflict("not_submitted", "只有待审核的调剂单可以审核")
        steps = workflow.approval_steps(DOC_REALLOCATION, r.region_code)
        if not steps:
            raise invalid("no_chain", "未配置指标调剂的审批流程")
        workflow.check_step_actor(actor, steps[0], submitted_by_id=r.submitted_by_id)
        if not approve and not comment.strip():
            raise invalid("reason_required", "退回必须填写原因", "comment")
        lines = list(r.lines.order_by("id"))
        if approve:
            _apply_reallocation(actor, r, lines)
        before = audit.snapshot(r)
        r.reviewed_by, r.review_comment = actor, comment.strip()[:300]
        r.save(update_fields=["reviewed_by", "review_comment", "source", "updated_at"])
        audit.record_change(r, "update", before)
        target = Reallocation.Status.APPROVED if approve else Reallocation.Status.REJECTED
        workflow.transition(r, target, transitions=Reallocation.TRANSITIONS,
                            event_code="indicators.reallocation_approved" if approve
                            else "indicators.reallocation_rejected", message=comment[:300])
        workflow.todo_close(doc_type=DOC_REALLOCATION, obj=r, user=actor)
        return r


def _apply_reallocation(actor, r: Reallocation, lines: list[ReallocationLine]) -> None:
    outs = [ln for ln in lines if ln.direction == "out"]
    ins = [ln for ln in lines if ln.direction == "in"]
    locked = _lock(actor, [ln.indicator_id for ln in lines if ln.indicator_id])
    template = locked[outs[0].indicator_id]
    specs = [(locked[ln.indicator_id] if ln.indicator_id else None,
              None if ln.indicator_id else _new_in_spec(ln, template, n), ln.amount) for n, ln in enumerate(ins)]
    _check_reallocation([(locked[ln.indicator_id], ln.amount) for ln in outs], specs)
    source = _create_source(actor, region_code=r.region_code, year=r.year, kind=Kind.TRANSFER_IN,
                            doc=Doc(r.number, f"指标调剂：{r.reason}"[:200]))
    r.source = source
    new_lines = [(ln, spec) for ln, (ind, spec, _) in zip(ins, specs, strict=True) if ind is None]
    if new_lines:
        news = _build_rows(source, [s for _, s in new_lines], parents=[template] * len(new_lines), allow_zero=True)
        _insert(actor, news)
        for (ln, _), ind in zip(new_lines, news, strict=True):
            locked[ind.pk] = ind
            ln.result = ind
    for ln in ins:
        if ln.indicator_id:
            ln.result = locked[ln.indicator_id]
    before = audit.snapshot_rows(ReallocationLine, [ln.pk for ln in ins])
    ReallocationLine.objects.bulk_update(ins, ["result"])
    audit.record_changes(ins, "update", before)
    ledger = _Ledger(actor)
    for oi, ii, x in domain.pair([(n, ln.amount) for n, ln in enumerate(outs)],
                                 [(n, ln.amount) for n, ln in enumerate(ins)]):
        out_ind, in_ind = locked[outs[oi].indicator_id], ins[ii].result
        ledger.move(out_ind, E.REALLOCATE_OUT, {"available": -x}, source=source, counterpart=in_ind,
                    memo=f"调剂调出至 {in_ind.code}")
        ledger.move(in_ind, E.REALLOCATE_IN, {"available": x}, source=source, counterpart=out_ind,
                    memo=f"自 {out_ind.code} 调剂调入")
    ledger.write()


# --- transfer payments -----------------------------------------------------------------------------------------

def transfer_allot(*, actor, indicator_id: int, rec_region_code: str, amount: int, doc: Doc,
                   kind: str = TransferNotice.Kind.FORMAL,
                   transfer_type: str = TransferNotice.TransferType.SPECIAL,
                   notice_date: dt.date | None = None) -> TransferNotice:
    """转移支付下达: allot part of an upper region's indicator to a lower region. The money leaves the indicator
    (available → allotted) and a notice with the upper document, classification and tracking flags waits in
    the receiving region, with a to-do for its budget division."""
    require_perm(actor, P_TRANSFER_ALLOT)
    require_perm(actor, P_CHANGE)
    _positive(amount)
    if kind not in TransferNotice.Kind.values:
        raise invalid("kind_invalid", "下达方式必须是提前下达或正式下达", "kind")
    if transfer_type not in TransferNotice.TransferType.values:
        raise invalid("transfer_type_invalid", "转移支付类型不正确", "transfer_type")
    with transaction.atomic(durable=True):
        ind = _lock_one(actor, indicator_id)
        region = Region.objects.filter(code=ind.region_code).first()
        target = Region.objects.filter(code=rec_region_code).first()
        if target is None or region is None or target.code == region.code or not target.path.startswith(region.path):
            raise invalid("not_lower_region", "转移支付只能下达给本级所辖的下级区划", "rec_region_code")
        if ind.rec_region_code and ind.rec_region_code != rec_region_code:
            raise invalid("rec_region_mismatch", f"该指标的接收区划为 {ind.rec_region_code}", "rec_region_code")
        fiscal_year_require(rec_region_code, ind.year, purpose="indicator")  # the receiving region's year too
        source = _doc(actor, ind, doc, {Kind.ALLOT}, Kind.ALLOT)
        notice_date = notice_date or source.doc_date  # the allotting document's date, by default
        approval = ind.source.doc_date if ind.source.kind == Kind.BUDGET_REPLY else None
        days = domain.transfer_deadline_days().get(transfer_type)
        due = approval + dt.timedelta(days=days) if approval and days is not None and kind == "transfer_formal" \
            else None
        steps = workflow.approval_steps(DOC_TRANSFER, rec_region_code)
        if not steps:
            raise invalid("no_chain", "未配置转移支付接收流程")
        notice = TransferNotice.objects.create(
            region_code=rec_region_code, from_region_code=ind.region_code, year=ind.year,
            number=next_number(f"ZY{ind.region_code}{ind.year}", width=6), kind=kind, transfer_type=transfer_type,
            upper_indicator=ind, upper_indicator_code=ind.code, upper_source=source, upper_doc_no=source.doc_no,
            upper_doc_title=source.title, amount=amount, fund_nature_code=ind.fund_nature_code,
            exp_func_code=ind.exp_func_code, gov_eco_code=ind.gov_eco_code, dep_eco_code=ind.dep_eco_code,
            is_gov_pur=ind.is_gov_pur, is_track=ind.is_track, is_sanbao=ind.is_sanbao, notice_date=notice_date,
            approval_date=approval, due_date=due, created_by=actor)
        ledger = _Ledger(actor)
        ledger.move(ind, E.TRANSFER_OUT, {"available": -amount, "allotted": amount}, source=source,
                    memo=f"转移支付下达 {rec_region_code}（{notice.number}）")
        ledger.write()
        audit.record_change(notice, "create")
        _event("indicators.transfer_allotted", ind, source, amount, notice=notice.number, to=rec_region_code)
        workflow.todo_open(doc_type=DOC_TRANSFER, obj=notice,
                           title=f"转移支付接收：{notice.number}（{source.doc_no}，{format_fen(amount)}元）"[:200],
                           url=reverse("indicators:transfer-detail", args=[notice.pk]), step=steps[0],
                           region_code=rec_region_code)
        return notice


def transfer_receive(*, actor, notice_id: int, doc_no: str, doc_title: str = "",
                     doc_date: dt.date | None = None) -> Indicator:
    """接收: the receiving region's budget division registers the upper document as its own source
    (提前下达/正式下达, with the upper document number) and gets a finance-held 待分 indicator whose parent is
    the upper indicator, classification and flags carried along. At most once per notice."""
    require_perm(actor, P_TRANSFER_RECEIVE)
    require_perm(actor, P_ADD)
    with transaction.atomic(durable=True):
        notice = get_in_scope(TransferNotice.objects.select_for_update(), actor, CHANGE, what="转移支付通知",
                              pk=notice_id)
        if notice.status != TransferNotice.Status.SENT:
            raise Conflict("already_received", f"转移支付通知 {notice.number} 已接收，不能重复接收")
        steps = workflow.approval_steps(DOC_TRANSFER, notice.region_code)
        if not steps:
            raise invalid("no_chain", "未配置转移支付接收流程")
        workflow.check_step_actor(actor, steps[0], submitted_by_id=None)
        check_write_scope(actor, region_code=notice.region_code)
        fiscal_year_require(notice.region_code, notice.year, purpose="indicator")
        source = _create_source(actor, region_code=notice.region_code, year=notice.year, kind=notice.kind,
                                doc=Doc(doc_no, doc_title or notice.upper_doc_title, doc_date,
                                        upper_doc_no=notice.upper_doc_no))
        upper = Indicator.objects.get(pk=notice.upper_indicator_id)
        spec = IndicatorSpec(
            amount=notice.amount, fund_nature_code=notice.fund_nature_code, exp_func_code=notice.exp_func_code,
            gov_eco_code=notice.gov_eco_code, dep_eco_code=notice.dep_eco_code, is_executable=False,
            is_gov_pur=notice.is_gov_pur, is_track=notice.is_track, is_sanbao=notice.is_sanbao,
            summary=notice.upper_doc_title)
        [ind] = _build_rows(source, [spec], parents=[upper])
        _insert(actor, [ind], counterparts=[upper], memo=f"接收上级转移支付 {notice.upper_doc_no}")
        before = audit.snapshot(notice)
        notice.received_doc, notice.received_indicator = source, ind
        notice.received_by, notice.received_at = actor, timezone.now()
        notice.save(update_fields=["received_doc", "received_indicator", "received_by", "received_at",
                                   "updated_at"])
        audit.record_change(notice, "update", before)
        workflow.transition(notice, TransferNotice.Status.RECEIVED, transitions=TransferNotice.TRANSITIONS,
                            event_code="indicators.transfer_received", payload={"indicator": ind.code})
        workflow.todo_close(doc_type=DOC_TRANSFER, obj=notice, user=actor)
        return ind


# --- payments: the two-phase reservation (treasury) ------------------------------------------------------------
#
# Building blocks, not an interface for people: no page or endpoint calls them. Each runs inside the transaction of
# the business service that calls it (payment submit/review/withdraw and 实拨 in treasury with the clerk, reviewer or
# 国库处 as actor; receipts, returns and refunds applied by the bank handlers as the system user) and refuses to run
# outside one (`RuntimeError`). That service has already checked its own permission, so these check none: a role
# never holds a reservation permission. They still keep the actor to their scope (an indicator or reservation of
# another unit is not found; an upper level reads a lower region's indicators but never spends them), and the
# actor is written on the ledger entries.

def _in_callers_transaction(name: str) -> None:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(f"indicators.services.{name} is a building block of a business service: it must run "
                           "inside the caller's transaction (transaction.atomic)")


def _find_reservation(actor, consumer: str) -> Reservation:
    qs = Reservation.objects.restrict(actor, VIEW).filter(consumer=consumer)
    scope = scope_of(actor)
    if not scope.unrestricted:
        qs = qs.filter(region_code__in=scope.change_regions)
    r = qs.first()
    if r is None:
        raise NotFound("指标预占")
    return r


def _lock_for_payment(actor, indicator_id: int) -> Indicator:
    ind = _lock_one(actor, indicator_id, action=VIEW)
    check_write_scope(actor, region_code=ind.region_code, unit_path=ind.unit_path or None, spec=UNIT_WRITABLE)
    return ind


def indicator_reserve(*, actor, indicator_id: int, amount: int, consumer: str) -> Reservation:
    """预占: a payment request holds `amount` of an executable indicator (available → reserved). Idempotent by
    `consumer` (the request's key): the same key, indicator and amount returns the first reservation.
    Overdraw is refused with code `overdraw`. Runs only inside the caller's transaction (a savepoint in it); checks
    the actor's scope, not a permission (the caller's own permission covers it)."""
    _in_callers_transaction("indicator_reserve")
    _positive(amount)
    consumer = (consumer or "").strip()
    if not consumer or len(consumer) > 100:
        raise invalid("consumer_required", "必须提供使用单据标识（不超过100个字符）", "consumer")
    with transaction.atomic():
        ind = _lock_for_payment(actor, indicator_id)
        existing = Reservation.objects.select_for_update().filter(region_code=ind.region_code,
                                                                  consumer=consumer).first()
        if existing is not None:
            if existing.indicator_id == ind.pk and existing.amount == amount:
                return existing
            raise Conflict("consumer_mismatch", f"单据 {consumer} 已预占其他指标或金额，不能重复预占",
                           {"indicator_id": existing.indicator_id, "amount": fen_to_str(existing.amount)})
        if not ind.is_executable:
            raise invalid("not_executable", f"指标 {ind.code} 是待分指标，不能用于支付", "indicator")
        if ind.available < amount:
            raise Conflict("overdraw", f"指标 {ind.code} 可用余额 {format_fen(ind.available)} 不足 "
                                       f"{format_fen(amount)}",
                           {"indicator": ind.code, "shortfall": fen_to_str(amount - ind.available)})
        r = Reservation.objects.create(region_code=ind.region_code, indicator=ind, unit_path=ind.unit_path,
                                       consumer=consumer, amount=amount,
                                       created_by=actor if getattr(actor, "pk", None) else None)
        ledger = _Ledger(actor)
        ledger.move(ind, E.RESERVE, {"available": -amount, "reserved": amount}, consumer=consumer, reservation=r)
        ledger.write()
        audit.record_change(r, "create")
        return r


def _settle(actor, consumer: str, *, post: bool) -> Reservation:
    _in_callers_transaction("reservation_post" if post else "reservation_void")
    with transaction.atomic():
        found = _find_reservation(actor, consumer)
        ind = _lock_for_payment(actor, found.indicator_id)
        r = Reservation.objects.select_for_update().get(pk=found.pk)
        if r.status == Reservation.Status.POSTED:
            raise Conflict("already_posted", f"单据 {consumer} 的预占已支付核销，不能再次{'核销' if post else '释放'}")
        if r.status == Reservation.Status.VOIDED:
            raise Conflict("already_voided", f"单据 {consumer} 的预占已释放，不能再次{'核销' if post else '释放'}")
        before = audit.snapshot(r)
        ledger = _Ledger(actor)
        if post:
            ledger.move(ind, E.POST, {"reserved": -r.amount, "spent": r.amount}, consumer=consumer, reservation=r)
            r.status, r.posted_at = Reservation.Status.POSTED, timezone.now()
        else:
            ledger.move(ind, E.VOID, {"reserved": -r.amount, "available": r.amount}, consumer=consumer,
                        reservation=r)
            r.status, r.voided_at = Reservation.Status.VOIDED, timezone.now()
        ledger.write()
        r.save(update_fields=["status", "posted_at", "voided_at", "updated_at"])
        audit.record_change(r, "update", before)
        return r


def reservation_post(*, actor, consumer: str) -> Reservation:
    """核销: the payment went out, reserved → spent. At most once (`already_posted`); refused after a void
    (`already_voided`). Runs only inside the caller's transaction (a savepoint in it); checks the actor's scope,
    not a permission."""
    return _settle(actor, consumer, post=True)


def reservation_void(*, actor, consumer: str) -> Reservation:
    """释放: the request was withdrawn or refused, reserved → available. At most once (`already_voided`);
    refused after a post (`already_posted`). Runs only inside the caller's transaction (a savepoint in it); checks
    the actor's scope, not a permission."""
    return _settle(actor, consumer, post=False)


def indicator_restore(*, actor, consumer: str, amount: int) -> Reservation:
    """退回恢复: a bank return or refund of a posted payment gives `amount` back (spent → available), in
    total never more than was posted. Runs only inside the caller's transaction (a savepoint in it); checks the
    actor's scope, not a permission."""
    _in_callers_transaction("indicator_restore")
    _positive(amount)
    with transaction.atomic():
        found = _find_reservation(actor, consumer)
        ind = _lock_for_payment(actor, found.indicator_id)
        r = Reservation.objects.select_for_update().get(pk=found.pk)
        if r.status != Reservation.Status.POSTED:
            raise Conflict("not_posted", f"单据 {consumer} 尚未支付核销，不能退回恢复")
        if r.restored + amount > r.amount:
            raise Conflict("restore_exceeds", f"退回金额合计 {format_fen(r.restored + amount)} 超过已支付 "
                                              f"{format_fen(r.amount)}")
        before = audit.snapshot(r)
        ledger = _Ledger(actor)
        ledger.move(ind, E.RESTORE, {"spent": -amount, "available": amount}, consumer=consumer, reservation=r)
        ledger.write()
        r.restored += amount
        r.save(update_fields=["restored", "updated_at"])
        audit.record_change(r, "update", before)
        return r
