"""Project codes under real concurrency (PostgreSQL): clerks entering projects at the same moment get distinct,
consecutive serials; refused entries in between take none."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from ibms.core.errors import ValidationFailed
from ibms.iam.models import User
from ibms.projects.models import Project
from ibms.projects.services import project_create

from .helpers import YEAR, project_data

pytestmark = pytest.mark.postgres
THREADS, PER_THREAD = 8, 4


def test_parallel_entries_get_consecutive_codes(committed_db):
    assert connection.vendor == "postgresql"
    clerk = User.objects.select_related("organization", "organization__unit").get(username="school_clerk")
    start = Project.objects.filter(region_code="990000000", year=YEAR).count()
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []
    refused: list[int] = []
    lock = threading.Lock()

    def work(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            for j in range(PER_THREAD):
                bad = (i + j) % 3 == 0
                try:
                    project_create(actor=clerk, data=project_data(name=f"并发{i}-{j}",
                                                                  category="2" if bad else "3"))
                except ValidationFailed:
                    with lock:
                        refused.append(1)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    codes = list(Project.objects.filter(region_code="990000000", year=YEAR).values_list("code", flat=True))
    created = THREADS * PER_THREAD - len(refused)
    assert refused and len(codes) == start + created
    assert sorted(int(c[8:]) for c in codes) == list(range(1, start + created + 1))
