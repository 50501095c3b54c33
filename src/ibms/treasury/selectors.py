"""Treasury reads (every list page's query starts from `permitted`, so it refuses (403) by itself), the lookups the services make (region policy, payer
account, blacklist, a voucher by number) and the `ibms verify` checks of the payment chain."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import Count, Q, Sum

from ibms.core import workflow
from ibms.core.errors import NotFound
from ibms.core.money import format_fen
from ibms.core.scoping import CHANGE, VIEW
from ibms.core.transactions import in_callers_transaction
from ibms.indicators.models import Indicator, IndicatorEntry, Reservation
from ibms.masterdata.models import BankAccount, BlacklistEntry, Payee, Region, Unit

from .domain import pay_method_of_code
from .models import (
    Allocation,
    BankStatement,
    Contract,
    PaymentRequest,
    PaymentVoucher,
    PayMethod,
    ReconciliationRun,
    ReconDifference,
    RegionPolicy,
)
from .setup import DOC_PAYMENT

TREASURY_CONSUMER = Q(consumer__startswith="SQ-") | Q(consumer__startswith="SB-")


def request_list(*, actor, status: str = "", q: str = ""):
    qs = PaymentRequest.objects.permitted(actor).select_related("unit", "indicator")
    if status:
        qs = qs.filter(status=status)
    if q:
        qs = qs.filter(Q(number__icontains=q) | Q(purpose__icontains=q) | Q(payee_name__icontains=q))
    return qs.order_by("-id")


def chain_doc(req: PaymentRequest) -> str:
    """The document type of `req`'s review chain: a request profile's (`hooks.request_profile`) or the treasury's."""
    from .hooks import request_profile

    prof = request_profile(req.indicator)
    return prof.chain_doc if prof is not None else DOC_PAYMENT


def payment_steps(req: PaymentRequest) -> list:
    """The review chain of `req` in its region."""
    return workflow.approval_steps(chain_doc(req), req.region_code)


def request_numbers(*, actor, ids: list[int]) -> dict[int, str]:
    """pk → number of the requests among `ids` the actor may see (to name a refusal in a batch)."""
    return dict(PaymentRequest.objects.permitted(actor).filter(pk__in=ids).values_list("pk", "number"))


def review_queue(*, actor):
    """Requests waiting for a step the actor may take (their role, their scope, not their own)."""
    roles = getattr(actor, "role_codes", set())
    qs = PaymentRequest.objects.restrict(actor, CHANGE).filter(status=PaymentRequest.Status.SUBMITTED)
    out = []
    chains: dict[tuple[str, str], list] = {}
    for r in qs.select_related("unit", "indicator").order_by("submitted_at", "id"):
        doc = chain_doc(r)
        steps = chains.setdefault((doc, r.region_code), workflow.approval_steps(doc, r.region_code))
        if not steps:
            continue
        step = steps[min(r.current_step, len(steps)) - 1]
        if step.role_code in roles and r.submitted_by_id != actor.pk:
            r.step_name = step.name
            out.append(r)
    return out


def voucher_list(*, actor, state: str = "", q: str = ""):
    qs = PaymentVoucher.objects.permitted(actor).select_related("request", "allocation")
    if state:
        qs = qs.filter(state=state)
    if q:
        qs = qs.filter(Q(number__icontains=q) | Q(payee_name__icontains=q) | Q(request__number__icontains=q))
    return qs.order_by("-id")


def indicator_choices(*, actor, q: str = "", limit: int = 30):
    """Executable indicators the actor may pay from, with the available balance (the entry form's picker)."""
    qs = (Indicator.objects.restrict(actor, VIEW).filter(is_executable=True, unit__isnull=False, available__gt=0)
          .select_related("unit"))
    if q:
        qs = qs.filter(Q(code__icontains=q) | Q(summary__icontains=q) | Q(dep_eco_code__startswith=q)
                       | Q(exp_func_code__startswith=q))
    return list(qs.order_by("code")[:limit])


def business_type_name(req: PaymentRequest) -> str:
    from ibms.accounting.models import BusinessType

    return (BusinessType.objects.filter(year=req.year, code=req.business_type).values_list("name", flat=True).first()
            or req.business_type)


def business_type_list(year: int) -> list:
    """支付业务类型 of the year (they decide the receipt's accounts)."""
    from ibms.accounting.selectors import business_type_list as types

    return list(types(year))


def payment_request_get(actor, pk: int) -> PaymentRequest:
    r = PaymentRequest.objects.restrict(actor).filter(pk=pk).first()
    if r is None:
        raise NotFound("支付申请")
    return r


def payment_request_changeable(*, actor, pk: int) -> bool:
    return PaymentRequest.objects.restrict(actor, CHANGE).filter(pk=pk).exists()


