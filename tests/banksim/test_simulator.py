"""The bank simulator as a real process over HTTP: payment at most once, returns, refunds, clearing, statements,
signatures, and every fault with the bank-side invariants checked."""

from __future__ import annotations

import http.client
import socket
import time

import pytest

from ibms.banks import protocol as P
from tests.constants import PROVINCE

from .helpers import Client


@pytest.fixture
def client(bank_sim):
    return Client(bank_sim)


def _wait(pred, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not reached")


def test_pays_once_whatever_is_resent(bank_sim, client):
    v = client.voucher(amount=123_45)
    acks = [client.verified(P.to_xml(client.send(v))) for _ in range(3)]
    assert [a.fields["Result"] for a in acks] == ["accepted", "duplicate", "duplicate"]
    assert acks[1].fields["State"] == "accepted"
    bank_sim.admin("/admin/tick")
    bank_sim.admin("/admin/tick")
    again = client.send(v)
    assert (again.fields["Result"], again.fields["State"]) == ("duplicate", "paid")
    bank_sim.admin("/admin/tick")
    row = bank_sim.vouchers()[v.voucher_no]
    assert (row["state"], row["pay_rows"], row["paid_amount"]) == ("paid", 1, 123_45)
    receipts = [m for m in client.feed_messages() if m.kind == "receipt"]
    assert len(receipts) == 1 and receipts[0].fields["XPayAmt"] == 123_45
    assert P.verify(receipts[0], client.bank, required_kinds=("bank",)).ok
    balances = bank_sim.admin("/admin/balances")["accounts"]
    assert balances["ZB-001"] == -123_45 and balances["6222000011112222"] == 123_45
    assert bank_sim.invariants() == {"ok": True, "problems": []}


@pytest.mark.parametrize(("bad", "reason"), [({"reason": "收款账号不存在"}, "收款账号不存在"),
                                             ({"name": "正确户名"}, "户名不符")])
def test_bad_payee_account_is_returned(bank_sim, client, bad, reason):
    bank_sim.admin("/admin/bad-accounts", {"accounts": [{"acct": "6222999", **bad}]})
    v = client.voucher(payee="6222999", payee_name="错误户名")
    assert client.send(v).fields["Result"] == "accepted"
    assert bank_sim.admin("/admin/tick")["returned"] == 1
    (ret,) = [m for m in client.feed_messages() if m.voucher_no == v.voucher_no]
    assert ret.kind == "return" and ret.fields["Reason"] == reason
    assert ret.details[0]["PayeeAcctNo"] == "6222999"
    row = bank_sim.vouchers()[v.voucher_no]
    assert (row["state"], row["pay_rows"]) == ("returned", 0)
    status = client.verified(bank_sim.get(f"/api/vouchers/{PROVINCE}/2026/{v.voucher_no}")[1])
    assert status.fields["State"] == "returned" and status.fields["Reason"] == reason
    assert bank_sim.invariants()["ok"]


def test_refund_clearing_statement_status(bank_sim, client):
    direct, authorized = client.voucher(amount=1000_00), client.voucher(amount=250_00, vt="8202")
    for v in (direct, authorized):
        client.send(v)
    bank_sim.admin("/admin/tick")
    out = bank_sim.admin("/admin/refund", {"adm": PROVINCE, "year": 2026, "voucher_no": direct.voucher_no,
                                            "amount": 300_00, "reason": "收款人账户已销户", "refund_no": "TK001"})
    assert out == {"refund_no": "TK001", "created": True}
    again = bank_sim.admin("/admin/refund", {"adm": PROVINCE, "year": 2026, "voucher_no": direct.voucher_no,
                                              "amount": 300_00, "refund_no": "TK001"})
    assert again["created"] is False
    status, _ = bank_sim.request("POST", "/admin/refund", {"adm": PROVINCE, "year": 2026, "voucher_no":
                                                            direct.voucher_no, "amount": 800_00}, admin=True)
    assert status == 409  # more than what is left to refund
    day = bank_sim.settled_day(direct.voucher_no)
    clear = bank_sim.admin("/admin/clear", {"date": day})["clearings"]
    assert sorted((c["vt_code"], c["amount"]) for c in clear) == [("2301", 1000_00), ("2303", 250_00)]
    assert bank_sim.admin("/admin/clear", {"date": day})["clearings"] == []
    bank_sim.admin("/admin/tick")
    msgs = client.feed_messages()
    (refund,) = [m for m in msgs if m.kind == "refund"]
    assert (refund.vt_code, refund.voucher_no, refund.fields["OriVoucherNo"], refund.fields["PayAmt"]) == (
        "2252", "TK001", direct.voucher_no, 300_00)
    clearings = {m.vt_code: m for m in msgs if m.kind == "clearing"}
    assert clearings["2301"].details == [{"VtCode": "5201", "VoucherNo": direct.voucher_no, "PayAmt": 1000_00}]
    st = client.verified(bank_sim.get(f"/api/statements?adm={PROVINCE}&date={day}")[1])
    assert (st.fields["PayAmt"], st.fields["RefundAmt"], st.fields["PayCount"]) == (1250_00, 300_00, "2")
    stat = client.verified(bank_sim.get(f"/api/vouchers/{PROVINCE}/2026/{direct.voucher_no}")[1])
    assert (stat.fields["State"], stat.fields["RefundedAmt"]) == ("paid", 300_00)
    unknown = client.verified(bank_sim.get(f"/api/vouchers/{PROVINCE}/2026/NOPE1")[1])
    assert unknown.fields["State"] == "unknown"
    assert bank_sim.invariants()["ok"]


def test_unsigned_tampered_untrusted_and_malformed_are_refused(bank_sim, client):
    unsigned = client.voucher(sign=False)
    ack = client.verified(P.to_xml(client.send(unsigned)))
    assert (ack.fields["Result"], ack.fields["ReasonCode"]) == ("rejected", "unsigned")
    v = client.voucher(amount=500)
    tampered = P.to_xml(v).replace(b"<PayAmt>5.00</PayAmt>", b"<PayAmt>6.00</PayAmt>")
    assert client.send(tampered).fields["ReasonCode"] == "bad_signature"
    stranger = Client.__new__(Client)
    from ibms.core.crypto import SoftwareSM2Signer, generate_sm2_keypair
    stranger.signer = SoftwareSM2Signer(generate_sm2_keypair().private_pem)
    stranger.sim, stranger.bank = bank_sim, client.bank
    assert client.send(stranger.voucher()).fields["ReasonCode"] == "untrusted_key"
    bad = client.send(b"<MOF><VoucherBody AdmDivCode='990000000'")
    assert (bad.fields["Result"], bad.fields["ReasonCode"]) == ("rejected", "malformed_xml")
    assert bank_sim.vouchers() == {}
    assert client.send(v).fields["Result"] == "accepted"  # the genuine one was not blocked by the forgery


def test_batch_of_ten_thousand_lines_pays_every_line_once(bank_sim, client):
    details = [{"PayeeAcctNo": f"62220{i:08d}", "PayeeAcctName": f"职工{i}", "PayAmt": 5000_00 + i}
               for i in range(10_000)]
    v = client.voucher(details=details, vt="8207")
    assert client.send(v).fields["Result"] == "accepted"
    assert client.send(v).fields["Result"] == "duplicate"
    assert bank_sim.admin("/admin/tick")["paid"] == 1
    row = bank_sim.vouchers()[v.voucher_no]
    assert (row["pay_rows"], row["lines"], row["paid_amount"]) == (10_000, 10_000, v.fields["PayAmt"])
    (receipt,) = client.feed_messages()
    assert len(receipt.details) == 10_000 and receipt.details[9999]["XPayAmt"] == 5000_00 + 9999
    assert bank_sim.invariants()["ok"]


# --- faults ---------------------------------------------------------------------------------------------------


def test_refuse_stores_nothing(bank_sim, client):
    bank_sim.faults(refuse=True)
    v = client.voucher()
    status, _ = bank_sim.post_xml(P.to_xml(v))
    assert status == 503 and bank_sim.vouchers() == {}
    bank_sim.faults(refuse=False)
    assert client.send(v).fields["Result"] == "accepted"


def test_timeout_accepts_and_persists_then_answers_late(bank_sim, client):
    bank_sim.faults(timeout=3)
    v = client.voucher()
    with pytest.raises((TimeoutError, socket.timeout)):
        bank_sim.post_xml(P.to_xml(v), timeout=0.5)
    assert bank_sim.vouchers()[v.voucher_no]["state"] == "accepted"
    bank_sim.faults(timeout=0)
    assert client.send(v).fields["Result"] == "duplicate"
    bank_sim.admin("/admin/tick")
    assert bank_sim.vouchers()[v.voucher_no]["pay_rows"] == 1 and bank_sim.invariants()["ok"]


def test_duplicate_replay_and_reorder_faults_shape_the_feed(bank_sim, client):
    first = [client.voucher() for _ in range(3)]
    for v in first:
        client.send(v)
    bank_sim.admin("/admin/tick")
    bank_sim.faults(duplicate=True, replay=True)
    more = [client.voucher() for _ in range(3)]
    for v in more:
        client.send(v)
    bank_sim.admin("/admin/tick")
    feed = bank_sim.admin("/admin/feed")["feed"]
    notes = [f["note"] for f in feed]
    assert notes.count("duplicate") == 3 and notes.count("replay") == 3
    first_seen: dict[str, int] = {}
    for f in feed:
        first_seen.setdefault(f["msg_id"], f["seq"])
    assert len(first_seen) == 6  # six distinct messages, published 12 times
    assert all(first_seen[f["msg_id"]] < f["seq"] for f in feed if f["note"] in ("duplicate", "replay"))
    bank_sim.faults(reorder=True)
    pages = [[m["seq"] for m in bank_sim.feed()["messages"]] for _ in range(6)]
    assert all(sorted(p) == [f["seq"] for f in feed] for p in pages)
    assert any(p != sorted(p) for p in pages)
    vs = bank_sim.vouchers()
    assert all(vs[v.voucher_no]["pay_rows"] == 1 for v in first + more) and bank_sim.invariants()["ok"]


def test_delayed_receipts_reach_the_feed_later(bank_sim, client):
    bank_sim.faults(delay_receipts=3)
    v = client.voucher()
    client.send(v)
    bank_sim.admin("/admin/tick")
    assert bank_sim.vouchers()[v.voucher_no]["state"] == "paid"
    assert bank_sim.feed()["messages"] == []
    msgs = _wait(lambda: bank_sim.feed()["messages"])
    assert [P.parse(m["xml"]).voucher_no for m in msgs] == [v.voucher_no]


def test_tamper_alters_acks_and_feed_copies_after_signing(bank_sim, client):
    bank_sim.faults(tamper=True)
    v = client.voucher(amount=777)
    ack = client.send(v)
    assert ack.fields["Result"] == "accepted"
    assert not P.verify(ack, client.bank).ok
    bank_sim.admin("/admin/tick")
    msgs = client.feed_messages()
    results = [(m.fields["PayAmt"], P.verify(m, client.bank).ok) for m in msgs]
    assert results == [(778, False), (777, True)]


def test_crash_after_accept_then_restart(bank_sim, client):
    bank_sim.faults(crash="after_accept")
    v = client.voucher()
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError, OSError)):
        bank_sim.post_xml(P.to_xml(v))
    assert bank_sim.wait_exit() == 3
    bank_sim.restart()
    assert bank_sim.vouchers()[v.voucher_no]["state"] == "accepted"
    assert client.send(v).fields["Result"] == "duplicate"
    bank_sim.admin("/admin/tick")
    assert bank_sim.vouchers()[v.voucher_no]["pay_rows"] == 1 and bank_sim.invariants()["ok"]


