"""Creation from source documents and every movement of the ledger: each one an immutable entry naming its
document, buckets equal to the journal, and every refusal leaving nothing behind."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from ibms.core import clock
from ibms.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ibms.core.models import ChangeLog
from ibms.indicators import services as s
from ibms.indicators.models import Indicator, IndicatorEntry, SourceDocument
from tests.constants import FUNC, FUND, PROVINCE

from .builders import YEAR, buckets, codes, create, doc, fresh, journal, one, unit

pytestmark = pytest.mark.django_db
K = SourceDocument.Kind


def counts() -> tuple[int, int, int]:
    return Indicator.objects.count(), IndicatorEntry.objects.count(), SourceDocument.objects.count()


class TestCreate:
    def test_reply_creates_indicators_with_their_document_and_entry(self, budget):
        inds = create(budget, 1_000_00, n=3, is_track=True, is_gov_pur=True)
        assert len(inds) == 3 and len({i.code for i in inds}) == 3
        for ind in inds:
            ind = fresh(ind)
            assert ind.code.startswith(f"{PROVINCE}{YEAR}") and len(ind.code) == 21
            assert ind.source.kind == K.BUDGET_REPLY and ind.source_type_code == "1" and ind.bgt_type_code == "21"
            assert ind.unit == unit("001001") and ind.department == unit("001") and ind.unit_path == unit("001001").path
            assert ind.is_track and ind.is_gov_pur and ind.is_executable
            assert buckets(ind) == {"amount": 1_000_00, "available": 1_000_00, "reserved": 0, "spent": 0,
                                    "frozen": 0, "allotted": 0} == journal(ind)
            [entry] = ind.entries.all()
            assert entry.kind == "create" and entry.source == ind.source and entry.doc_no == ind.source.doc_no
            assert entry.actor == budget
        # consecutive, gap-free serials within the region and year
        serials = sorted(int(i.code[-8:]) for i in inds)
        assert serials == list(range(serials[0], serials[0] + 3))
        assert ChangeLog.objects.filter(object_type="indicators.indicator", object_id=str(inds[0].pk)).exists()

    def test_no_indicator_without_a_creating_document(self, budget):
        with transaction.atomic():
            src = s.source_document_create(actor=budget, region_code=PROVINCE, year=YEAR, kind=K.REDUCTION,
                                           doc_no="追减〔1〕号", title="追减", doc_date=clock.today())
        with pytest.raises(ValidationFailed) as e:
            s.indicators_create(actor=budget, source=src, specs=[s.IndicatorSpec(100, FUND, FUNC, is_executable=False)])
        assert codes(e.value) == ["source_cannot_create"]
        with pytest.raises(ValidationFailed) as e:
            s.indicators_create(actor=budget, source=None, specs=[s.IndicatorSpec(100, FUND, FUNC)])
        assert codes(e.value) == ["source_required"]

    def test_bad_specs_are_all_named_and_nothing_is_saved(self, budget):
        d = doc()
        with transaction.atomic():
            src = s.source_document_create(actor=budget, region_code=PROVINCE, year=YEAR, kind=K.BUDGET_REPLY,
                                           doc_no=d.doc_no, title=d.title, doc_date=clock.today())
        before = counts()
        county_unit = unit("001001", "990102000")
        specs = [s.IndicatorSpec(100, FUND, FUNC, unit_id=unit("001001").pk),  # fine
                 s.IndicatorSpec(0, FUND, FUNC, unit_id=unit("001001").pk),  # zero
                 s.IndicatorSpec(100, FUND, "20502", unit_id=unit("001001").pk),  # not a leaf
                 s.IndicatorSpec(100, FUND, "9999999", unit_id=unit("001001").pk),  # unknown
                 s.IndicatorSpec(100, FUND, FUNC, unit_id=county_unit.pk),  # another region's unit
                 s.IndicatorSpec(100, FUND, FUNC)]  # executable without a unit
        with pytest.raises(ValidationFailed) as e:
            s.indicators_create(actor=budget, source=src, specs=specs)
        assert codes(e.value) == ["amount_not_positive", "classification_not_leaf", "classification_unknown",
                                  "unit_unknown", "unit_required"]
        assert "第2行" in e.value.message and "第6行" in e.value.message
        assert counts() == before

    def test_document_numbers_are_unique_per_region(self, budget):
        d = doc()
        with transaction.atomic():
            s.source_document_create(actor=budget, region_code=PROVINCE, year=YEAR, kind=K.BUDGET_REPLY,
                                     doc_no=d.doc_no, title=d.title, doc_date=clock.today())
        with pytest.raises(ValidationFailed) as e:
            s.source_document_create(actor=budget, region_code=PROVINCE, year=YEAR, kind=K.SUPPLEMENT,
                                     doc_no=d.doc_no, title="又一个", doc_date=clock.today())
        assert codes(e.value) == ["doc_no_taken"]

    def test_only_the_budget_division_of_the_region_creates(self, user, budget):
        with pytest.raises(PermissionDenied):
            create(user("school_clerk"), 100)
        with pytest.raises(PermissionDenied) as e:  # an upper level reads lower regions, never writes there
            create(budget, 100, region="990102000", unit_code="001001")
        assert e.value.code == "scope_region"

    def test_entries_are_immutable(self, budget):
        ind = one(budget, 500)
        entry = ind.entries.get()
        with pytest.raises(TypeError):
            entry.save()
        with pytest.raises(TypeError):
            IndicatorEntry.objects.filter(pk=entry.pk).update(memo="x")
        with pytest.raises(TypeError):
            entry.delete()

    def test_database_refuses_a_negative_or_unbalanced_row(self, budget):
        ind = one(budget, 500)
        with pytest.raises(IntegrityError), transaction.atomic():
            Indicator.objects.filter(pk=ind.pk).update(available=-1, amount=499)
        with pytest.raises(IntegrityError), transaction.atomic():
            Indicator.objects.filter(pk=ind.pk).update(available=400)


class TestMovements:
    def test_distribute_unallocated_to_units(self, budget):
        pool = one(budget, 10_000, unit_code=None, is_track=True, is_sanbao=True)
        assert not pool.is_executable and pool.unit is None and pool.unit_path == ""
        kids = s.indicator_distribute(actor=budget, indicator_id=pool.pk, doc=doc("分配"), splits=[
            s.Split(unit_id=unit("001001").pk, amount=6_000),
            s.Split(unit_id=unit("002001").pk, amount=3_000, dep_eco_code="30202")])
        assert [k.amount for k in kids] == [6_000, 3_000]
        for k in kids:
            k = fresh(k)
            assert k.parent_id == pool.pk and k.is_executable and k.is_track and k.is_sanbao
            assert k.source.kind == K.ALLOT and k.fund_nature_code == pool.fund_nature_code
            assert buckets(k) == journal(k)
            assert k.entries.get().counterpart_id == pool.pk
        assert fresh(kids[1]).dep_eco_code == "30202" and fresh(kids[1]).department == unit("002")
        assert buckets(pool) == {**buckets(pool), "amount": 10_000, "available": 1_000, "allotted": 9_000}
        assert buckets(pool) == journal(pool)
        outs = list(pool.entries.filter(kind="distribute_out").order_by("id"))
        assert [(e.d_available, e.d_allotted, e.counterpart_id) for e in outs] == [
            (-6_000, 6_000, kids[0].pk), (-3_000, 3_000, kids[1].pk)]

    def test_distribute_refusals(self, budget):
        pool = one(budget, 1_000, unit_code=None)
        executable = one(budget, 1_000)
        before = counts()
        with pytest.raises(Conflict) as e:
            s.indicator_distribute(actor=budget, indicator_id=pool.pk, doc=doc(), splits=[
                s.Split(unit_id=unit("001001").pk, amount=600), s.Split(unit_id=unit("001002").pk, amount=401)])
        assert e.value.code == "overdraw"
        with pytest.raises(ValidationFailed) as e:
            s.indicator_distribute(actor=budget, indicator_id=executable.pk, doc=doc(),
                                   splits=[s.Split(unit_id=unit("001001").pk, amount=1)])
        assert codes(e.value) == ["not_unallocated"]
        with pytest.raises(ValidationFailed) as e:
            s.indicator_distribute(actor=budget, indicator_id=pool.pk, doc=doc(), splits=[
                s.Split(unit_id=unit("001001", "990102000").pk, amount=1)])
        assert codes(e.value) == ["unit_unknown"]
        assert counts() == before and buckets(pool)["available"] == 1_000

    def test_increase_decrease_adjust(self, budget):
        ind = one(budget, 1_000)
        s.indicator_increase(actor=budget, indicator_id=ind.pk, amount=500, doc=doc("追加"))
        s.indicator_increase(actor=budget, indicator_id=ind.pk, amount=200, doc=doc("预备费"), kind=K.RESERVE_FUND)
        s.indicator_decrease(actor=budget, indicator_id=ind.pk, amount=300, doc=doc("追减"))
        adj = s.indicator_adjust(actor=budget, indicator_id=ind.pk, delta=-100, doc=doc("调整", adj_batch_no="2026-1"))
        assert adj.adj_batch_no == "2026-1" and adj.source.kind == K.ADJUSTMENT
        assert buckets(ind)["amount"] == buckets(ind)["available"] == 1_300
        assert buckets(ind) == journal(ind)
        kinds = list(ind.entries.order_by("id").values_list("kind", "source__kind"))
        assert kinds == [("create", "budget_reply"), ("increase", "supplement"), ("increase", "reserve_fund"),
                         ("decrease", "reduction"), ("adjust", "adjustment")]
        assert all(e.source_id and e.doc_no == e.source.doc_no for e in ind.entries.all())

    def test_one_document_covers_several_movements_but_only_of_its_kind(self, budget):
        a, b = create(budget, 1_000, n=2)
        d = doc("追加")
        s.indicator_increase(actor=budget, indicator_id=a.pk, amount=1, doc=d)
        s.indicator_increase(actor=budget, indicator_id=b.pk, amount=1, doc=d)
        assert SourceDocument.objects.filter(doc_no=d.doc_no).count() == 1
        with pytest.raises(ValidationFailed) as e:
            s.indicator_decrease(actor=budget, indicator_id=a.pk, amount=1, doc=d)
        assert codes(e.value) == ["doc_kind_mismatch"]

    def test_adjustment_needs_its_batch_number(self, budget):
        ind = one(budget, 1_000)
        with pytest.raises(ValidationFailed) as e:
            s.indicator_adjust(actor=budget, indicator_id=ind.pk, delta=100, doc=doc("调整"))
        assert codes(e.value) == ["adj_batch_required"]

    def test_decrease_cannot_overdraw(self, budget):
        ind = one(budget, 1_000)
        s.indicator_freeze(actor=budget, indicator_id=ind.pk, amount=600, doc=doc("冻结"), reason="政府采购")
        before = counts()
        with pytest.raises(Conflict) as e:
            s.indicator_decrease(actor=budget, indicator_id=ind.pk, amount=401, doc=doc("追减"))
        assert e.value.code == "overdraw" and "可用余额不足" in e.value.message
        with pytest.raises(Conflict) as e:
            s.indicator_adjust(actor=budget, indicator_id=ind.pk, delta=-401, doc=doc("调整", adj_batch_no="B"))
        assert e.value.code == "overdraw"
        assert counts()[:2] == before[:2] and buckets(ind)["available"] == 400

    def test_freeze_unfreeze(self, budget):
        ind = one(budget, 1_000)
        s.indicator_freeze(actor=budget, indicator_id=ind.pk, amount=700, doc=doc("冻结"), reason="采购冻结")
        assert (buckets(ind)["available"], buckets(ind)["frozen"]) == (300, 700)
        with pytest.raises(Conflict) as e:
            s.indicator_freeze(actor=budget, indicator_id=ind.pk, amount=301, doc=doc("冻结"))
        assert e.value.code == "overdraw"
        s.indicator_unfreeze(actor=budget, indicator_id=ind.pk, amount=200, doc=doc("解冻"))
        with pytest.raises(Conflict) as e:
            s.indicator_unfreeze(actor=budget, indicator_id=ind.pk, amount=501, doc=doc("解冻"))
        assert e.value.code == "unfreeze_exceeds"
        assert buckets(ind) == {**buckets(ind), "available": 500, "frozen": 500, "amount": 1_000} == journal(ind)

    def test_sangong_cannot_be_increased(self, budget):
        ind = one(budget, 1_000, dep_eco_code="30217")  # 公务接待费: 三公 by its class
        assert ind.is_sangong
        with pytest.raises(ValidationFailed) as e:
            s.indicator_increase(actor=budget, indicator_id=ind.pk, amount=1, doc=doc())
        assert codes(e.value) == ["sangong_increase"]
        s.indicator_decrease(actor=budget, indicator_id=ind.pk, amount=1, doc=doc("追减"))
        assert buckets(ind)["amount"] == 999

    def test_recall_goes_back_to_the_pool_it_came_from(self, budget):
        pool = one(budget, 1_000, unit_code=None)
        [kid] = s.indicator_distribute(actor=budget, indicator_id=pool.pk, doc=doc(),
                                       splits=[s.Split(unit_id=unit("001001").pk, amount=800)])
        s.indicator_recall(actor=budget, indicator_id=kid.pk, amount=300, doc=doc("收回"))
        assert buckets(kid) == {**buckets(kid), "amount": 500, "available": 500} == journal(kid)
        assert buckets(pool) == {**buckets(pool), "amount": 1_000, "available": 500, "allotted": 500} == journal(pool)
        out, back = kid.entries.get(kind="recall"), pool.entries.get(kind="recall_in")
        assert out.counterpart_id == pool.pk and back.counterpart_id == kid.pk and out.source_id == back.source_id
        assert out.d_available + back.d_available == 0  # the pair nets to zero in usable money

    def test_recall_of_a_reply_indicator_returns_to_finance(self, budget):
        ind = one(budget, 1_000)
        s.indicator_recall(actor=budget, indicator_id=ind.pk, amount=1_000, doc=doc("收回"))
        assert buckets(ind) == {**buckets(ind), "amount": 0, "available": 0} == journal(ind)
        with pytest.raises(Conflict) as e:
            s.indicator_recall(actor=budget, indicator_id=ind.pk, amount=1, doc=doc("收回"))
        assert e.value.code == "overdraw"

    def test_carry_over_to_next_year(self, budget):
        ind = one(budget, 1_000, is_track=True, is_gov_pur=True)
        s.indicator_freeze(actor=budget, indicator_id=ind.pk, amount=100, doc=doc("冻结"))
        [new] = s.indicator_carry_over(actor=budget, indicator_ids=[ind.pk], doc=doc("结转"))
        new = fresh(new)
        assert new.year == YEAR + 1 and new.parent_id == ind.pk and new.source.kind == K.CARRY_OVER
        assert new.source.year == YEAR + 1 and new.is_track and new.is_gov_pur and new.unit_id == ind.unit_id
        assert new.source_type_code == "7" and new.bgt_type_code == "22"
        assert new.amount == 900 and buckets(new) == journal(new)
        assert buckets(ind) == {**buckets(ind), "available": 0, "frozen": 100, "allotted": 900} == journal(ind)
        with pytest.raises(ValidationFailed) as e:
            s.indicator_carry_over(actor=budget, indicator_ids=[ind.pk], doc=doc("结转"))
        assert codes(e.value) == ["nothing_to_carry"]

    def test_movements_out_of_scope_are_not_found(self, user, budget):
        ind = one(budget, 1_000)
        for who, error, code in (("county_budget", NotFound, "not_found"),  # another region's: out of scope
                                 ("fin_sector", PermissionDenied, "permission_denied")):  # may not change indicators
            with pytest.raises(error) as e:
                s.indicator_increase(actor=user(who), indicator_id=ind.pk, amount=1, doc=doc())
            assert type(e.value) is error and e.value.code == code
        with pytest.raises(NotFound):
            s.indicator_decrease(actor=user("county_budget"), indicator_id=ind.pk, amount=1, doc=doc())
        assert buckets(ind)["amount"] == 1_000

    def test_amounts_must_be_positive_integers(self, budget):
        ind = one(budget, 1_000)
        for bad in (0, -5, 1.5, True):
            with pytest.raises(ValidationFailed) as e:
                s.indicator_increase(actor=budget, indicator_id=ind.pk, amount=bad, doc=doc())
            assert codes(e.value) == ["amount_not_positive"]
