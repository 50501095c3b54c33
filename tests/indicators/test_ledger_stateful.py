"""Property test of the ledger (hypothesis, stateful): random sequences of movements — distribute, increase,
decrease, adjust, freeze/unfreeze, recall, 调剂, transfer allotment, reserve/post/void/restore — run through the
real services and, side by side, through a plain-Python model of the ledger written here from the rules.
After every step: the same accept/refuse decision (with the same codes), the same balances, every cached
bucket equal to the sum of its entries, and nothing negative."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ibms.core import clock
from ibms.core.errors import DomainError
from ibms.indicators import services as s
from ibms.indicators.models import Indicator, IndicatorEntry
from tests.constants import COUNTY, FUNC, PROVINCE

from .builders import YEAR

pytestmark = pytest.mark.django_db
BUCKETS = ("available", "reserved", "spent", "frozen", "allotted")
_docs = itertools.count(1)
_consumers = itertools.count(1)


def doc() -> s.Doc:
    return s.Doc(f"性质测试〔{YEAR}〕{next(_docs)}号", "性质测试文件")


# --- the model: plain Python, no imports from the code under test ---------------------------------------------------

@dataclass
class M:
    """One indicator as the model sees it."""

    fund: str
    executable: bool
    sangong: bool = False
    personnel: bool = False
    track: bool = False
    parent: int | None = None  # model key
    distributed: bool = False  # created by 分配 (recall goes back to the parent)
    b: dict = field(default_factory=lambda: dict.fromkeys(("amount", *BUCKETS), 0))

    def move(self, **d) -> str | None:
        new = {k: self.b[k] + d.get(k, 0) for k in BUCKETS}
        for k, code in (("available", "overdraw"), ("reserved", "reserved_exceeds"), ("spent", "restore_exceeds"),
                        ("frozen", "unfreeze_exceeds"), ("allotted", "allotted_exceeds")):
            if new[k] < 0:
                return code
        self.b.update(new)
        self.b["amount"] = sum(new.values())
        return None


@dataclass
class R:
    key: int  # model key of the indicator
    amount: int
    status: str = "reserved"
    restored: int = 0


class Ledger(RuleBasedStateMachine):
    budget = deputy = units = None  # set by the test

    def __init__(self):
        super().__init__()
        self.sid = transaction.savepoint()
        self.model: dict[int, M] = {}  # key = the indicator's database id
        self.res: dict[str, R] = {}

    def teardown(self):
        transaction.savepoint_rollback(self.sid)

    # --- helpers ---------------------------------------------------------------------------------------------

    def run(self, expected: str | set[str] | None, call, apply=None):
        """Run the real service; compare its decision with the model's; apply the model on acceptance."""
        try:
            result = call()
        except DomainError as exc:
            got = {v.code for v in getattr(exc, "violations", [])} or {exc.code}
            want = expected if isinstance(expected, set) else {expected}
            assert expected is not None, f"service refused {got} where the model accepts"
            assert got == want, f"refused with {got}, model says {want}"
            return None
        assert expected is None, f"service accepted where the model refuses with {expected}"
        if apply is not None:
            apply(result)
        return result

    def add(self, pk: int, m: M, amount: int) -> None:
        """A new indicator: all of its amount available."""
        m.b = {**dict.fromkeys(("amount", *BUCKETS), 0), "amount": amount, "available": amount}
        self.model[pk] = m

    def pick(self, data, pred=lambda m: True) -> int:
        keys = sorted(k for k, m in self.model.items() if pred(m))
        return data.draw(st.sampled_from(keys))

    # --- set-up ------------------------------------------------------------------------------------------------

    @initialize(amounts=st.lists(st.integers(500, 5_000), min_size=6, max_size=6))
    def setup(self, amounts):
        d = doc()
        src = s.source_document_create(actor=self.budget, region_code=PROVINCE, year=YEAR, kind="budget_reply",
                                       doc_no=d.doc_no, title=d.title, doc_date=clock.today())
        u = self.units
        plan = [  # spec fields, model
            ({"is_executable": False}, M("111", False)),
            ({"unit_id": u[0], "is_track": True}, M("111", True, track=True)),
            ({"unit_id": u[1]}, M("111", True)),
            ({"unit_id": u[2], "fund_nature_code": "121"}, M("121", True)),
            ({"unit_id": u[0], "is_sangong": True, "dep_eco_code": "30217"}, M("111", True, sangong=True)),
            ({"unit_id": u[1], "dep_eco_code": "30101"}, M("111", True, personnel=True)),
        ]
        specs = [s.IndicatorSpec(**{"amount": a, "fund_nature_code": "111", "exp_func_code": FUNC,
                                    "dep_eco_code": "30201", **kw}) for a, (kw, _) in zip(amounts, plan, strict=True)]
        created = s.indicators_create(actor=self.budget, source=src, specs=specs)
        for ind, (_, m), amount in zip(created, plan, amounts, strict=True):
            self.add(ind.pk, m, amount)

    # --- movements ---------------------------------------------------------------------------------------------

    @rule(data=st.data(), amount=st.integers(1, 3_000))
    def distribute(self, data, amount):
        key = self.pick(data)
        m = self.model[key]
        expected = "not_unallocated" if m.executable else ("overdraw" if amount > m.b["available"] else None)

        def apply(kids):
            m.move(available=-amount, allotted=amount)
            child = M(m.fund, True, m.sangong, m.personnel, m.track, parent=key, distributed=True)
            self.add(kids[0].pk, child, amount)

        self.run(expected, lambda: s.indicator_distribute(actor=self.budget, indicator_id=key, doc=doc(),
                                                          splits=[s.Split(unit_id=self.units[2], amount=amount)]),
                 apply)

    @rule(data=st.data(), amount=st.integers(1, 2_000))
    def increase(self, data, amount):
        m = self.model[key := self.pick(data)]
        self.run("sangong_increase" if m.sangong else None,
                 lambda: s.indicator_increase(actor=self.budget, indicator_id=key, amount=amount, doc=doc()),
                 lambda _: m.move(available=amount))

    @rule(data=st.data(), amount=st.integers(1, 3_000))
    def decrease(self, data, amount):
        m = self.model[key := self.pick(data)]
        self.run("overdraw" if amount > m.b["available"] else None,
                 lambda: s.indicator_decrease(actor=self.budget, indicator_id=key, amount=amount, doc=doc()),
                 lambda _: m.move(available=-amount))

    @rule(data=st.data(), delta=st.integers(-3_000, 3_000).filter(bool))
    def adjust(self, data, delta):
        m = self.model[key := self.pick(data)]
        d = s.Doc(doc().doc_no, "调整", adj_batch_no="B1")
        self.run("overdraw" if -delta > m.b["available"] else None,
                 lambda: s.indicator_adjust(actor=self.budget, indicator_id=key, delta=delta, doc=d),
                 lambda _: m.move(available=delta))

    @rule(data=st.data(), amount=st.integers(1, 3_000), freeze=st.booleans())
    def hold(self, data, amount, freeze):
        m = self.model[key := self.pick(data)]
        if freeze:
            self.run("overdraw" if amount > m.b["available"] else None,
                     lambda: s.indicator_freeze(actor=self.budget, indicator_id=key, amount=amount, doc=doc()),
                     lambda _: m.move(available=-amount, frozen=amount))
        else:
            self.run("unfreeze_exceeds" if amount > m.b["frozen"] else None,
                     lambda: s.indicator_unfreeze(actor=self.budget, indicator_id=key, amount=amount, doc=doc()),
                     lambda _: m.move(available=amount, frozen=-amount))

    @rule(data=st.data(), amount=st.integers(1, 3_000))
    def recall(self, data, amount):
        m = self.model[key := self.pick(data)]
        parent = self.model[m.parent] if m.distributed and m.parent is not None else None
        if parent is not None and parent.b["allotted"] < amount:
            parent = None

        def apply(_):
            m.move(available=-amount)
            if parent is not None:
                parent.move(allotted=-amount, available=amount)

        self.run("overdraw" if amount > m.b["available"] else None,
                 lambda: s.indicator_recall(actor=self.budget, indicator_id=key, amount=amount, doc=doc()), apply)

    @rule(data=st.data(), amount=st.integers(1, 3_000), to_new=st.booleans())
    def reallocate(self, data, amount, to_new):
        out_key = self.pick(data)
        out = self.model[out_key]
        v: set[str] = set()
        if to_new:
            in_key, inn = None, None
            line = s.ReallocIn(amount, unit_id=self.units[2])
            if out.sangong:  # the new indicator takes the out-indicator's class: 三公, which never receives
                v.add("sangong_increase")
        else:
            in_key = self.pick(data)
            inn = self.model[in_key]
            line = s.ReallocIn(amount, indicator_id=in_key)
            if in_key == out_key:
                v.add("same_indicator")
            if inn.fund != out.fund:
                v.add("cross_fund_nature")
            if inn.sangong:
                v.add("sangong_increase")
            if out.personnel and not inn.personnel:
                v.add("personnel_out")
            if out.track and not inn.track:
                v.add("track_flag_lost")
        if amount > out.b["available"]:
            v.add("overdraw")

        def call():
            r = s.reallocation_submit(actor=self.budget, reason="性质测试", outs=[(out_key, amount)], ins=[line])
            return s.reallocation_review(actor=self.deputy, pk=r.pk, approve=True)

        def apply(r):
            out.move(available=-amount)
            if inn is not None:
                inn.move(available=amount)
            else:
                new = r.lines.get(direction="in").result
                self.add(new.pk, M(out.fund, True, False, out.personnel, out.track, parent=out_key), amount)

        self.run(v or None, call, apply)

    @rule(data=st.data(), amount=st.integers(1, 3_000))
    def transfer(self, data, amount):
        m = self.model[key := self.pick(data)]
        self.run("overdraw" if amount > m.b["available"] else None,
                 lambda: s.transfer_allot(actor=self.budget, indicator_id=key, rec_region_code=COUNTY, amount=amount,
                                          doc=doc()),
                 lambda _: m.move(available=-amount, allotted=amount))

    # --- payments ----------------------------------------------------------------------------------------------

    @rule(data=st.data(), amount=st.integers(1, 3_000), reuse=st.booleans())
    def reserve(self, data, amount, reuse):
        key = self.pick(data)
        m = self.model[key]
        if reuse and self.res:
            consumer = data.draw(st.sampled_from(sorted(self.res)))
            amount = data.draw(st.sampled_from([amount, self.res[consumer].amount]))
        else:
            consumer = f"prop:{next(_consumers)}"
        old = self.res.get(consumer)
        if old is not None:
            expected = None if (old.key, old.amount) == (key, amount) else "consumer_mismatch"
        elif not m.executable:
            expected = "not_executable"
        else:
            expected = "overdraw" if amount > m.b["available"] else None

        def apply(_):
            if old is None:
                m.move(available=-amount, reserved=amount)
                self.res[consumer] = R(key, amount)

        self.run(expected, lambda: s.indicator_reserve(actor=self.budget, indicator_id=key, amount=amount,
                                                       consumer=consumer), apply)

    @precondition(lambda self: self.res)
    @rule(data=st.data(), post=st.booleans())
    def settle(self, data, post):
        consumer = data.draw(st.sampled_from(sorted(self.res)))
        r = self.res[consumer]
        m = self.model[r.key]
        expected = {"posted": "already_posted", "voided": "already_voided"}.get(r.status)

        def apply(_):
            if post:
                m.move(reserved=-r.amount, spent=r.amount)
                r.status = "posted"
            else:
                m.move(reserved=-r.amount, available=r.amount)
                r.status = "voided"

        call = s.reservation_post if post else s.reservation_void
        self.run(expected, lambda: call(actor=self.budget, consumer=consumer), apply)

    @precondition(lambda self: self.res)
    @rule(data=st.data(), amount=st.integers(1, 2_000))
    def restore(self, data, amount):
        consumer = data.draw(st.sampled_from(sorted(self.res)))
        r = self.res[consumer]
        m = self.model[r.key]
        if r.status != "posted":
            expected = "not_posted"
        else:
            expected = "restore_exceeds" if r.restored + amount > r.amount else None

        def apply(_):
            m.move(spent=-amount, available=amount)
            r.restored += amount

        self.run(expected, lambda: s.indicator_restore(actor=self.budget, consumer=consumer, amount=amount), apply)

    # --- the invariants ------------------------------------------------------------------------------------------

    @invariant()
    def balances(self):
        if not self.model:
            return
        ids = list(self.model)
        cached = {i["id"]: i for i in Indicator.objects.filter(pk__in=ids).values("id", "amount", *BUCKETS)}
        sums = {e["indicator_id"]: e for e in IndicatorEntry.objects.filter(indicator_id__in=ids)
                .values("indicator_id").annotate(amount=Sum("d_amount"), **{b: Sum(f"d_{b}") for b in BUCKETS})}
        for pk, m in self.model.items():
            row = cached[pk]
            journal = sums.get(pk, {})
            for b in ("amount", *BUCKETS):
                assert row[b] >= 0, f"indicator {pk}: {b} negative"
                assert row[b] == (journal.get(b) or 0), f"indicator {pk}: cached {b} != its entries"
                assert row[b] == m.b[b], f"indicator {pk}: {b} {row[b]} != model {m.b[b]}"
        for consumer, r in self.res.items():
            assert self.model[r.key].b["reserved"] >= 0, consumer


def test_ledger_matches_the_model(user):
    from ibms.masterdata.models import Unit

    Ledger.budget, Ledger.deputy = user("fin_budget"), user("fin_budget_deputy")
    Ledger.units = [Unit.objects.get(region_code=PROVINCE, code=c).pk for c in ("001001", "002001", "001002")]
    run_state_machine_as_test(Ledger, settings=settings(
        max_examples=30, stateful_step_count=30, deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]))
