"""Browser: the county's budget division (青山区预算股, `county_budget`) opens its year-end proposal, changes a line
from 结转 to 结余, executes (confirming), and then finds its carried transfer indicator in the new year's
indicator list (source 上年结转)."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from ibms.closing.models import CarryLine, CarryRun
from ibms.iam.models import User
from tests.closing.carry_builders import COUNTY, YEAR, closing, county_indicator, transfer_indicator

pytestmark = pytest.mark.django_db(transaction=True)


def test_county_reviews_changes_and_executes(page, login):
    county = User.objects.get(username="county_budget")
    track = county_indicator(county, 500_00, is_track=True)  # 直达资金: the rules carry it
    closing()
    transfer = transfer_indicator()
    login("county_budget")
    page.goto(f"/closing/carry/?region={COUNTY}&year={YEAR}")
    page.click("#carry-propose button")
    page.wait_for_selector("#carry-lines")
    line = CarryLine.objects.get(indicator=track)
    row = f"#carry-line-{line.pk}"
    assert page.get_attribute(row, "data-decision") == "carry"
    page.select_option(f"{row} select[name=decision]", "recall")
    page.fill(f"{row} input[name=reason]", "项目已完成，结余收回")
    page.click(f"{row} button[type=submit]")
    page.wait_for_selector(f"{row}[data-decision=recall]")
    assert CarryLine.objects.get(pk=line.pk).decision == "recall"
    page.once("dialog", lambda d: d.accept())
    page.click("#carry-execute button")
    page.wait_for_selector("#carry-progress[data-status=executing]")  # the worker executes it; the page polls
    call_command("worker", "--once")
    page.wait_for_selector("#carry-progress[data-status=executed]")
    run = CarryRun.objects.get(region_code=COUNTY, year=YEAR)
    assert run.status == "executed"
    new = CarryLine.objects.get(run=run, indicator=transfer).new_indicator
    assert new is not None and new.year == YEAR + 1
    page.click(f"a.new-indicator[href='/indicators/{new.pk}/']")
    page.wait_for_url(f"**/indicators/{new.pk}/")
    page.goto(f"/indicators/?year={YEAR + 1}&source_kind=carry_over")
    table = page.inner_text("#table-indicators")
    assert new.code in table and track.code not in table