def voucher_for_request(req: PaymentRequest) -> PaymentVoucher | None:
    return PaymentVoucher.objects.filter(request=req).first()


def voucher_for_allocation(a: Allocation) -> PaymentVoucher | None:
    return PaymentVoucher.objects.filter(allocation=a).only("id", "number", "state").first()


def payee_choices(*, actor, limit: int = 500):
    return Payee.objects.restrict(actor).filter(is_active=True).order_by("name")[:limit]


def contract_choices(*, actor, limit: int = 200):
    return Contract.objects.restrict(actor).filter(status="active").order_by("-id")[:limit]


def unit_choices(*, actor, limit: int = 500):
    return Unit.objects.restrict(actor).order_by("code")[:limit]


def contract_list(*, actor):
    return Contract.objects.permitted(actor).select_related("unit", "plan").order_by("-id")


def allocation_list(*, actor):
    return Allocation.objects.permitted(actor).select_related("indicator").order_by("-id")


def reconciliation_list(*, actor):
    return ReconciliationRun.objects.permitted(actor).order_by("-run_date", "-id")


def difference_list(*, actor, status: str = "", kind: str = ""):
    qs = ReconDifference.objects.permitted(actor).order_by("-id")
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    return qs


def difference_held_list(*, actor, limit: int = 200):
    """Open quarantined bank messages (differences outside any reconciliation run)."""
    return (ReconDifference.objects.restrict(actor, VIEW).filter(run__isnull=True, status="open")
            .select_related("voucher").order_by("-id")[:limit])


# --- lookups of the services ----------------------------------------------------------------------------------

def region_policy_get(region_code: str) -> RegionPolicy:
    """The region's own policy row, else the nearest ancestor's, else the default ('')."""
    region = Region.objects.filter(code=region_code).first()
    codes = [c for c in (region.path.strip("/").split("/")[::-1] if region else [region_code]) if c] + [""]
    rows = {p.region_code: p for p in RegionPolicy.objects.filter(region_code__in=codes)}
    for c in codes:
        if c in rows:
            return rows[c]
    return RegionPolicy(region_code="", default_pay_method=PayMethod.CENTRALIZED)


def pay_method_get(pay_type_code: str, region_code: str) -> str:
    """支付方式: "11…" 财政直接支付 → direct, "12…" 财政授权支付 → authorized, blank → the region's default."""
    return pay_method_of_code(pay_type_code) or region_policy_get(region_code).default_pay_method


def payer_account_find(unit: Unit, region_code: str, pay_method: str) -> BankAccount | None:
    if pay_method == PayMethod.AUTHORIZED:
        return BankAccount.objects.filter(unit=unit, account_type="12", is_active=True).first()
    return (BankAccount.objects.filter(region_code=region_code, unit__isnull=True, account_type="11",
                                       is_active=True).first()
            or BankAccount.objects.filter(unit=unit, account_type="12", is_active=True).first())


def blacklist_matches(region_code: str, accounts: set[str], names: set[str], today: dt.date) -> list[BlacklistEntry]:
    """Active entries of the region and its upper levels matching a payee account or name (the list is small:
    matched in memory, so a batch of tens of thousands of lines costs one query)."""
    region = Region.objects.filter(code=region_code).first()
    regions = [c for c in (region.path.strip("/").split("/") if region else [region_code]) if c] + [""]
    entries = (BlacklistEntry.objects.filter(region_code__in=regions, status=BlacklistEntry.Status.ACTIVE,
                                             valid_from__lte=today)
               .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=today)).order_by("id"))
    return [b for b in entries if (b.account_no and b.account_no in accounts) or (b.name and b.name in names)]


@in_callers_transaction
def voucher_find(region_code: str, year: int | None, voucher_no: str) -> PaymentVoucher | None:
    """Our voucher of that number, locked (FOR UPDATE) in the caller's transaction; None if we never issued it."""
    qs = PaymentVoucher.objects.select_for_update().filter(region_code=region_code, number=voucher_no)
    if year:
        qs = qs.filter(year=year)
    return qs.first()


# --- ibms verify ----------------------------------------------------------------------------------------------

def _net_by_consumer() -> dict[tuple[str, str], int]:
    """(region, consumer) → receipted amount net of refunds (consumer numbers are unique per region only)."""
    net: dict[tuple[str, str], int] = defaultdict(int)
    for region, consumer, xpay, refunded in PaymentVoucher.objects.filter(
            state__in=PaymentVoucher.PAID_STATES).values_list("region_code", "consumer", "xpay_amt", "refunded_amt"):
        net[(region, consumer)] += xpay - refunded
    return net


