"""A large Excel import runs as a background job: the page queues it and shows its progress (polled by HTMX), the
worker checks every row first (nothing written; any problem fails the whole file) and then saves chunk after chunk,
each with the job's cursor, so a crash or a duplicated message never saves a row twice. Only its creator sees it."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import transaction
from django.utils import timezone

from ibms.core import imports, outbox
from ibms.core.models import ImportJob, OutboxMessage
from ibms.masterdata import models as m
from tests.constants import PROVINCE
from tests.masterdata.test_import import UNIT_HEADERS, upload, xlsx

N = 30  # rows; with a threshold of 10 they go the job path, 7 a step
URL = "/r/units/import/"


def unit_rows(n: int = N) -> list[list]:
    """A department and its units: every later row names row 1 as its parent (across chunks)."""
    rows = [["801", "省新设局", "", "", "行政单位", "全额供养", "", "是"]]
    rows += [[f"801{i:03d}", f"省新设局下属单位{i}", "801", "", "事业单位", "差额供养", "", "是"] for i in range(1, n)]
    return rows


@pytest.fixture
def small_jobs(settings):
    settings.IBMS_IMPORT_SYNC_MAX_ROWS = 10
    settings.IBMS_IMPORT_JOB_CHUNK_ROWS = 7


def units_801() -> int:
    return m.Unit.objects.filter(region_code=PROVINCE, code__startswith="801").count()


def start(client, rows: list[list]) -> ImportJob:
    r = client.post(URL, {"file": upload(xlsx(UNIT_HEADERS, rows), "单位.xlsx")})
    assert r.status_code == 302, r.content.decode()
    job = ImportJob.objects.get(pk=int(re.fullmatch(r"/r/units/import/jobs/(\d+)/", r["Location"]).group(1)))
    assert job.created_by.username == "fin_budget" and job.resource == "units" and job.total == len(rows)
    return job


def step(job: ImportJob) -> ImportJob:
    """One worker step: the job's due message delivered (one chunk)."""
    assert outbox.drain() >= 1
    job.refresh_from_db()
    return job


