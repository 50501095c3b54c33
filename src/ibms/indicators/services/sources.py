"""Source documents: the 文件 every indicator and every movement rests on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction

from ibms.core import audit, clock
from ibms.core.errors import ValidationFailed, Violation, invalid
from ibms.core.scoping import check_write_scope, require_perm
from ibms.masterdata.models import Region
from ibms.masterdata.selectors import fiscal_year_require

from ..domain import Doc
from ..models import Indicator, SourceDocument
from ._common import P_DOC, Kind


def source_document_create(*, actor, region_code: str, year: int, kind: str, doc_no: str, title: str,
                           doc_date: dt.date, upper_doc_no: str = "", adj_batch_no: str = "") -> SourceDocument:
    """Register a document indicators rest on. Runs inside the caller's transaction when there is one (a
    savepoint: budgeting's reply), else in its own (the API)."""
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


def _doc(actor, ind: Indicator, doc: Doc, kinds: set[str], create_kind: str) -> SourceDocument:
    """The document of a movement on the (locked) indicator, whose fiscal year must accept movements."""
    require_perm(actor, P_DOC)
    fiscal_year_require(ind.region_code, ind.year, purpose="indicator")
    return _source_for(actor, region_code=ind.region_code, year=ind.year, kinds=kinds, doc=doc,
                       create_kind=create_kind)
