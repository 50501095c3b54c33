"""The indicator ledger inside a transaction: lock the indicators, move money between their buckets, write the
entries — and the payment reservation (treasury) built on it.

Every movement locks the indicators it touches (`select_for_update`, in id order), computes the new buckets,
refuses anything that would drive a bucket negative, and writes the immutable entries, the cached buckets and
the audit together, in the transaction of the service that moves.

The two-phase reservation — `indicator_reserve`, `reservation_post`, `reservation_void`, `indicator_restore` —
is a set of building blocks, not an interface for people: no page or endpoint calls them. Each runs inside the
transaction of the business service that calls it (payment submit/review/withdraw and 实拨 in treasury with the
clerk, reviewer or 国库处 as actor; receipts, returns and refunds applied by the bank handlers as the system
user) and refuses to run outside one (`@in_callers_transaction`). That service has already checked its own
permission, so these check none: a role never holds a reservation permission. They still keep the actor to
their scope (an indicator or reservation of another unit is not found; an upper level reads a lower region's
indicators but never spends them), and the actor is written on the ledger entries. The fiscal year is not
checked here: treasury checks its own writes before it reserves, and the postings and releases that follow a
bank message record what already happened.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from ibms.core import audit
from ibms.core.errors import Conflict, NotFound, invalid
from ibms.core.money import fen_to_str, format_fen
from ibms.core.scoping import CHANGE, VIEW, ScopeSpec, check_write_scope, scope_of
from ibms.core.transactions import in_callers_transaction

from . import domain
from .models import BUCKETS, Indicator, IndicatorEntry, Reservation, SourceDocument

E = IndicatorEntry.Kind
UNIT_WRITABLE = ScopeSpec(unit_path_field="unit_path", unit_writable=True)  # payments: units spend their own


class Ledger:
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


@in_callers_transaction
def indicators_lock(actor, ids: Iterable[int], *, action: str = CHANGE) -> dict[int, Indicator]:
    """Lock the indicators (id order, so concurrent movements never deadlock); out of scope = not found."""
    ids = sorted(set(ids))
    # FOR NO KEY UPDATE: rows that only reference the indicator (entries, reservations, requests) don't wait on it
    rows = {i.pk: i for i in Indicator.objects.restrict(actor, action).select_for_update(no_key=True)
            .filter(pk__in=ids).order_by("pk")}
    if len(rows) != len(ids):
        raise NotFound("指标")
    return rows


def indicator_lock(actor, pk: int, *, action: str = CHANGE) -> Indicator:
    return indicators_lock(actor, [pk], action=action)[pk]


# --- payments: the two-phase reservation (treasury) ------------------------------------------------------------

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
    ind = indicator_lock(actor, indicator_id, action=VIEW)
    check_write_scope(actor, region_code=ind.region_code, unit_path=ind.unit_path or None, spec=UNIT_WRITABLE)
    return ind


@in_callers_transaction
def indicator_reserve(*, actor, indicator_id: int, amount: int, consumer: str) -> Reservation:
    """预占: a payment request holds `amount` of an executable indicator (available → reserved). Idempotent by
    `consumer` (the request's key): the same key, indicator and amount returns the first reservation.
    Overdraw is refused with code `overdraw`. Runs only inside the caller's transaction (a savepoint in it); checks
    the actor's scope, not a permission (the caller's own permission covers it)."""
    domain.amount_require_positive(amount)
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
        ledger = Ledger(actor)
        ledger.move(ind, E.RESERVE, {"available": -amount, "reserved": amount}, consumer=consumer, reservation=r)
        ledger.write()
        audit.record_change(r, "create")
        return r


@in_callers_transaction
def indicator_hold(*, actor, indicator_id: int, amount: int, source: SourceDocument, freeze: bool,
                   consumer: str = "", memo: str = "") -> IndicatorEntry:
    """冻结/解冻 inside the caller's transaction (procurement: a plan's approval freezes, a contract's saving, a
    payment's draw and a completion unfreeze), on the caller's document `source`. Checks the actor's scope (a unit
    moves its own), not a permission: the caller has checked its own."""
    domain.amount_require_positive(amount)
    with transaction.atomic():
        ind = _lock_for_payment(actor, indicator_id)
        sign = 1 if freeze else -1
        ledger = Ledger(actor)
        entry = ledger.move(ind, E.FREEZE if freeze else E.UNFREEZE,
                            {"available": -sign * amount, "frozen": sign * amount}, source=source,
                            consumer=consumer, memo=memo or ("冻结" if freeze else "解冻"))
        ledger.write()
        return entry


def _settle(actor, consumer: str, *, post: bool) -> Reservation:
    with transaction.atomic():
        found = _find_reservation(actor, consumer)
        ind = _lock_for_payment(actor, found.indicator_id)
        r = Reservation.objects.select_for_update().get(pk=found.pk)
        if r.status == Reservation.Status.POSTED:
            raise Conflict("already_posted", f"单据 {consumer} 的预占已支付核销，不能再次{'核销' if post else '释放'}")
        if r.status == Reservation.Status.VOIDED:
            raise Conflict("already_voided", f"单据 {consumer} 的预占已释放，不能再次{'核销' if post else '释放'}")
        before = audit.snapshot(r)
        ledger = Ledger(actor)
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


@in_callers_transaction
def reservation_post(*, actor, consumer: str) -> Reservation:
    """核销: the payment went out, reserved → spent. At most once (`already_posted`); refused after a void
    (`already_voided`). Runs only inside the caller's transaction (a savepoint in it); checks the actor's scope,
    not a permission."""
    return _settle(actor, consumer, post=True)


@in_callers_transaction
def reservation_void(*, actor, consumer: str) -> Reservation:
    """释放: the request was withdrawn or refused, reserved → available. At most once (`already_voided`);
    refused after a post (`already_posted`). Runs only inside the caller's transaction (a savepoint in it); checks
    the actor's scope, not a permission."""
    return _settle(actor, consumer, post=False)


@in_callers_transaction
def indicator_restore(*, actor, consumer: str, amount: int) -> Reservation:
    """退回恢复: a bank return or refund of a posted payment gives `amount` back (spent → available), in
    total never more than was posted. Runs only inside the caller's transaction (a savepoint in it); checks the
    actor's scope, not a permission."""
    domain.amount_require_positive(amount)
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
        ledger = Ledger(actor)
        ledger.move(ind, E.RESTORE, {"spent": -amount, "available": amount}, consumer=consumer, reservation=r)
        ledger.write()
        r.restored += amount
        r.save(update_fields=["restored", "updated_at"])
        audit.record_change(r, "update", before)
        return r
