"""Carry-over (结转) and recall (结余) of the county 东川市青山区: the proposal by the rules, its refusals (year not
closing, next year missing, open reservations, wrong role, out of scope), line changes (carry ↔ recall, partial
splits, never more than unspent, never after executing), execution (next year's indicators from one 上年结转
document with lineage and flags, 收回 entries from one 收回 document, the old balances brought to zero, the
conservation check clean), reruns that change nothing, resumption after a stop between chunks, and the checklist
step."""

from __future__ import annotations

import pytest
from django.db import transaction

from ibms.closing import selectors
from ibms.closing.models import CarryLine, CarryRun, YearStep
from ibms.closing.services import Blocked, carryover, step_run
from ibms.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ibms.core.models import BusinessEvent, ChangeLog
from ibms.indicators import services as s
from ibms.indicators.ledger import indicator_reserve
from ibms.indicators.models import Indicator, IndicatorEntry, SourceDocument
from ibms.masterdata.models import FiscalYear
from ibms.projects.models import Project
from tests.closing.carry_builders import COUNTY, YEAR, closing, county_indicator, transfer_indicator
from tests.indicators.builders import doc, fresh

pytestmark = pytest.mark.django_db
E = IndicatorEntry.Kind


@pytest.fixture
def county(user):
    return user("county_budget")


@pytest.fixture
def ledger(county):
    """Three indicators of the county besides its transfer: plain (recalled), 直达 (carried), and a continuing
    特定目标类 project's (carried); then the year closes."""
    project = Project.objects.filter(region_code=COUNTY).first()
    plain = county_indicator(county, 300_00)
    track = county_indicator(county, 500_00, is_track=True, is_sanbao=True)
    inds = {"plain": plain, "track": track, "transfer": transfer_indicator()}
    if project is not None:
        Project.objects.filter(pk=project.pk).update(category="3", status="executing", end_year=YEAR + 1)
        inds["project"] = county_indicator(county, 700_00, project_id=project.pk, unit_code=project.unit.code)
    closing()
    return inds


def line_of(run: CarryRun, ind: Indicator) -> CarryLine:
    return CarryLine.objects.get(run=run, indicator=ind)


def codes(exc) -> list[str]:
    return [v.code for v in getattr(exc, "violations", [])] or [exc.code]


def test_propose_decides_every_unspent_indicator_by_the_rules(county, ledger):
    run = carryover.carry_run_propose(actor=county, region_code=COUNTY, year=YEAR)
    lines = {ln.indicator_id: ln for ln in run.lines.all()}
    expected = set(Indicator.objects.filter(region_code=COUNTY, year=YEAR, available__gt=0).values_list("pk", flat=True))
    assert set(lines) == expected
    plain, track, transfer = (lines[ledger[k].pk] for k in ("plain", "track", "transfer"))
    assert (plain.decision, plain.rule_code, plain.recall_amount) == ("recall", "OTHER", 300_00)
    assert (track.decision, track.rule_code, track.carry_amount) == ("carry", "TRACK", 500_00)
    assert (transfer.decision, transfer.rule_code) == ("carry", "TRANSFER_IN")
    assert transfer.carry_amount == fresh(ledger["transfer"]).available
    if "project" in ledger:
        assert lines[ledger["project"].pk].rule_code == "PROJECT_CONTINUES"
    assert plain.reason and track.reason and plain.proposed == "recall"
    assert run.total_unspent == sum(ln.unspent for ln in lines.values()) == run.total_carry + run.total_recall
    assert run.line_count == len(lines) and run.status == "proposed"


def test_propose_again_writes_nothing(county, ledger):
    carryover.carry_run_propose(actor=county, region_code=COUNTY, year=YEAR)
    counts = ChangeLog.objects.count(), BusinessEvent.objects.count()
    lines = list(CarryLine.objects.order_by("id").values())
    run = carryover.carry_run_propose(actor=county, region_code=COUNTY, year=YEAR)
    assert (ChangeLog.objects.count(), BusinessEvent.objects.count()) == counts
    assert list(CarryLine.objects.order_by("id").values()) == lines and run.line_count == len(lines)


def test_propose_refreshes_and_keeps_a_persons_change(county, ledger):
    run = carryover.carry_run_propose(actor=county, region_code=COUNTY, year=YEAR)
    carryover.carry_line_change(actor=county, line_id=line_of(run, ledger["plain"]).pk, decision="carry",
                                reason="续建工程尾款")
    s.indicator_decrease(actor=county, indicator_id=ledger["track"].pk, amount=100_00, doc=doc("追减"))
    run = carryover.carry_run_propose(actor=county, region_code=COUNTY, year=YEAR)
    assert line_of(run, ledger["plain"]).decision == "carry"  # kept: its balance did not move
    track = line_of(run, ledger["track"])
    assert (track.unspent, track.carry_amount) == (400_00, 400_00)
    assert run.total_unspent == run.total_carry + run.total_recall