def test_large_file_is_checked_then_imported_in_chunks_with_progress(db, small_jobs, client_as):
    c = client_as("fin_budget")
    job = start(c, unit_rows())
    page = c.get(f"/r/units/import/jobs/{job.pk}/")
    html = page.content.decode()
    assert page.status_code == 200 and "排队中" in html and "<progress" in html and 'hx-trigger="every 2s"' in html
    assert "<script" not in html.split("<main", 1)[-1]  # polling by HTMX attributes, no inline script

    job = step(job)
    assert (job.status, job.checked, job.done) == (ImportJob.Status.VALIDATING, 7, 0)
    assert units_801() == 0  # the check writes nothing
    partial = c.get(f"/r/units/import/jobs/{job.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert partial.startswith('<section id="import-job"') and "校验中" in partial
    assert 'value="7" max="60"' in partial and 'hx-trigger="every 2s"' in partial

    for _ in range(4):
        job = step(job)
    assert (job.status, job.checked, job.done, job.problems) == (ImportJob.Status.APPLYING, N, 0, [])
    assert units_801() == 0
    job = step(job)
    assert (job.status, job.done) == (ImportJob.Status.APPLYING, 7) and units_801() == 7
    assert "导入中" in c.get(f"/r/units/import/jobs/{job.pk}/", HTTP_HX_REQUEST="true").content.decode()

    for _ in range(4):
        job = step(job)
    assert (job.status, job.done, job.created, job.updated) == (ImportJob.Status.DONE, N, N, 0)
    assert job.finished_at is not None and job.rows == []  # the data is not kept once imported
    assert units_801() == N
    dept = m.Unit.objects.get(region_code=PROVINCE, code="801")
    last = m.Unit.objects.get(region_code=PROVINCE, code=f"801{N - 1:03d}")
    assert last.parent == dept and last.path == f"/801/801{N - 1:03d}/"  # its parent saved in an earlier chunk
    assert outbox.drain() == 0  # nothing more queued for the job
    html = c.get(f"/r/units/import/jobs/{job.pk}/").content.decode()
    assert "已完成" in html and f"导入成功：共 {N} 行，新增 {N} 条，更新 0 条" in html
    assert "hx-trigger" not in html and 'value="60" max="60"' in html


def test_small_file_still_imports_in_the_request(db, small_jobs, client_as):
    r = client_as("fin_budget").post(URL, {"file": upload(xlsx(UNIT_HEADERS, unit_rows(10)))})
    assert r.status_code == 200 and "导入成功：新增 10 条" in r.content.decode()
    assert not ImportJob.objects.exists() and units_801() == 10


def test_a_bad_row_fails_the_whole_job_and_saves_nothing(db, small_jobs, client_as):
    rows = unit_rows()
    rows[24][2] = "999"  # no such parent: Excel row 26, in the fourth chunk
    c = client_as("fin_budget")
    job = start(c, rows)
    for _ in range(5):
        job = step(job)
    assert job.status == ImportJob.Status.FAILED and job.checked == N and job.done == 0
    assert [(p["row"], p["column"]) for p in job.problems] == [(26, "上级单位代码")]
    assert units_801() == 0 and not OutboxMessage.objects.filter(topic=imports.TOPIC, processed_at__isnull=True).exists()
    html = c.get(f"/r/units/import/jobs/{job.pk}/").content.decode()
    assert "失败" in html and "导入失败，未保存任何数据" in html and "hx-trigger" not in html
    assert re.search(r"<td>26</td><td>上级单位代码</td><td>[^<]*</td>", html)


def test_only_its_creator_sees_a_job(db, small_jobs, client_as, client):
    job = start(client_as("fin_budget"), unit_rows())
    url = f"/r/units/import/jobs/{job.pk}/"
    other = client_as("school_clerk").get(url)
    assert other.status_code == 404 and "导入任务不存在或无权访问" in other.content.decode()
    assert client_as("fin_budget").get(f"/r/people/import/jobs/{job.pk}/").status_code == 404  # another resource
    assert client.get(url).status_code == 302  # not logged in: the login page
    post = client_as("fin_budget").post(url)  # the page is read only: no write route
    assert post.status_code == 403 and "route_not_in_policy" in post.content.decode()


def pending() -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(topic=imports.TOPIC, processed_at__isnull=True))


def test_a_step_delivered_twice_or_crashing_saves_no_row_twice(db, small_jobs, client_as, monkeypatch):
    job = start(client_as("fin_budget"), unit_rows())
    for _ in range(5):  # the check
        job = step(job)
    assert job.status == ImportJob.Status.APPLYING
    [msg] = pending()
    with transaction.atomic():
        outbox.enqueue(imports.TOPIC, msg.payload, key=msg.key)  # delivered at least once: here twice
    assert outbox.drain() == 2
    job.refresh_from_db()
    assert job.done == 7 and units_801() == 7
    assert [p.payload for p in pending()] == [{"job": job.pk, "at": N + 7}]  # one chain of steps, not two

    # the worker dies in the middle of a chunk: the chunk and the cursor roll back together, the step is retried
    real, calls = imports.import_row, {"n": 0}

    def dies_on_the_fourth_row(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            raise RuntimeError("worker killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(imports, "import_row", dies_on_the_fourth_row)
    assert outbox.drain() == 0
    job.refresh_from_db()
    [msg] = pending()
    assert job.done == 7 and units_801() == 7 and msg.attempts == 1 and "worker killed" in msg.last_error
    monkeypatch.setattr(imports, "import_row", real)
    OutboxMessage.objects.filter(pk=msg.pk).update(available_at=timezone.now() - dt.timedelta(seconds=1))
    job = step(job)
    assert job.done == 14 and units_801() == 14
    while not job.finished:
        job = step(job)
    assert job.status == ImportJob.Status.DONE and job.created == N and units_801() == N
