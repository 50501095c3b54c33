"""Transactional outbox: a message exists only if its transaction committed, is delivered once, and a failing
handler is retried with every attempt recorded."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import connection, transaction
from django.utils import timezone

from ibms.core import outbox
from ibms.core.models import OutboxMessage
from ibms.masterdata import models as m


class Boom(Exception):
    pass


@pytest.fixture
def topic():
    name = f"test.{uuid.uuid4().hex[:8]}"
    yield name
    outbox._handlers.pop(name, None)


def make_due(msg: OutboxMessage) -> None:
    OutboxMessage.objects.filter(pk=msg.pk).update(available_at=timezone.now() - dt.timedelta(seconds=1))


def test_enqueue_then_drain_delivers_once(db, topic):
    seen: list[dict] = []
    outbox.handler(topic)(lambda msg: seen.append(msg.payload))
    with transaction.atomic():
        msg = outbox.enqueue(topic, {"amount_fen": 123456, "note": "拨款"}, key="k-1")
    assert outbox.drain() == 1
    assert seen == [{"amount_fen": 123456, "note": "拨款"}]
    msg.refresh_from_db()
    assert msg.processed_at is not None and msg.attempts == 1 and msg.last_error == ""
    make_due(msg)  # even when due again, a processed message is never delivered twice
    assert outbox.drain() == 0
    assert seen == [{"amount_fen": 123456, "note": "拨款"}]


def test_rolled_back_enqueue_is_never_delivered(db, topic):
    seen: list[dict] = []
    outbox.handler(topic)(lambda msg: seen.append(msg.payload))
    with pytest.raises(Boom), transaction.atomic():
        outbox.enqueue(topic, {"x": 1})
        raise Boom
    assert not OutboxMessage.objects.filter(topic=topic).exists()
    assert outbox.drain() == 0 and seen == []


def test_enqueue_outside_a_transaction_is_refused(db, topic):
    in_block = connection.in_atomic_block
    connection.in_atomic_block = False
    try:
        with pytest.raises(RuntimeError):
            outbox.enqueue(topic, {})
    finally:
        connection.in_atomic_block = in_block


def test_failing_handler_is_retried_with_attempts_recorded(db, topic):
    calls: list[int] = []

    @outbox.handler(topic)
    def flaky(msg):
        calls.append(msg.attempts)
        # the handler's own writes roll back with its failure
        m.Holiday.objects.create(region_code="990000000", date=dt.date(2026, 7, len(calls)), name=f"半成品{len(calls)}")
        if len(calls) < 3:
            raise Boom(f"银行前置机无响应（第{len(calls)}次）")

    with transaction.atomic():
        msg = outbox.enqueue(topic, {"voucher": "V1"})

    before = timezone.now()
    assert outbox.drain() == 0
    msg.refresh_from_db()
    assert msg.attempts == 1 and msg.processed_at is None
    assert msg.last_error == "Boom: 银行前置机无响应（第1次）"
    assert msg.available_at >= before + dt.timedelta(seconds=2)  # backed off: not due until later
    assert not m.Holiday.objects.filter(name__startswith="半成品").exists()

    make_due(msg)
    assert outbox.drain() == 0
    msg.refresh_from_db()
    assert msg.attempts == 2 and "第2次" in msg.last_error
    assert msg.available_at >= timezone.now() + dt.timedelta(seconds=3)  # 2**2 s, growing

    make_due(msg)
    assert outbox.drain() == 1
    msg.refresh_from_db()
    assert msg.attempts == 3 and msg.processed_at is not None and msg.last_error == ""
    assert calls == [1, 2, 3]
    assert list(m.Holiday.objects.filter(name__startswith="半成品").values_list("name", flat=True)) == ["半成品3"]


def test_message_without_handler_and_attempt_limit(db, topic):
    with transaction.atomic():
        msg = outbox.enqueue(topic, {})
    assert outbox.drain() == 0
    msg.refresh_from_db()
    assert msg.attempts == 1 and "no handler" in msg.last_error
    OutboxMessage.objects.filter(pk=msg.pk).update(attempts=10)
    make_due(msg)
    outbox.handler(topic)(lambda msg: None)
    assert outbox.drain(max_attempts=10) == 0  # given up: left for an operator
    msg.refresh_from_db()
    assert msg.attempts == 10 and msg.processed_at is None


def test_delayed_message_waits(db, topic):
    seen: list[int] = []
    outbox.handler(topic)(lambda msg: seen.append(1))
    with transaction.atomic():
        msg = outbox.enqueue(topic, {}, delay_seconds=3600)
    assert outbox.drain() == 0 and seen == []
    make_due(msg)
    assert outbox.drain() == 1 and seen == [1]


def test_delivery_order_and_limit(db, topic):
    seen: list[int] = []
    outbox.handler(topic)(lambda msg: seen.append(msg.payload["n"]))
    with transaction.atomic():
        for n in range(5):
            outbox.enqueue(topic, {"n": n})
    assert outbox.drain(limit=3) == 3
    assert outbox.drain(limit=3) == 2
    assert seen == [0, 1, 2, 3, 4]


def test_a_handler_that_calls_another_party_runs_outside_any_transaction_on_a_claim(transactional_db, topic):
    seen = {}

    @outbox.handler(topic, outside_transaction=True)
    def call_out(msg):
        seen["in_transaction"] = connection.in_atomic_block
        seen["claimed_until"] = OutboxMessage.objects.get(pk=msg.pk).available_at

    with transaction.atomic():
        msg = outbox.enqueue(topic, {"n": 1})
    before = timezone.now()
    assert outbox.drain() == 1
    assert seen["in_transaction"] is False
    # while it ran, the message was claimed for the lease: no other worker could take it
    assert seen["claimed_until"] >= before + dt.timedelta(seconds=outbox.lease_seconds() - 5)
    msg.refresh_from_db()
    assert msg.processed_at is not None and msg.attempts == 1 and msg.last_error == ""
    assert outbox.drain() == 0  # delivered once
    outbox._outside.discard(topic)


def test_an_outside_handler_that_fails_is_retried_after_back_off(transactional_db, topic):
    @outbox.handler(topic, outside_transaction=True)
    def call_out(msg):
        raise Boom("bank unreachable")

    with transaction.atomic():
        msg = outbox.enqueue(topic, {})
    assert outbox.drain() == 0
    msg.refresh_from_db()
    assert msg.processed_at is None and msg.attempts == 1 and "bank unreachable" in msg.last_error
    assert msg.available_at > timezone.now()
    assert outbox.drain() == 0  # not due yet
    make_due(msg)
    assert outbox.drain() == 0
    msg.refresh_from_db()
    assert msg.attempts == 2
    outbox._outside.discard(topic)