def spent_problems() -> list[str]:
    """Indicator spent (ledger entries of treasury consumers) = receipted payments net of refunds, per consumer
    and per indicator; and = budget-accounting expenditure per unit/project/classification."""
    problems: list[str] = []
    net = _net_by_consumer()
    # every spent movement, whoever wrote it: one not traced to a receipt or a 实拨 is named
    ledger = {(r, c): s for r, c, s in IndicatorEntry.objects.exclude(d_spent=0)
              .values("region_code", "consumer").annotate(s=Sum("d_spent"))
              .values_list("region_code", "consumer", "s")}
    for key in sorted(set(net) | {k for k, s in ledger.items() if s}):
        if key not in net:
            problems.append(f"treasury: {key[1] or '(no document)'} ({key[0]}) indicator spent "
                            f"{format_fen(ledger[key])} traces to no receipt, 实拨 or carry-in document")
        elif (ledger.get(key) or 0) != net.get(key, 0):
            problems.append(f"treasury: {key[1]} ({key[0]}) indicator spent {format_fen(ledger.get(key) or 0)} != "
                            f"receipted net of refunds {format_fen(net.get(key, 0))}")
    # per indicator: the cached bucket carries at least the treasury's net spending
    by_ind: dict[int, int] = defaultdict(int)
    for ind_id, s in (IndicatorEntry.objects.filter(TREASURY_CONSUMER).values("indicator_id")
                      .annotate(s=Sum("d_spent")).values_list("indicator_id", "s")):
        by_ind[ind_id] += s or 0
    for ind_id, spent in Indicator.objects.filter(pk__in=list(by_ind)).values_list("pk", "spent"):
        if spent < by_ind[ind_id]:
            problems.append(f"treasury: indicator #{ind_id} spent {format_fen(spent)} below its treasury payments "
                            f"{format_fen(by_ind[ind_id])}")
    # accounting: budget-basis expenditure (7xxx) of the payment events, per unit/project/classification
    from ibms.accounting.models import VoucherLine

    ours: dict[tuple, int] = defaultdict(int)
    for r in (PaymentVoucher.objects.filter(state__in=PaymentVoucher.PAID_STATES, request__isnull=False)
              .values_list("request__unit_id", "request__project_code", "request__exp_func_code",
                           "request__dep_eco_code", "request__fund_nature_code", "xpay_amt", "refunded_amt")):
        ours[r[:5]] += r[5] - r[6]
    books: dict[tuple, int] = defaultdict(int)
    lines = (VoucherLine.objects.filter(basis="budget", account_code__startswith="7",
                                        voucher__event_type__in=["payment.receipted", "payment.refunded"])
             .filter(Q(voucher__event_id__startswith="pay:") | Q(voucher__event_id__startswith="refund:"))
             .values_list("account_set__unit_id", "project_code", "exp_func_code", "dep_eco_code", "fund_nature_code")
             .annotate(d=Sum("debit"), c=Sum("credit")))
    for *key, d, c in lines:
        books[tuple(key)] += (d or 0) - (c or 0)
    for key in sorted(set(ours) | set(books), key=str):
        if ours.get(key, 0) != books.get(key, 0):
            problems.append(f"treasury: unit #{key[0]} project {key[1] or '-'} {key[2]}/{key[3]}/{key[4]}: payments "
                            f"{format_fen(ours.get(key, 0))} != budget accounting {format_fen(books.get(key, 0))}")
    return problems


def finance_books_problems() -> list[str]:
    """总预算会计: the finance bureau's expenditure (5xxx of its treasury events) = the paid vouchers of treasury
    money net of refunds, per region, fund nature and function class."""
    from ibms.accounting.models import VoucherLine

    ours: dict[tuple, int] = defaultdict(int)
    for r in (PaymentVoucher.objects.filter(state__in=PaymentVoucher.PAID_STATES, request__isnull=False,
                                            request__fund_nature_code__startswith="1")
              .values_list("region_code", "request__fund_nature_code", "request__exp_func_code", "xpay_amt",
                           "refunded_amt")):
        ours[r[:3]] += r[3] - r[4]
    for r in (PaymentVoucher.objects.filter(state__in=PaymentVoucher.PAID_STATES, allocation__isnull=False)
              .values_list("region_code", "allocation__indicator__fund_nature_code",
                           "allocation__indicator__exp_func_code", "xpay_amt", "refunded_amt")):
        ours[r[:3]] += r[3] - r[4]
    books: dict[tuple, int] = defaultdict(int)
    for *key, d, c in (VoucherLine.objects.filter(account_set__kind="fiscal", account_code__startswith="5",
                                                  voucher__event_type__in=FINANCE_EVENTS)
                       .values_list("account_set__region_code", "fund_nature_code", "exp_func_code")
                       .annotate(d=Sum("debit"), c=Sum("credit"))):
        books[tuple(key)] += (d or 0) - (c or 0)
    return [f"treasury: finance books {k[0]} fund {k[1]} function {k[2]}: paid vouchers {format_fen(ours.get(k, 0))} "
            f"!= 总预算会计 expenditure {format_fen(books.get(k, 0))}"
            for k in sorted(set(ours) | set(books)) if ours.get(k, 0) != books.get(k, 0)]