@pytest.mark.parametrize("point", ["after_pay_before_feed", "after_publish"])
def test_crash_while_paying_then_restart_publishes_once(bank_sim, client, point):
    v = client.voucher(amount=42_00)
    client.send(v)
    bank_sim.faults(crash=point)
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError, OSError)):
        bank_sim.admin("/admin/tick")
    assert bank_sim.wait_exit() == 3
    bank_sim.restart()
    assert bank_sim.faults()["crash"] == ""  # one-shot
    bank_sim.admin("/admin/tick")
    bank_sim.admin("/admin/tick")
    receipts = [m for m in client.feed_messages() if m.kind == "receipt"]
    assert [r.voucher_no for r in receipts] == [v.voucher_no]
    assert client.send(v).fields["State"] == "paid"
    assert bank_sim.vouchers()[v.voucher_no]["pay_rows"] == 1 and bank_sim.invariants()["ok"]


def test_admin_endpoints_need_the_token(bank_sim):
    status, _ = bank_sim.request("POST", "/admin/tick", {})
    assert status == 403
    status, _ = bank_sim.request("POST", "/admin/faults", {"refuse": True})
    assert status == 403 and bank_sim.faults()["refuse"] is False


def test_state_survives_restart_and_key_is_kept(bank_sim, client):
    v = client.voucher()
    client.send(v)
    fp = bank_sim.public_key()["fingerprint"]
    bank_sim.restart()
    assert bank_sim.public_key()["fingerprint"] == fp
    assert client.send(v).fields["Result"] == "duplicate"  # trusted keys and vouchers kept


