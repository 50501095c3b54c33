"""调剂 (reallocation): money moved between indicators of one region and year by a reviewed request. The rules
(`domain.reallocation_violations`) run at submission and again at approval, against the balances as they are
then; approval writes paired entries that net to zero."""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse

from ibms.core import audit, workflow
from ibms.core.errors import Conflict, NotFound, ValidationFailed, invalid
from ibms.core.money import fen_to_str
from ibms.core.numbering import next_number
from ibms.core.scoping import CHANGE, get_in_scope, require_perm
from ibms.masterdata.selectors import fiscal_year_require, fiscal_year_require_for, is_sangong
from ibms.projects.models import Project

from .. import domain
from ..domain import Doc, IndicatorSpec, ReallocIn, amount_require_positive
from ..ledger import Ledger, indicators_lock
from ..models import Indicator, Reallocation, ReallocationLine, SourceDocument
from ._common import DOC_REALLOCATION, P_REALLOC_REVIEW, P_REALLOC_SUBMIT, E, Kind
from .creation import _build_rows, _insert
from .sources import _create_source


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
        amount_require_positive(a)
    for line in ins:
        amount_require_positive(line.amount)
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
        source = _apply_reallocation(actor, r, lines) if approve else r.source
        audit.update_fields(r, reviewed_by=actor, review_comment=comment.strip()[:300], source=source)
        target = Reallocation.Status.APPROVED if approve else Reallocation.Status.REJECTED
        workflow.transition(r, target, transitions=Reallocation.TRANSITIONS,
                            event_code="indicators.reallocation_approved" if approve
                            else "indicators.reallocation_rejected", message=comment[:300])
        workflow.todo_close(doc_type=DOC_REALLOCATION, obj=r, user=actor)
        return r


def _apply_reallocation(actor, r: Reallocation, lines: list[ReallocationLine]) -> SourceDocument:
    """The approval's writes: the 调剂 document, new receiving indicators, the lines' results, the paired entries.
    Returns the document (the caller records it on the 调剂单)."""
    outs = [ln for ln in lines if ln.direction == "out"]
    ins = [ln for ln in lines if ln.direction == "in"]
    locked = indicators_lock(actor, [ln.indicator_id for ln in lines if ln.indicator_id])
    template = locked[outs[0].indicator_id]
    specs = [(locked[ln.indicator_id] if ln.indicator_id else None,
              None if ln.indicator_id else _new_in_spec(ln, template, n), ln.amount) for n, ln in enumerate(ins)]
    _check_reallocation([(locked[ln.indicator_id], ln.amount) for ln in outs], specs)
    source = _create_source(actor, region_code=r.region_code, year=r.year, kind=Kind.TRANSFER_IN,
                            doc=Doc(r.number, f"指标调剂：{r.reason}"[:200]))
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
    ledger = Ledger(actor)
    for oi, ii, x in domain.pair([(n, ln.amount) for n, ln in enumerate(outs)],
                                 [(n, ln.amount) for n, ln in enumerate(ins)]):
        out_ind, in_ind = locked[outs[oi].indicator_id], ins[ii].result
        ledger.move(out_ind, E.REALLOCATE_OUT, {"available": -x}, source=source, counterpart=in_ind,
                    memo=f"调剂调出至 {in_ind.code}")
        ledger.move(in_ind, E.REALLOCATE_IN, {"available": x}, source=source, counterpart=out_ind,
                    memo=f"自 {out_ind.code} 调剂调入")
    ledger.write()
    return source
