"""PostgreSQL: two pollers reading the same duplicated / replayed feed at the same time apply each message once."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from ibms.banks import inbound, services
from ibms.banks.models import BankMessage
from ibms.masterdata.models import Unit
from tests.constants import PROVINCE

from .builders import dispatch, drain


@pytest.mark.postgres
def test_parallel_pollers_apply_each_receipt_once(committed_db, bank_sim, user):
    services.endpoint_register(actor=user("fin_treasury"), agent_bank_code="SIM", region_code=PROVINCE,
                               base_url=bank_sim.url, admin_token=bank_sim.admin_token)
    school = Unit.objects.get(region_code=PROVINCE, code="001001")
    nos = [f"ZF-C-{i:03d}" for i in range(12)]
    applied: list[str] = []
    lock = threading.Lock()

    def on_receipt(msg: inbound.InboundMessage) -> None:
        with lock:
            applied.append(msg.voucher_no)

    with inbound.override("ack", None), inbound.override("receipt", on_receipt):
        for no in nos:
            dispatch(user, school, no, amount=5_00)
        drain()  # the worker sends outside any transaction
        bank_sim.faults(duplicate=True, replay=True, reorder=True)
        bank_sim.admin("/admin/tick")
        errors: list[BaseException] = []
        barrier = threading.Barrier(3)

        def poller() -> None:
            try:
                barrier.wait()
                for _ in range(2):
                    services.endpoint_poll_all()
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=poller) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    assert errors == []
    assert sorted(applied) == nos
    assert BankMessage.objects.filter(direction="in", kind="receipt", status="applied").count() == 12
    assert all(v["pay_rows"] == 1 for v in bank_sim.vouchers().values())