def test_refused_unless_the_year_is_closing(county, ledger):
    FiscalYear.objects.filter(region_code=COUNTY, year=YEAR).update(status="executing")
    with pytest.raises(Conflict) as e:
        carryover.carry_run_propose(actor=county, region_code=COUNTY, year=YEAR)
    assert e.value.code == "year_not_closing"
    assert not CarryRun.objects.filter(region_code=COUNTY).exists()


def test_refused_without_next_year(county, ledger):
    FiscalYear.objects.filter(region_code=COUNTY, year=YEAR + 1).update(status="closed")
    with pytest.raises(Conflict) as e:
        carryover.carry_run_propose(actor=county, region_code=COUNTY, year=YEAR)
    assert e.value.code == "next_year_missing"
    assert not CarryRun.objects.filter(region_code=COUNTY).exists()


def test_refused_with_open_reservations_listed(county, ledger):
    FiscalYear.objects.filter(region_code=COUNTY, year=YEAR).update(status="executing")
    with transaction.atomic():
        indicator_reserve(actor=county, indicator_id=ledger["plain"].pk, amount=10_00, consumer="ZF-测试-1")
    closing()
    with pytest.raises(Conflict) as e:
        carryover.carry_run_propose(actor=county, region_code=COUNTY, year=YEAR)
    assert e.value.code == "reservations_open"
    assert [i["consumer"] for i in e.value.detail["items"]] == ["ZF-测试-1"]
    assert not CarryRun.objects.filter(region_code=COUNTY).exists()


def test_wrong_role_and_out_of_scope(county, ledger, user):
    run = carryover.carry_run_propose(actor=county, region_code=COUNTY, year=YEAR)
    line = line_of(run, ledger["plain"])
    treasury = user("county_treasury")
    for call in (lambda: carryover.carry_run_propose(actor=treasury, region_code=COUNTY, year=YEAR),
                 lambda: carryover.carry_line_change(actor=treasury, line_id=line.pk, decision="carry", reason="x"),
                 lambda: carryover.carry_run_execute(actor=treasury, run_id=run.pk)):
        with pytest.raises(PermissionDenied):
            call()
    province = user("fin_budget")
    with pytest.raises(PermissionDenied):
        carryover.carry_run_propose(actor=province, region_code=COUNTY, year=YEAR)
    with pytest.raises(NotFound):
        carryover.carry_line_change(actor=province, line_id=line.pk, decision="carry", reason="越权")
    with pytest.raises(NotFound):
        carryover.carry_run_execute(actor=province, run_id=run.pk)
    assert fresh_line(line).decision == "recall" and CarryRun.objects.get(pk=run.pk).status == "proposed"


def fresh_line(line: CarryLine) -> CarryLine:
    return CarryLine.objects.get(pk=line.pk)


def test_line_changes(county, ledger):
    run = carryover.carry_run_propose(actor=county, region_code=COUNTY, year=YEAR)
    track = line_of(run, ledger["track"])
    with pytest.raises(ValidationFailed) as e:
        carryover.carry_line_change(actor=county, line_id=track.pk, decision="recall")
    assert codes(e.value) == ["reason_required"]
    with pytest.raises(ValidationFailed) as e:
        carryover.carry_line_change(actor=county, line_id=track.pk, decision="carry", carry_amount=500_01,
                                    reason="多结转")
    assert codes(e.value) == ["carry_exceeds_unspent"]
    with pytest.raises(ValidationFailed) as e:
        carryover.carry_line_change(actor=county, line_id=track.pk, decision="sideways", reason="x")
    assert codes(e.value) == ["decision_invalid"]
    assert (fresh_line(track).carry_amount, fresh_line(track).changed_by_id) == (500_00, None)
    line = carryover.carry_line_change(actor=county, line_id=track.pk, decision="carry", carry_amount=200_00,
                                       reason="部分项目已完成")
    assert (line.carry_amount, line.recall_amount, line.changed_by_id, line.reason) == (
        200_00, 300_00, county.pk, "部分项目已完成")
    run.refresh_from_db()
    assert run.total_carry + run.total_recall == run.total_unspent
    assert BusinessEvent.objects.filter(code="closing.carry_line_changed", object_id=str(track.pk)).exists()
    back = carryover.carry_line_change(actor=county, line_id=track.pk, decision="carry")
    assert (back.carry_amount, back.recall_amount, back.changed_by_id) == (500_00, 0, None)


