"""The simulator's side of the T+1 feed (src/ibms/banksim/accounts.py): one account's signed statement of a day
(VT 4005) and the admin endpoint that makes the bank pay from an account on an instruction no voucher carries —
the same serial twice pays once, a bad amount is refused, the bank's books still balance."""

from __future__ import annotations

import json

from ibms.banks import protocol as P
from ibms.banksim.bank import business_day
from tests.treasury.conftest import sim  # noqa: F401 - the bank simulator fixture

ADM, ACCT = "990000000", "621700100199990001"


def test_account_debit_and_statement(sim):  # noqa: F811
    day = business_day()
    body = {"adm": ADM, "acct": ACCT, "amount": 50_000, "counter_acct": "6222000011112222", "counter_name": "李某",
            "summary": "柜台转账", "serial": "M-1"}
    assert sim.admin("/admin/account-debit", body) == {"serial": "M-1", "created": True}
    assert sim.admin("/admin/account-debit", body) == {"serial": "M-1", "created": False}
    status, raw = sim.request("POST", "/admin/account-debit", {**body, "serial": "M-2", "amount": 0}, admin=True)
    assert status == 400 and json.loads(raw)["error"] == "bad_amount"
    status, raw = sim.get(f"/api/statements?adm={ADM}&date={day}&account={ACCT}")
    assert status == 200
    msg = P.parse(raw)
    assert (msg.kind, msg.vt_code, msg.fields["AcctNo"], msg.fields["DebitAmt"]) == ("statement", "4005", ACCT, 50_000)
    assert P.verify(msg, {sim.public_key()["fingerprint"]: sim.public_key()["public_pem"]},
                    required_kinds=("bank",)).ok
    assert [(d["Serial"], d["Direction"], d["PayAmt"], d["CounterAcctName"], d["Summary"]) for d in msg.details] == [
        ("M-1", "debit", 50_000, "李某", "柜台转账")]
    other = P.parse(sim.get(f"/api/statements?adm={ADM}&date={day}&account=6222000011112222")[1])
    assert [(d["Direction"], d["PayAmt"]) for d in other.details] == [("credit", 50_000)]
    assert sim.admin("/admin/balances")["accounts"][ACCT] == -50_000
    assert sim.invariants()["ok"]
