"""Real commits on PostgreSQL: a rule changed and committed by another connection (as another process would) is
used by this process's next evaluation; parallel raises of the same alert give one alert."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from ibms.iam.models import User
from ibms.monitoring import engine, services
from ibms.monitoring.models import Alert, Rule

from .builders import codes, ctx_for, make_rule, subject_for

pytestmark = pytest.mark.postgres
THREADS = 6


def _user(name: str) -> User:
    return User.objects.select_related("organization", "organization__unit").get(username=name)


def _in_thread(fn) -> None:
    errors: list[BaseException] = []

    def run():
        try:
            fn()
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    t = threading.Thread(target=run)
    t.start()
    t.join()
    assert errors == []


def test_change_committed_elsewhere_is_seen(committed_db):
    assert connection.vendor == "postgresql"
    treasury = _user("fin_treasury")
    rule = make_rule(treasury)
    ctx = ctx_for(payment={"amount": 2_000_000})
    assert rule.code in codes(engine.evaluate(ctx))
    # another connection (its own cache is irrelevant: only the database is shared) raises the limit
    _in_thread(lambda: services.rule_update(actor=_user("fin_treasury"), pk=rule.pk,
                                            data={"params": {"limit": 9_000_000}}))
    assert rule.code not in codes(engine.evaluate(ctx))  # the new version is disabled until back-tested
    _in_thread(lambda: (services.rule_backtest(actor=_user("fin_treasury"), rule_or_draft=rule.pk,
                                          date_from=ctx_for()["payment"]["date"], date_to="2026-06-30"),
                        services.rule_enable(actor=_user("fin_treasury"), pk=rule.pk)))
    assert Rule.objects.get(pk=rule.pk).enabled
    assert rule.code not in codes(engine.evaluate(ctx))
    assert rule.code in codes(engine.evaluate(ctx_for(payment={"amount": 9_000_001})))
    _in_thread(lambda: services.rule_disable(actor=_user("fin_treasury"), pk=rule.pk))
    assert rule.code not in codes(engine.evaluate(ctx_for(payment={"amount": 9_000_001})))


def test_parallel_raises_give_one_alert(committed_db):
    clerk = _user("school_clerk")
    rule = Rule.objects.get(region_code="", code="MON-05")
    ctx = ctx_for()
    subject = subject_for(ctx, object_id=555, kind="payment_request")
    hit = engine.Hit(rule.pk, rule.code, rule.version, rule.name, rule.action, "并发")
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []
    got: list[int] = []

    def work():
        try:
            barrier.wait(timeout=30)
            with transaction.atomic():
                [a] = services.alerts_raise(actor=clerk, hits=[hit], subject=subject)
                got.append(a.pk)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert Alert.objects.filter(subject_kind="payment_request", subject_id="555").count() == 1
    assert len(set(got)) == 1 and len(got) == THREADS