FINANCE_EVENTS = ("treasury.paid", "treasury.refunded", "treasury.transfer_to_lower")


def paid_twice_problems() -> list[str]:
    """No voucher paid twice: one ledger posting per consumer, one bank payment per voucher number."""
    problems = [f"treasury: {c} ({r}) posted {n} times" for r, c, n in
                IndicatorEntry.objects.filter(TREASURY_CONSUMER, kind=IndicatorEntry.Kind.POST)
                .values("region_code", "consumer").annotate(n=Count("id")).filter(n__gt=1)
                .values_list("region_code", "consumer", "n")]
    paid: dict[tuple[str, str], set] = defaultdict(set)
    for st in BankStatement.objects.all().only("region_code", "lines"):
        for ln in st.lines:
            if str(ln.get("Kind", "pay")) == "pay" and ln.get("VoucherNo"):
                paid[(st.region_code, str(ln["VoucherNo"]))].add(str(ln.get("AgentBusinessNo") or ""))
    problems += [f"treasury: voucher {no} ({region}) paid {len(serials)} times by the bank"
                 for (region, no), serials in sorted(paid.items()) if len(serials) > 1]
    return problems


def reservation_problems() -> list[str]:
    """Every open reservation = an open request or allocation (each holding exactly one); any other is named."""
    held = {(r, c): a for r, c, a in Reservation.objects.filter(status=Reservation.Status.RESERVED)
            .values_list("region_code", "consumer", "amount")}
    wanted = {(r, c): a for r, c, a in PaymentRequest.objects.filter(status__in=PaymentRequest.OPEN)
              .values_list("region_code", "consumer", "amount")}
    wanted.update({(r, c): a for r, c, a in PaymentVoucher.objects.filter(allocation__status=Allocation.Status.SENT)
                   .values_list("region_code", "consumer", "amount")})
    problems = [f"treasury: reservation {c} ({r}) open without an open request" for r, c in sorted(set(held) - set(wanted))]
    problems += [f"treasury: open request {c} ({r}) holds no reservation" for r, c in sorted(set(wanted) - set(held))]
    problems += [f"treasury: reservation {k[1]} ({k[0]}) amount {format_fen(held[k])} != request "
                 f"{format_fen(wanted[k])}" for k in sorted(set(held) & set(wanted)) if held[k] != wanted[k]]
    return problems


def contract_plan_problems() -> list[str]:
    """A contract filed against a 采购计划 agrees with it: same amount, the plan's drawn = the contract's committed
    (open + paid), paid ≤ amount, an open contract's plan is contracted and a closed one's is closed (a filing in
    review or sent back holds nothing)."""
    from ibms.procurement.models import ProcurementPlan

    out: list[str] = []
    filed = Contract.objects.filter(plan__isnull=False).exclude(status__in=[Contract.Status.PENDING,
                                                                           Contract.Status.REJECTED])
    for c in filed.select_related("plan").iterator():
        p = c.plan
        if p.contract_amount != c.amount or p.drawn != c.committed or c.paid > c.amount:
            out.append(f"合同 {c.number}：金额 {c.amount}/已申请 {c.committed}/已支付 {c.paid} 分，与采购计划 {p.number} "
                       f"合同金额 {p.contract_amount}/已支用 {p.drawn} 分不符")
        want = ProcurementPlan.Status.CONTRACTED if c.status == Contract.Status.ACTIVE else ProcurementPlan.Status.CLOSED
        if p.status != want:
            out.append(f"合同 {c.number}（{c.get_status_display()}）的采购计划 {p.number} 状态为 {p.get_status_display()}")
    return out


def voucher_source_link(event_id: str) -> tuple[str, str] | None:
    """The payment voucher behind an accounting event `pay:<region>:<number>` or `refund:<region>:<refund no>`
    (registered with `accounting.sources`): its label and page; the page checks the reader's scope."""
    from django.urls import reverse

    from .models import Refund

    kind, _, rest = event_id.partition(":")
    region, _, number = rest.partition(":")
    if kind == "pay":
        pk = PaymentVoucher.objects.filter(region_code=region, number=number).values_list("pk", flat=True).first()
        label = f"支付凭证 {number}"
    elif kind == "refund":
        pk = Refund.objects.filter(region_code=region, refund_no=number).values_list("voucher_id", flat=True).first()
        label = f"退款 {number} 的原支付凭证"
    else:
        return None
    return (label, reverse("treasury:voucher-detail", args=[pk])) if pk else None
