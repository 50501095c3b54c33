"""Business events → vouchers: :func:`event_post` (the engine's entry point, inside the caller's
transaction, idempotent by event id), :func:`event_check` (the dry run), :func:`event_submit` (a person,
through the API) and :func:`voucher_post_system` (pre-built lines, e.g. year-end closing from the books)."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction

from ibms.core import audit
from ibms.core.audit import canonical
from ibms.core.crypto import sm3_hex
from ibms.core.errors import Conflict, DomainError, NotFound, Violation, invalid
from ibms.core.scoping import VIEW, check_write_scope, require_perm
from ibms.core.transactions import in_callers_transaction

from .. import posting, years
from ..models import AccountSet, Voucher
from ..posting import LineSpec
from .periods import period_lock
from .writing import _write_voucher, voucher_lines_resolve


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


@in_callers_transaction
def event_post(*, actor=None, event_id: str, event_type: str, date: dt.date, amounts: dict[str, int],
               dimensions: dict[str, str] | None = None, attrs: dict | None = None,
               account_set: AccountSet | None = None, account_set_id: int | None = None, unit_id: int | None = None,
               region_code: str = "", year: int | None = None, summary: str = "") -> Voucher | None:
    """Post a business event as one voucher by its set's posting rules, inside the caller's transaction.

    A building block (a savepoint inside the caller's transaction): the treasury module calls it when a bank
    receipt arrives, in the same transaction as its own writes. Permission is the caller's business (it checked
    its own); a person posts an event through :func:`event_submit`.

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
        period = period_lock(aset, date)
        if not years.is_system(actor):  # the system's own bookings (bank receipts, refunds) record what happened
            years.year_require(aset, date)
        resolved = voucher_lines_resolve(aset, ev.lines, manual=False, check_dims=not closing)
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
    """Would `event_post` accept this event? Every reason it would refuse (set, rule, dimensions, accounts);
    nothing written. Callers check before they commit to an event they must book later (a payment's receipt)."""
    dimensions = {k: v for k, v in (dimensions or {}).items() if v not in (None, "")}
    try:
        aset = _resolve_set(account_set=None, account_set_id=None, unit_id=unit_id, region_code=region_code,
                            year=year, date=date)
        ev = posting.evaluate(aset, event_type, amounts, dimensions, dict(attrs or {}))
        if ev.lines:
            voucher_lines_resolve(aset, ev.lines, manual=False,
                                  check_dims=not event_type.startswith(posting.CLOSING_PREFIX))
    except DomainError as exc:
        return exc.violations_or_self
    return []


def event_submit(*, actor, event_id: str, event_type: str, date: dt.date, amounts: dict[str, int],
                 dimensions: dict[str, str] | None = None, attrs: dict | None = None,
                 account_set_id: int | None = None, unit_id: int | None = None, region_code: str = "",
                 year: int | None = None, summary: str = "") -> tuple[Voucher | None, bool]:
    """A person submits a business event (the REST endpoint): permission, write scope, then `event_post` here.

    This service owns its transaction. Returns (voucher or None, whether this call posted it)."""
    require_perm(actor, "accounting.post_event")
    with transaction.atomic(durable=True):
        aset = _resolve_set(account_set=None, account_set_id=account_set_id, unit_id=unit_id,
                            region_code=region_code, year=year, date=date, actor=actor)
        check_write_scope(actor, region_code=aset.region_code, unit_path=aset.unit_path or None,
                          spec=Voucher.scope_spec)
        already = Voucher.objects.filter(account_set=aset, event_id=(event_id or "").strip()).exists()
        v = event_post(actor=actor, event_id=event_id, event_type=event_type, date=date, amounts=amounts,
                       dimensions=dimensions, attrs=attrs, account_set=aset, summary=summary)
        return v, v is not None and not already


def _same_event(existing: Voucher, digest: str) -> Voucher:
    if existing.event_hash != digest:
        raise Conflict("event_conflict", f"业务事件 {existing.event_id} 已按不同内容记账（凭证 {existing.display_number}）",
                       {"voucher_id": existing.pk})
    return existing


@in_callers_transaction
def voucher_post_system(*, actor=None, account_set: AccountSet, date: dt.date, summary: str, lines: list[LineSpec],
                        source: str = Voucher.Source.CLOSING, event_id: str = "") -> Voucher:
    """Post pre-built lines as one voucher (e.g. year-end closing computed from balances), in the caller's
    transaction. Same checks as a manual voucher except required dimensions; idempotent by `event_id` if given."""
    with transaction.atomic():
        aset = AccountSet.objects.select_related("chart").get(pk=account_set.pk)
        digest = sm3_hex(canonical([(ln.basis, ln.account_code, ln.debit, ln.credit, sorted(ln.dims.items()))
                                    for ln in lines]).encode()) if event_id else ""
        if event_id:
            existing = Voucher.objects.filter(account_set=aset, event_id=event_id).first()
            if existing is not None:
                return _same_event(existing, digest)
        period = period_lock(aset, date)
        if not years.is_system(actor):
            years.year_require(aset, date)
        resolved = voucher_lines_resolve(aset, lines, manual=False, check_dims=False)
        v = _write_voucher(aset, period, date=date, summary=summary, actor=actor, source=source, resolved=resolved,
                           post=True, event={"event_id": event_id, "event_type": source if event_id else "",
                                             "event_hash": digest})
        audit.record_event("accounting.system_posted", obj=v, payload={"source": source, "number": v.number})
        return v
