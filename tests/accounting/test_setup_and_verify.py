"""Charts and posting rules loaded from data (idempotent, versioned by year), the demo books, and the
`accounting.balanced` invariant check of `ibms verify`."""

from __future__ import annotations

import csv
import shutil

from django.db import connection

from ibms.accounting import charts, selectors
from ibms.accounting.models import (
    AccountSet,
    ChartAccount,
    ChartTemplate,
    PostingRule,
    PostingRuleLine,
    Voucher,
    VoucherLine,
)
from ibms.accounting.setup import setup_app
from ibms.core import clock, verify
from ibms.core.models import ChangeLog
from ibms.masterdata.models import Region, Unit
from tests.constants import PROVINCE

from .builders import post


def test_charts_are_loaded_for_both_working_years(db):
    year = clock.fiscal_year()
    for y in (year, year + 1):
        unit = ChartTemplate.objects.get(kind="unit", year=y)
        fiscal = ChartTemplate.objects.get(kind="fiscal", year=y)
        assert unit.accounts.filter(level=1).count() == 104
        assert fiscal.accounts.count() == 59
    acc = {a.code: a for a in ChartTemplate.objects.get(kind="unit", year=year).accounts.all()}
    assert (acc["1011"].basis, acc["1011"].balance_side, acc["1011"].is_leaf) == ("financial", "debit", True)
    assert (acc["1602"].balance_side, acc["6001"].basis, acc["8101"].balance_side) == ("credit", "budget", "credit")
    assert acc["4001"].is_leaf is False and acc["4001.01"].is_leaf is True and acc["4001.01"].parent_code == "4001"
    assert acc["7201.01"].aux_dims == ["exp_func", "dep_eco", "fund_nature"]
    assert acc["8101.06"].name == "本年收支结转" and acc["8101.06"].category == "预算结余类"
    fiscal = {a.code: a for a in ChartTemplate.objects.get(kind="fiscal", year=year).accounts.all()}
    assert (fiscal["1001"].balance_side, fiscal["2011"].balance_side, fiscal["5001"].balance_side) == (
        "debit", "credit", "debit")
    assert {a.basis for a in fiscal.values()} == {"financial"}


def test_rules_match_the_data_files(db):
    year = clock.fiscal_year()
    rules, lines = charts.rule_rows()
    assert PostingRule.objects.filter(year=year).count() == len(rules)
    assert PostingRuleLine.objects.filter(rule__year=year).count() == sum(len(v) for v in lines.values())
    assert all(charts.rule_text_check(r, lines.get(r["code"], [])) == [] for r in rules)
    event_types = set(PostingRule.objects.filter(year=year).values_list("event_type", flat=True))
    assert {"quota.received", "payment.receipted", "payment.refunded", "payroll.accrued", "payroll.withheld",
            "payroll.paid", "payroll.remitted", "asset.purchased", "asset.depreciated", "year_end.direct_unspent",
            "year_end.quota_cancelled", "year_end.quota_unissued", "year_end.quota_restored", "treasury.paid",
            "treasury.revenue", "treasury.transfer_to_lower", "treasury.advance",
            "treasury.year_end_unspent"} <= event_types


def test_setup_is_idempotent(db):
    year = clock.fiscal_year()
    before = (ChartAccount.objects.count(), PostingRule.objects.count(), PostingRuleLine.objects.count(),
              ChangeLog.objects.count())
    setup_app([year, year + 1])
    assert (ChartAccount.objects.count(), PostingRule.objects.count(), PostingRuleLine.objects.count(),
            ChangeLog.objects.count()) == before


def test_rules_are_versioned_by_year(db, settings, tmp_path):
    """A rule changed in the file from a given year applies to that year only; earlier years keep theirs."""
    shutil.copytree(settings.DATA_DIR, tmp_path / "data")
    settings.DATA_DIR = tmp_path / "data"
    path = tmp_path / "data" / "accounting" / "posting_rules.csv"
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    fields = list(rows[0])
    out = []
    for r in rows:
        if r["code"] == "asset.depreciated":
            out.append({**r, "valid_to": "2029"})
            out.append({**r, "code": "asset.depreciated.2030", "valid_from": "2030", "summary": "新制度折旧"})
        else:
            out.append(r)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        w.writerows(out)
    lines_path = tmp_path / "data" / "accounting" / "posting_rule_lines.csv"
    with open(lines_path, encoding="utf-8", newline="") as fh:
        lrows = list(csv.DictReader(fh))
    lrows += [{**r, "rule_code": "asset.depreciated.2030"} for r in lrows if r["rule_code"] == "asset.depreciated"]
    with open(lines_path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(lrows[0]))
        w.writeheader()
        w.writerows(lrows)
    charts.load_rules(2029)
    charts.load_rules(2030)
    assert set(PostingRule.objects.filter(year=2029, event_type="asset.depreciated").values_list("code", flat=True)) \
        == {"asset.depreciated"}
    assert set(PostingRule.objects.filter(year=2030, event_type="asset.depreciated").values_list("code", flat=True)) \
        == {"asset.depreciated.2030"}


def test_demo_books_cover_every_demo_unit_and_finance_bureau(db):
    year = clock.fiscal_year()
    codes = list(Region.objects.filter(path__startswith=f"/{PROVINCE}/").values_list("code", flat=True))
    units = Unit.objects.filter(region_code__in=codes)
    assert AccountSet.objects.filter(year=year, unit__in=units).count() == units.count()
    assert AccountSet.objects.filter(year=year, kind="fiscal", region_code__in=codes).count() == len(codes)
    school = AccountSet.objects.get(unit__region_code=PROVINCE, unit__code="001001", year=year)
    assert school.unit_type == "institution" and school.accounts.count() == ChartAccount.objects.filter(
        template=school.chart).count()
    assert school.periods.count() == 12
    assert Voucher.objects.filter(account_set=school, status="posted").count() >= 3
    assert Voucher.objects.filter(account_set=school, status="draft", source="manual").count() == 1


def test_verify_reports_unbalanced_vouchers_and_trial_balances(books):
    assert selectors.check_balanced() == []
    assert "accounting.balanced" in verify._checks
    v = post(books["organ"], "payroll.accrued", amounts={"amount": 1000})
    line = VoucherLine.objects.filter(voucher=v, debit__gt=0).get()
    with connection.cursor() as cur:  # behind the engine's back; on PostgreSQL past its triggers too
        if connection.vendor == "postgresql":  # DDL is transactional there: rolled back with the test
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # fire the pending checks of the posting first
            cur.execute("ALTER TABLE accounting_voucherline DISABLE TRIGGER USER")
        cur.execute("UPDATE accounting_voucherline SET debit = 1500 WHERE id = %s", [line.pk])
    problems = selectors.check_balanced()
    assert any(f"accounting_voucher id={v.pk}: financial does not balance" in p for p in problems)
    assert any(f"accounting_accountset id={books['organ'].pk}: financial trial balance off" in p for p in problems)


def test_verify_reports_number_gaps(books):
    a = post(books["organ"], "payroll.accrued", amounts={"amount": 1000})
    post(books["organ"], "payroll.accrued", amounts={"amount": 2000})
    Voucher.objects.filter(pk=a.pk).update(number=7)
    assert any("numbers not gap-free" in p for p in selectors.number_gaps())
