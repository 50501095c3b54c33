"""PostgreSQL: the deferred constraint trigger re-checks at commit that every touched voucher balances per
basis, and lines of a posted voucher cannot be changed — even when written behind the engine's back."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction

from ibms.accounting import services
from ibms.accounting.models import AccountSet, Voucher, VoucherLine
from ibms.accounting.posting import LineSpec
from ibms.core import clock
from ibms.iam.models import User
from tests.constants import PROVINCE

pytestmark = pytest.mark.postgres


def _raw(sql: str, params: list) -> None:
    with connection.cursor() as cur:
        cur.execute(sql, params)


def test_trigger_refuses_unbalanced_vouchers_written_with_raw_sql(committed_db):
    year = clock.fiscal_year()
    aset = AccountSet.objects.get(region_code=PROVINCE, unit__code="001001", year=year)
    with transaction.atomic():
        posted = services.event_post(event_id="pg-1", event_type="payment.receipted", date=dt.date(year, 3, 1),
                                     amounts={"amount": 10_000}, account_set=aset, attrs={"pay_method": "direct"},
                                     dimensions={"exp_func": "2050203", "dep_eco": "30201", "fund_nature": "111"})
    draft = services.voucher_create(
        actor=User.objects.get(username="school_clerk"), account_set_id=aset.pk, date=dt.date(year, 3, 2),
        summary="草稿", lines=[LineSpec(basis="financial", account_code="5001", debit=500),
                               LineSpec(basis="financial", account_code="1011", credit=500)])
    line = VoucherLine.objects.filter(voucher=draft).order_by("line_no").first()
    extra = VoucherLine.objects.filter(voucher=posted).order_by("line_no").first()

    # 1. an extra line on a posted voucher: each statement succeeds, the commit is refused
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        _raw("INSERT INTO accounting_voucherline (voucher_id, account_set_id, region_code, line_no, basis, account_id,"
             " account_code, summary, debit, credit, exp_func_code, dep_eco_code, gov_eco_code, project_code,"
             " fund_nature_code, payee_name, department_code) VALUES (%s, %s, %s, 99, 'financial', %s, %s, '', 1, 0,"
             " '', '', '', '', '', '', '')",
             [posted.pk, aset.pk, aset.region_code, extra.account_id, extra.account_code])
    assert VoucherLine.objects.filter(voucher=posted).count() == 4

    # 2. one line of a draft changed: refused at commit, the line keeps its amount
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        _raw("UPDATE accounting_voucherline SET debit = debit + 1 WHERE id = %s", [line.pk])
    assert VoucherLine.objects.get(pk=line.pk).debit == 500

    # 3. a balanced change behind the engine's back passes the balance trigger (caught later by ibms verify)
    with transaction.atomic():
        _raw("UPDATE accounting_voucherline SET debit = debit + 7 WHERE voucher_id = %s AND debit > 0", [draft.pk])
        _raw("UPDATE accounting_voucherline SET credit = credit + 7 WHERE voucher_id = %s AND credit > 0", [draft.pk])
    assert VoucherLine.objects.get(pk=line.pk).debit == 507

    # 4. lines of a posted voucher are immutable, even balanced edits
    with pytest.raises(IntegrityError, match="immutable"), transaction.atomic():
        _raw("UPDATE accounting_voucherline SET debit = debit * 2, credit = credit * 2 WHERE voucher_id = %s",
             [posted.pk])
    with pytest.raises(IntegrityError, match="immutable"), transaction.atomic():
        _raw("DELETE FROM accounting_voucherline WHERE voucher_id = %s", [posted.pk])
    assert Voucher.objects.get(pk=posted.pk).lines.count() == 4


def test_concurrent_posting_of_one_event_yields_one_voucher(committed_db):
    """Two threads post the same event id at once: both get the same voucher, one number is used."""
    import threading

    year = clock.fiscal_year()
    aset = AccountSet.objects.get(region_code=PROVINCE, unit__code="001001", year=year)
    results, errors = [], []
    barrier = threading.Barrier(2)

    def worker():
        try:
            barrier.wait()
            with transaction.atomic():
                v = services.event_post(event_id="pg-race", event_type="payroll.accrued", date=dt.date(year, 4, 1),
                                        amounts={"amount": 1234}, account_set=aset)
            results.append(v.pk)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(results)) == 1
    assert Voucher.objects.filter(account_set=aset, event_id="pg-race").count() == 1
    assert list(Voucher.objects.filter(account_set=aset, period_no=4).values_list("number", flat=True)) == [1]
