"""Audit chain shards (PostgreSQL): writers in one region that overlap in time take different chain heads instead
of queueing on one, and every shard is still one linear chain that `ibms verify` accepts."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from ibms.core import audit
from ibms.core.models import BusinessEvent

pytestmark = pytest.mark.postgres

THREADS = 6
REGION = "990000000"


def test_overlapping_writers_use_different_shards_and_chains_verify(committed_db):
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for r in range(3):
                with transaction.atomic():
                    audit.record_event("test.shard", region_code=REGION, message=f"{i}-{r}", payload={"i": i})
                    barrier.wait(timeout=30)  # every thread holds a head at the same moment
                    audit.record_event("test.shard", region_code=REGION, message=f"{i}-{r}b", payload={"i": i})
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    rows = list(BusinessEvent.objects.filter(code="test.shard").values_list("chain", "message"))
    assert len(rows) == THREADS * 3 * 2
    # all six held a head at once, so at least six shards were in use; each transaction stayed on one shard
    assert len({chain for chain, _ in rows}) >= THREADS
    by_tx: dict[str, set[str]] = {}
    for chain, message in rows:
        by_tx.setdefault(message.removesuffix("b"), set()).add(chain)
    assert all(len(chains) == 1 for chains in by_tx.values())
    assert all(chain in audit.shard_keys("event:" + REGION, 16) for chain, _ in rows)
    assert audit.verify_chains() == []
