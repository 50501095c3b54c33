"""The T+1 feed of unit accounts apart from the happy path (tests/unitfunds/test_scenario.py): a bank that cannot
be reached leaves the day unread (and the next run reads it); an account statement with a wrong seal is refused;
the feed needs its permission; the pages show each line's match status and the days read, a treasury user can
read a day by hand, and the menu follows the role."""

from __future__ import annotations

import datetime as dt

import pytest

from ibms.banks.models import BankEndpoint
from ibms.banksim.bank import business_day
from ibms.core import clock
from ibms.core.errors import PermissionDenied
from ibms.core.navigation import menu_for
from ibms.unitfunds import feed
from ibms.unitfunds.models import StatementDay, StatementLine
from tests.treasury.conftest import sim  # noqa: F401 - the bank simulator fixture
from tests.treasury.test_scenario import connect

from .builders import W, income, own_account

pytestmark = pytest.mark.django_db


def _endpoint(user, ua, url: str) -> None:
    from ibms.banks import services as banks
    from ibms.core.crypto import generate_sm2_keypair

    banks.endpoint_register(actor=user("fin_treasury"), agent_bank_code=ua.bank_account.bank.code,
                            region_code=ua.region_code, base_url=url,
                            public_pem=generate_sm2_keypair().public_pem.decode())


def test_unreachable_bank_leaves_the_day_for_the_next_run_and_a_foreign_seal_is_refused(user, sim):  # noqa: F811
    clerk, treasury = user("school_clerk"), user("fin_treasury")
    ua = own_account(clerk)
    day = clock.today() - dt.timedelta(days=1)
    _endpoint(user, ua, "http://127.0.0.1:9")
    res = feed.feed_run(actor=treasury, date=day)
    assert (res.read, len(res.failed)) == (0, 1) and "无法连接" in res.failed[0]
    assert not StatementDay.objects.exists()

    # the bank answers now, but with a seal that is not the one registered: refused, still unread
    BankEndpoint.objects.filter(region_code=ua.region_code).update(base_url=sim.url)
    res = feed.feed_run(actor=treasury, date=day)
    assert res.read == 0 and "验签" in res.failed[0] and not StatementDay.objects.exists()

    # the right key: the day is read (an empty day is a day read too), once
    BankEndpoint.objects.filter(region_code=ua.region_code).delete()
    connect(sim, user, ua.bank_account.bank.code)
    res = feed.feed_run(actor=treasury, date=day)
    assert (res.read, res.lines, res.failed) == (1, 0, [])
    assert feed.feed_run(actor=treasury, date=day).skipped == 1
    assert StatementDay.objects.filter(account=ua, statement_date=day).count() == 1

    with pytest.raises(PermissionDenied):
        feed.feed_run(actor=clerk, date=day)


def test_pages_show_match_status_and_read_days_and_menus_follow_the_role(user, client_as, sim):  # noqa: F811
    clerk = user("school_clerk")
    ua = own_account(clerk)
    income(clerk, ua, 5 * W)
    connect(sim, user, ua.bank_account.bank.code)
    bank_day = dt.date.fromisoformat(business_day())
    sim.admin("/admin/account-debit", {"adm": ua.region_code, "acct": ua.bank_account.account_no, "amount": 12_300,
                                       "counter_name": "某商店", "summary": "转账支票", "day": bank_day.isoformat()})
    treasury = client_as("fin_treasury")
    page = treasury.get("/unitfunds/statement/").content.decode()
    assert 'id="feed-form"' in page and "尚未从银行读取对账单" in page
    r = treasury.post("/unitfunds/statement/feed/", {"statement_date": bank_day.isoformat()})
    assert r.status_code == 302
    [sl] = StatementLine.objects.filter(account=ua)
    assert (sl.match, sl.amount, sl.summary) == ("unmatched", 12_300, "转账支票")
    page = treasury.get("/unitfunds/statement/?match=unmatched").content.decode()
    assert "转账支票" in page and "未匹配" in page and "123.00" in page
    assert "读取时间" in page and bank_day.isoformat() in page
    assert "转账支票" not in treasury.get("/unitfunds/statement/?match=matched").content.decode()

    c = client_as("school_clerk")
    page = c.get("/unitfunds/statement/").content.decode()
    assert "转账支票" in page and 'id="feed-form"' not in page
    assert c.post("/unitfunds/statement/feed/", {"statement_date": bank_day.isoformat()}).status_code == 403
    assert "实有资金账户未经审批的支出" in c.get("/unitfunds/alerts/").content.decode()
    assert "尚未从银行读取对账单" in client_as("hospital_clerk").get("/unitfunds/statement/").content.decode()

    titles = {name: {i.title for i in menu_for(user(name)) if i.group == "单位资金"}
              for name in ("school_clerk", "school_reviewer", "fin_treasury", "fin_accounting")}
    assert titles["school_clerk"] == {"实有资金账户", "录入收入", "对账单匹配", "账户监控疑点"}
    assert titles["school_reviewer"] == {"实有资金账户", "对账单匹配", "账户监控疑点"}
    assert titles["fin_treasury"] == {"实有资金账户", "对账单匹配", "账户监控疑点"}
    assert titles["fin_accounting"] == {"实有资金账户"}