def test_execute_carries_recalls_and_is_conserved(county, ledger):
    run = carryover.carry_run_propose(actor=county, region_code=COUNTY, year=YEAR)
    plain_line = line_of(run, ledger["plain"])
    carryover.carry_line_change(actor=county, line_id=line_of(run, ledger["track"]).pk, decision="carry",
                                carry_amount=200_00, reason="部分完成")
    run = carryover.carry_run_execute(actor=county, run_id=run.pk)
    assert run.status == "executed" and run.done_count == run.line_count
    assert run.carry_source.kind == SourceDocument.Kind.CARRY_OVER and run.carry_source.year == YEAR + 1
    assert run.recall_source.kind == SourceDocument.Kind.RECALL and run.recall_source.year == YEAR
    for ln in run.lines.select_related("indicator", "new_indicator"):
        old = fresh(ln.indicator)
        assert old.available == 0 and ln.executed_at is not None
        if ln.carry_amount:
            new = ln.new_indicator
            assert (new.year, new.amount, new.parent_id, new.source_id) == (
                YEAR + 1, ln.carry_amount, old.pk, run.carry_source_id)
            assert (new.fund_nature_code, new.exp_func_code, new.unit_id, new.project_id, new.is_executable) == (
                old.fund_nature_code, old.exp_func_code, old.unit_id, old.project_id, old.is_executable)
            assert (new.is_track, new.is_sanbao, new.is_gov_pur) == (old.is_track, old.is_sanbao, old.is_gov_pur)
            assert new.parent.source.kind == old.source.kind  # the original document, reachable through the parent
        else:
            assert ln.new_indicator_id is None
        recalled = -sum(e.d_available for e in old.entries.filter(kind=E.RECALL, source=run.recall_source))
        assert recalled == ln.recall_amount
    track = line_of(run, ledger["track"])
    assert (track.carry_amount, track.recall_amount, track.new_indicator.amount) == (200_00, 300_00, 200_00)
    assert track.new_indicator.is_track and track.new_indicator.is_sanbao
    assert fresh(ledger["plain"]).amount == 0 and line_of(run, ledger["plain"]).pk == plain_line.pk
    assert selectors.carry_problems() == []
    entries = IndicatorEntry.objects.count()
    again = carryover.carry_run_execute(actor=county, run_id=run.pk)
    assert again.status == "executed" and IndicatorEntry.objects.count() == entries
    with pytest.raises(Conflict) as e:
        carryover.carry_run_propose(actor=county, region_code=COUNTY, year=YEAR)
    assert e.value.code == "carry_run_not_proposed"
    with pytest.raises(Conflict) as e:
        carryover.carry_line_change(actor=county, line_id=plain_line.pk, decision="carry", reason="晚了")
    assert e.value.code == "carry_run_not_proposed"


def test_resumes_after_a_stop_between_chunks(county, ledger):
    run = carryover.carry_run_propose(actor=county, region_code=COUNTY, year=YEAR)
    run = carryover.carry_run_execute(actor=county, run_id=run.pk, chunk=1, max_chunks=1)
    assert (run.status, run.done_count) == ("executing", 1)
    done = CarryLine.objects.get(run=run, executed_at__isnull=False)
    with pytest.raises(Conflict):
        carryover.carry_line_change(actor=county, line_id=done.pk, decision="carry", reason="x")
    run = carryover.carry_run_execute(actor=county, run_id=run.pk, chunk=1)
    assert run.status == "executed" and run.done_count == run.line_count
    for ln in run.lines.all():  # every line executed once: one 结转下年 or 收回 per part
        moves = IndicatorEntry.objects.filter(indicator_id=ln.indicator_id, kind__in=[E.CARRY_OUT, E.RECALL],
                                              source__in=[run.carry_source_id, run.recall_source_id])
        assert moves.count() == bool(ln.carry_amount) + bool(ln.recall_amount)
    assert selectors.carry_problems() == []


def test_stale_proposal_is_refused(county, ledger):
    run = carryover.carry_run_propose(actor=county, region_code=COUNTY, year=YEAR)
    s.indicator_decrease(actor=county, indicator_id=ledger["plain"].pk, amount=1_00, doc=doc("追减"))
    with pytest.raises(Conflict) as e:
        carryover.carry_run_execute(actor=county, run_id=run.pk)
    assert e.value.code == "proposal_stale"
    assert CarryRun.objects.get(pk=run.pk).status == "proposed" and fresh(ledger["track"]).available == 500_00


def test_checklist_step(county, ledger):
    with pytest.raises(Blocked):  # earlier steps pending
        step_run(actor=county, region_code=COUNTY, year=YEAR, step="carry_over")
    carryover.lifecycle.steps_ensure(COUNTY, YEAR)
    earlier = ["begin", "payments_settled", "reconciliation_clean", "periods_closed"]
    YearStep.objects.filter(region_code=COUNTY, year=YEAR, step__in=earlier).update(status="done")
    with pytest.raises(Blocked) as e:
        step_run(actor=county, region_code=COUNTY, year=YEAR, step="carry_over")
    assert "尚未生成" in e.value.items[0]["label"]
    run = carryover.carry_run_propose(actor=county, region_code=COUNTY, year=YEAR)
    carryover.carry_run_execute(actor=county, run_id=run.pk)  # completes the step: the earlier ones are done
    row = YearStep.objects.get(region_code=COUNTY, year=YEAR, step="carry_over")
    assert row.status == "done" and row.result["run"] == run.number


def test_execute_leaves_the_step_when_earlier_steps_are_pending(county, ledger):
    run = carryover.carry_run_propose(actor=county, region_code=COUNTY, year=YEAR)
    carryover.carry_run_execute(actor=county, run_id=run.pk)
    assert not YearStep.objects.filter(region_code=COUNTY, year=YEAR, step="carry_over", status="done").exists()