@pytest.mark.parametrize("point", ["after_refund_before_feed", "after_clear_before_feed"])
def test_crash_in_refund_or_clearing_then_restart_publishes_once(bank_sim, client, point):
    v = client.voucher(amount=90_00)
    client.send(v)
    bank_sim.admin("/admin/tick")
    bank_sim.faults(crash=point)
    call = (("/admin/refund", {"adm": PROVINCE, "year": 2026, "voucher_no": v.voucher_no, "amount": 30_00,
                               "refund_no": "TK-C1"}) if point.startswith("after_refund")
            else ("/admin/clear", {"date": bank_sim.settled_day(v.voucher_no)}))
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError, OSError)):
        bank_sim.admin(*call)
    assert bank_sim.wait_exit() == 3
    bank_sim.restart()
    bank_sim.admin(*call)  # asking again changes nothing: the refund number / cleared vouchers are known
    bank_sim.admin("/admin/tick")
    kind = "refund" if point.startswith("after_refund") else "clearing"
    published = [m for m in client.feed_messages() if m.kind == kind]
    assert len(published) == 1
    row = bank_sim.vouchers()[v.voucher_no]
    assert row["refunded_amt"] == (30_00 if kind == "refund" else 0)
    assert (row["cleared_no"] != "") == (kind == "clearing")
    assert bank_sim.invariants()["ok"]


def test_pays_by_itself_after_the_pay_delay(tmp_path):
    from tests.banksim_process import BankSim

    sim = BankSim.start(tmp_path / "fast", pay_delay=0.2)
    try:
        client = Client(sim)
        v = client.voucher(amount=5_00)
        client.send(v)
        msgs = _wait(lambda: sim.feed()["messages"])
        (receipt,) = [client.verified(m["xml"]) for m in msgs]
        assert (receipt.kind, receipt.voucher_no, receipt.fields["XPayAmt"]) == ("receipt", v.voucher_no, 5_00)
        assert sim.vouchers()[v.voucher_no]["pay_rows"] == 1
    finally:
        sim.stop()
