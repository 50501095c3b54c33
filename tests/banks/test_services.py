"""App side against the real simulator process: dispatch → outbox send → ack; feed poll → handlers exactly once,
under duplicate / replay / reorder; tampered and unsigned messages rejected and recorded; unknown outcomes resolved
by a status query; deferral; statements; keys at rest."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.db import transaction

from ibms.banks import inbound, keys, services
from ibms.banks.models import BankEndpoint, BankMessage, Signer, SigningKey
from ibms.core.crypto import CryptoError
from ibms.core.errors import PermissionDenied, ValidationFailed
from ibms.core.models import OutboxMessage
from ibms.masterdata.models import Unit
from tests.constants import PROVINCE

from .builders import dispatch, drain


class Recorder:
    """Our own inbound hook: records what each handler was given."""

    def __init__(self) -> None:
        self.calls: list[inbound.InboundMessage] = []
        self.defer: set[str] = set()

    def __call__(self, msg: inbound.InboundMessage) -> None:
        if msg.voucher_no in self.defer:
            raise inbound.Defer("receipt not seen yet")
        self.calls.append(msg)

    def of(self, kind: str) -> list[inbound.InboundMessage]:
        return [c for c in self.calls if c.kind == kind]


@pytest.fixture
def handlers():
    rec = Recorder()
    with (inbound.override("ack", rec), inbound.override("receipt", rec), inbound.override("return", rec),
          inbound.override("refund", rec), inbound.override("clearing", rec), inbound.override("statement", rec),
          inbound.override("status", rec)):
        yield rec


@pytest.fixture
def school(db):
    return Unit.objects.get(region_code=PROVINCE, code="001001")


@pytest.fixture
def endpoint(db, bank_sim, user):
    return services.endpoint_register(actor=user("fin_treasury"), agent_bank_code="SIM", region_code=PROVINCE,
                                      base_url=bank_sim.url, name="模拟代理银行", timeout_seconds=10,
                                      admin_token=bank_sim.admin_token)


def inbound_rows(kind: str, **kw):
    return BankMessage.objects.filter(direction="in", kind=kind, **kw)


def test_dispatch_send_ack_poll_receipt_exactly_once(endpoint, bank_sim, handlers, user, school):
    bm = dispatch(user, school, "ZF-T-0001", amount=321_00)
    assert bm.status == "pending" and bm.unit_path == school.path
    assert OutboxMessage.objects.filter(topic="banks.send", payload__message_id=bm.pk).exists()
    drain()
    bm.refresh_from_db()
    assert (bm.status, bm.attempts) == ("accepted", 1)
    (ack,) = handlers.of("ack")
    assert (ack.fields["Result"], ack.voucher_no, ack.outbound_id) == ("accepted", "ZF-T-0001", bm.pk)
    bank_sim.admin("/admin/tick")
    services.endpoint_poll_all()
    services.endpoint_poll_all()
    (receipt,) = handlers.of("receipt")
    assert (receipt.voucher_no, receipt.fields["XPayAmt"], receipt.region_code, receipt.year) == (
        "ZF-T-0001", 321_00, PROVINCE, 2026)
    assert receipt.details[0]["XPayAmt"] == 321_00
    row = inbound_rows("receipt").get()
    assert (row.status, row.verified, row.unit_path, row.amount) == ("applied", True, school.path, 321_00)
    assert bank_sim.vouchers()["ZF-T-0001"]["pay_rows"] == 1


def test_resend_same_number_is_a_duplicate_not_a_second_payment(endpoint, bank_sim, handlers, user, school):
    first = dispatch(user, school, "ZF-T-0002")
    drain()
    bank_sim.admin("/admin/tick")
    again = dispatch(user, school, "ZF-T-0002")
    assert again.pk == first.pk
    drain()
    again.refresh_from_db()
    assert again.status == "duplicate"
    results = [(a.fields["Result"], a.fields.get("State")) for a in handlers.of("ack")]
    assert results == [("accepted", "accepted"), ("duplicate", "paid")]
    assert bank_sim.vouchers()["ZF-T-0002"]["pay_rows"] == 1 and bank_sim.invariants()["ok"]


def test_duplicate_replay_reorder_apply_each_message_once(endpoint, bank_sim, handlers, user, school):
    bank_sim.faults(duplicate=True, replay=True, reorder=True)
    nos = [f"ZF-T-1{i:03d}" for i in range(6)]
    for no in nos:
        dispatch(user, school, no, amount=10_00)
    drain()
    bank_sim.admin("/admin/tick")
    bank_sim.admin("/admin/refund", {"adm": PROVINCE, "year": 2026, "voucher_no": nos[0], "amount": 4_00,
                                     "refund_no": "TK-T-1"})
    bank_sim.admin("/admin/clear", {"date": bank_sim.settled_day(nos[0])})
    bank_sim.admin("/admin/tick")
    feed = bank_sim.admin("/admin/feed")["feed"]
    assert len(feed) > 8  # repeated and replayed copies are really there
    services.endpoint_poll_all()
    services.endpoint_poll_all()
    assert sorted(r.voucher_no for r in handlers.of("receipt")) == nos
    assert [r.fields["OriVoucherNo"] for r in handlers.of("refund")] == [nos[0]]
    assert len(handlers.of("clearing")) == 1
    assert inbound_rows("receipt").count() == 6 and inbound_rows("refund").count() == 1
    assert all(v["pay_rows"] == 1 for v in bank_sim.vouchers().values()) and bank_sim.invariants()["ok"]
    # a replay arriving much later (new seq, same message) is still a duplicate
    bank_sim.faults(duplicate=False, reorder=False)
    dispatch(user, school, "ZF-T-1999")
    drain()
    bank_sim.admin("/admin/tick")
    services.endpoint_poll_all()
    assert len(handlers.of("receipt")) == 7


def test_tampered_feed_message_is_rejected_and_recorded(endpoint, bank_sim, handlers, user, school):
    dispatch(user, school, "ZF-T-0003", amount=50_00)
    drain()
    bank_sim.faults(tamper=True)
    bank_sim.admin("/admin/tick")
    services.endpoint_poll_all()
    bad = inbound_rows("receipt", status="rejected").get()
    assert (bad.verified, bad.result_code, bad.voucher_no) == (False, "bad_signature", "ZF-T-0003")
    assert "<PayAmt>50.01</PayAmt>" in bad.raw_xml
    (receipt,) = handlers.of("receipt")  # only the genuine copy was applied
    assert receipt.fields["PayAmt"] == 50_00


def test_tampered_ack_is_an_unknown_outcome_resolved_by_query(endpoint, bank_sim, handlers, user, school):
    bank_sim.faults(tamper=True)
    bm = dispatch(user, school, "ZF-T-0004")
    drain()
    bm.refresh_from_db()
    assert (bm.status, bm.result_code) == ("unknown", "bad_ack:bad_signature")
    assert handlers.of("ack")[0].fields["Result"] == "unknown"
    assert inbound_rows("ack", status="rejected", verified=False).count() == 1
    bank_sim.faults(tamper=False)
    answer = services.voucher_query(actor=user("fin_treasury"), region_code=PROVINCE, year=2026,
                                    voucher_no="ZF-T-0004")
    assert answer.fields["State"] == "accepted" and handlers.of("status")[0].fields["State"] == "accepted"


def test_timeout_is_unknown_until_the_query_says_paid(endpoint, bank_sim, handlers, user, school):
    BankEndpoint.objects.filter(pk=endpoint.pk).update(timeout_seconds=0.5)
    bank_sim.faults(timeout=3)
    bm = dispatch(user, school, "ZF-T-0005", amount=77_00)
    drain()
    bm.refresh_from_db()
    assert (bm.status, bm.result_code) == ("unknown", "timeout")
    ack = handlers.of("ack")[0]
    assert (ack.fields["Result"], ack.fields["ReasonCode"], ack.message_id) == ("unknown", "timeout", None)
    bank_sim.faults(timeout=0)
    bank_sim.admin("/admin/tick")
    answer = services.voucher_query(actor=user("fin_treasury"), region_code=PROVINCE, year=2026,
                                    voucher_no="ZF-T-0005")
    assert (answer.fields["State"], answer.fields["XPayAmt"]) == ("paid", 77_00)
    assert inbound_rows("status", status="applied").count() == 1
    assert bank_sim.vouchers()["ZF-T-0005"]["pay_rows"] == 1


def test_refused_send_is_retried_with_the_same_message(endpoint, bank_sim, handlers, user, school):
    bank_sim.faults(refuse=True)
    bm = dispatch(user, school, "ZF-T-0006")
    drain()
    bm.refresh_from_db()
    ob = OutboxMessage.objects.get(topic="banks.send", payload__message_id=bm.pk)
    assert bm.status == "pending" and ob.processed_at is None and "BankUnavailable" in ob.last_error
    assert handlers.of("ack") == [] and bank_sim.vouchers() == {}
    bank_sim.faults(refuse=False)
    drain()
    bm.refresh_from_db()
    assert bm.status == "accepted" and len(handlers.of("ack")) == 1


def test_bank_refuses_a_voucher_tampered_in_transit(endpoint, bank_sim, handlers, user, school):
    bm = dispatch(user, school, "ZF-T-0007", amount=10_00)
    BankMessage.objects.filter(pk=bm.pk).update(raw_xml=bm.raw_xml.replace("<PayAmt>10.00</PayAmt>",
                                                                          "<PayAmt>99.00</PayAmt>"))
    drain()
    bm.refresh_from_db()
    assert (bm.status, bm.result_code) == ("rejected", "bad_signature")
    assert handlers.of("ack")[0].fields["Result"] == "rejected"
    assert bank_sim.vouchers() == {}


def test_returned_voucher_and_deferred_refund(endpoint, bank_sim, handlers, user, school):
    bank_sim.admin("/admin/bad-accounts", {"accounts": [{"acct": "6222-BAD"}]})
    dispatch(user, school, "ZF-T-0008", payee="6222-BAD")
    dispatch(user, school, "ZF-T-0009", amount=60_00)
    drain()
    bank_sim.admin("/admin/tick")
    bank_sim.admin("/admin/refund", {"adm": PROVINCE, "year": 2026, "voucher_no": "ZF-T-0009", "amount": 60_00,
                                     "refund_no": "TK-T-9"})
    handlers.defer.add("TK-T-9")
    services.endpoint_poll_all()
    (ret,) = handlers.of("return")
    assert (ret.voucher_no, ret.fields["Reason"]) == ("ZF-T-0008", "收款账号不存在")
    assert handlers.of("refund") == []
    tries = inbound_rows("refund").get().attempts
    assert inbound_rows("refund").get().status == "deferred"
    services.endpoint_poll_all()
    assert handlers.of("refund") == [] and inbound_rows("refund").get().attempts > tries
    handlers.defer.clear()
    services.endpoint_poll_all()  # nothing new in the feed; the deferred refund is retried
    (refund,) = handlers.of("refund")
    assert (refund.voucher_no, refund.fields["PayAmt"], refund.fields["OriVoucherNo"]) == ("TK-T-9", 60_00,
                                                                                          "ZF-T-0009")
    assert inbound_rows("refund").get().status == "applied"
    services.endpoint_poll_all()
    assert len(handlers.of("refund")) == 1


def test_statement_fetch_applies_each_content_once(endpoint, bank_sim, handlers, user, school):
    dispatch(user, school, "ZF-T-0010", amount=12_00)
    drain()
    bank_sim.admin("/admin/tick")
    fin = user("fin_treasury")
    day = dt.date.fromisoformat(bank_sim.settled_day("ZF-T-0010"))
    st1 = services.statement_fetch(actor=fin, agent_bank_code="SIM", date=day)
    st2 = services.statement_fetch(actor=fin, agent_bank_code="SIM", date=day)
    assert st1.fields["PayAmt"] == 12_00 and st1.details[0]["VoucherNo"] == "ZF-T-0010"
    assert st2.message_id == st1.message_id and len(handlers.of("statement")) == 1


def test_signing_keys_are_encrypted_at_rest(db, school, settings):
    key = services.signing_key_ensure_for_unit(school)
    assert services.signing_key_ensure_for_unit(school).pk == key.pk
    assert b"PRIVATE KEY" not in bytes(key.private_encrypted)
    signer = keys.signer_for(key)
    assert signer.public_pem.decode() == key.public_pem
    fin = services.signing_key_ensure_for_finance(PROVINCE)
    assert (fin.owner, fin.unit_id) == ("finance", None) and fin.pk != key.pk
    keys._cache.clear()
    settings.IBMS_KEY_ENCRYPTION_KEY = "00112233445566778899aabbccddeeff"
    with pytest.raises(CryptoError):
        keys.signer_for(SigningKey.objects.get(pk=key.pk))


def test_dispatch_refuses_what_the_protocol_refuses(endpoint, user, school):
    with pytest.raises(ValidationFailed) as exc, transaction.atomic():
        services.voucher_dispatch(actor=user("school_reviewer"), region_code=PROVINCE, year=2026, vt_code="5201",
                                  voucher_no="ZF-T-BAD", agent_bank_code="SIM",
                                  header={"PayAmt": 10_00, "PayAcctNo": "ZB"},
                                  details=[{"PayeeAcctNo": "1", "PayeeAcctName": "x", "PayAmt": 9_00}],
                                  signers=[services.signing_key_ensure_for_unit(school)])
    assert exc.value.violations[0].code == "bank_message_invalid"
    with pytest.raises(ValidationFailed) as exc, transaction.atomic():
        services.voucher_dispatch(actor=user("school_reviewer"), region_code=PROVINCE, year=2026, vt_code="5201",
                                  voucher_no="ZF-T-BAD", agent_bank_code="NOPE", header={}, details=[], signers=[])
    assert exc.value.violations[0].code == "no_bank_endpoint"


def test_batch_voucher_of_ten_thousand_lines(endpoint, bank_sim, handlers, user, school):
    bm = dispatch(user, school, "ZF-T-BATCH", amount=3000_00, vt="8207", lines=10_000)
    assert bm.amount == 3000_00 * 10_000
    drain()
    bank_sim.admin("/admin/tick")
    services.endpoint_poll_all()
    (receipt,) = handlers.of("receipt")
    assert len(receipt.details) == 10_000 and receipt.fields["XPayAmt"] == 3000_00 * 10_000
    assert bank_sim.vouchers()["ZF-T-BATCH"]["pay_rows"] == 10_000


def test_bank_crash_after_accept_is_unknown_then_query_and_resend(endpoint, bank_sim, handlers, user, school):
    bank_sim.faults(crash="after_accept")
    bm = dispatch(user, school, "ZF-T-0011", amount=33_00)
    drain()
    bm.refresh_from_db()
    assert (bm.status, bm.result_code) == ("unknown", "connection_lost")
    bank_sim.wait_exit()
    bank_sim.restart()
    answer = services.voucher_query(actor=user("fin_treasury"), region_code=PROVINCE, year=2026,
                                    voucher_no="ZF-T-0011")
    assert answer.fields["State"] == "accepted"  # the bank had persisted it before crashing
    dispatch(user, school, "ZF-T-0011", amount=33_00)  # the same number again: the only retry
    drain()
    bm.refresh_from_db()
    assert bm.status == "duplicate"
    bank_sim.admin("/admin/tick")
    services.endpoint_poll_all()
    assert [r.voucher_no for r in handlers.of("receipt")] == ["ZF-T-0011"]
    assert bank_sim.vouchers()["ZF-T-0011"]["pay_rows"] == 1 and bank_sim.invariants()["ok"]


def test_delayed_receipt_is_applied_when_it_arrives(endpoint, bank_sim, handlers, user, school):
    bank_sim.faults(delay_receipts=2)
    dispatch(user, school, "ZF-T-0012")
    drain()
    bank_sim.admin("/admin/tick")
    services.endpoint_poll_all()
    assert handlers.of("receipt") == []
    deadline = time.monotonic() + 30
    while not handlers.of("receipt") and time.monotonic() < deadline:
        time.sleep(0.2)
        services.endpoint_poll_all()
    assert [r.voucher_no for r in handlers.of("receipt")] == ["ZF-T-0012"]


def test_verify_check_flags_an_applied_message_that_was_not_verified(endpoint, bank_sim, handlers, user, school):
    from ibms.banks.selectors import message_problems

    dispatch(user, school, "ZF-T-0013")
    drain()
    bank_sim.admin("/admin/tick")
    services.endpoint_poll_all()
    assert message_problems() == []
    BankMessage.objects.filter(direction="in", kind="receipt").update(verified=False)
    assert len(message_problems()) == 1 and "ZF-T-0013" in message_problems()[0]


def test_endpoint_register_errors_are_clear(db, bank_sim, user):
    from tests.banksim_process import free_port

    fin = user("fin_treasury")
    services.signing_key_ensure_for_finance(PROVINCE)
    with pytest.raises(ValidationFailed) as exc:
        services.endpoint_register(actor=fin, agent_bank_code="SIM", region_code=PROVINCE,
                                   base_url=f"http://127.0.0.1:{free_port()}", timeout_seconds=2)
    assert exc.value.violations[0].code == "bank_unreachable"
    with pytest.raises(ValidationFailed) as exc:
        services.endpoint_register(actor=fin, agent_bank_code="SIM", region_code=PROVINCE, base_url=bank_sim.url,
                                   admin_token="wrong-token")
    assert exc.value.violations[0].code == "bank_trust_failed"
    ep = services.endpoint_register(actor=fin, agent_bank_code="SIM", region_code=PROVINCE, base_url=bank_sim.url,
                                    admin_token=bank_sim.admin_token)
    signers = Signer.objects.filter(region_code=PROVINCE, status="active").values_list("fingerprint", flat=True)
    assert set(ep.trusted_keys) == {services.signing_key_ensure_for_finance(PROVINCE).fingerprint, *signers}
    assert signers and {s["fingerprint"] for s in bank_sim.admin("/admin/signers")["signers"]} == set(signers)
    with pytest.raises(PermissionDenied) as denied:
        services.endpoint_register(actor=user("school_clerk"), agent_bank_code="X", region_code=PROVINCE,
                                   base_url=bank_sim.url)
    assert denied.value.code == "permission_denied"


def test_one_bank_feed_read_through_two_endpoints_applies_each_message_once(endpoint, bank_sim, handlers, user,
                                                                            school):
    """Two agent-bank codes served by one bank (the demo's simulator stands in for every bank): each endpoint
    reads the whole feed, yet each receipt and refund is recorded and handed over once."""
    services.endpoint_register(actor=user("fin_treasury"), agent_bank_code="SIM2", region_code=PROVINCE,
                               base_url=bank_sim.url, admin_token=bank_sim.admin_token)
    dispatch(user, school, "ZF-T-0201", amount=500_00)
    drain()
    bank_sim.admin("/admin/tick")
    bank_sim.admin("/admin/refund", {"adm": PROVINCE, "year": 2026, "voucher_no": "ZF-T-0201", "amount": 100_00,
                                     "reason": "多付退回", "refund_no": "TK-T-0201"})
    for _ in range(2):
        services.endpoint_poll_all()
    assert [m.voucher_no for m in handlers.of("receipt")] == ["ZF-T-0201"]
    assert len(handlers.of("refund")) == 1
    assert inbound_rows("receipt").count() == 1 and inbound_rows("refund").count() == 1


def test_query_and_statement_stay_in_the_actors_regions(endpoint, user):
    with pytest.raises(PermissionDenied):
        services.voucher_query(actor=user("county_treasury"), region_code=PROVINCE, year=2026, voucher_no="ZF-T-0001")
    with pytest.raises(ValidationFailed) as e:  # the province's endpoint is not the county's to read
        services.statement_fetch(actor=user("county_treasury"), agent_bank_code="SIM", date=dt.date(2026, 6, 1),
                                 region_code=PROVINCE)
    assert e.value.violations[0].code == "no_bank_endpoint"
    assert not inbound_rows("status").exists() and not inbound_rows("statement").exists()


def test_a_bank_with_a_new_key_starts_its_feed_over(endpoint, user):
    from ibms.banks.models import FeedCursor
    from ibms.core.crypto import generate_sm2_keypair

    FeedCursor.objects.filter(endpoint=endpoint).update(last_seq=120)
    same = services.endpoint_register(actor=user("fin_treasury"), agent_bank_code="SIM", region_code=PROVINCE,
                                      base_url=endpoint.base_url, public_pem=endpoint.bank_public_pem)
    assert FeedCursor.objects.get(endpoint=same).last_seq == 120  # same bank: keep reading where we were
    other = generate_sm2_keypair().public_pem.decode("ascii")
    services.endpoint_register(actor=user("fin_treasury"), agent_bank_code="SIM", region_code=PROVINCE,
                               base_url=endpoint.base_url, public_pem=other)
    assert FeedCursor.objects.get(endpoint=same).last_seq == 0
