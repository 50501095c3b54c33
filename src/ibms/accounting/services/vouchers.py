"""Manual vouchers: entry (draft) → 审核 → 记账 (numbered gap-free), edits and deletion of drafts, and 冲销 by a
reversal voucher. Never reviewed or posted by the person who entered it."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from ibms.core import audit, workflow
from ibms.core.errors import Conflict, invalid
from ibms.core.numbering import next_value
from ibms.core.scoping import CHANGE, VIEW, check_write_scope, get_in_scope, require_perm

from .. import years
from ..models import DIMENSIONS, AccountSet, Basis, Period, Voucher, VoucherLine
from ..posting import LineSpec
from ..setup import FISCAL_VOUCHER_DOC, VOUCHER_DOC
from .periods import period_lock
from .writing import _write_lines, _write_voucher, voucher_lines_resolve


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
        period = period_lock(aset, date)
        years.year_require(aset, date)
        resolved = voucher_lines_resolve(aset, lines, manual=True)
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
        period = period_lock(v.account_set, date)
        years.year_require(v.account_set, date)
        resolved = voucher_lines_resolve(v.account_set, lines, manual=True)
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
        if approve:
            years.year_require(v.account_set, v.date)
            target, reviewed_by, reviewed_at = Voucher.Status.REVIEWED, actor, timezone.now()
        else:
            target, reviewed_by, reviewed_at = Voucher.Status.DRAFT, None, None
        if target not in Voucher.TRANSITIONS.get(v.status, set()):
            raise Conflict("invalid_transition", f"凭证当前状态“{v.get_status_display()}”不能"
                           f"{'审核' if approve else '取消审核'}")
        audit.update_fields(v, status=target, reviewed_by=reviewed_by, reviewed_at=reviewed_at)
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
        period = period_lock(v.account_set, v.date)
        years.year_require(v.account_set, v.date)
        lines = [LineSpec(basis=ln.basis, account_code=ln.account_code, debit=ln.debit, credit=ln.credit,
                          dims={d: getattr(ln, f) for d, f in DIMENSIONS.items() if getattr(ln, f)})
                 for ln in v.lines.all()]
        voucher_lines_resolve(v.account_set, lines, manual=True)  # accounts may have been closed since entry
        audit.update_fields(v, status=Voucher.Status.POSTED, posted_by=actor, posted_at=timezone.now(),
                            number=next_value(f"accounting.voucher:{v.account_set_id}:{period.number}"))
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
        period = period_lock(v.account_set, when)
        years.year_require(v.account_set, when)
        lines = [LineSpec(basis=ln.basis, account_code=ln.account_code, debit=-ln.debit, credit=-ln.credit,
                          summary=ln.summary, dims={d: getattr(ln, f) for d, f in DIMENSIONS.items() if getattr(ln, f)})
                 for ln in v.lines.all()]
        resolved = voucher_lines_resolve(v.account_set, lines, manual=False, check_dims=False,
                                         allow_closed=True)
        summary = f"冲销{v.year}年{v.period_no:02d}期{v.display_number}" + (f"：{reason.strip()}" if reason.strip() else "")
        r = _write_voucher(v.account_set, period, date=when, summary=summary, source=Voucher.Source.REVERSAL,
                           actor=actor, resolved=resolved, post=True, reversal_of=v)
        audit.record_event("accounting.voucher_reversed", obj=v, message=reason[:300],
                           payload={"reversal_id": r.pk, "reversal_number": r.number})
        return r
