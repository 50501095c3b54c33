"""Large Excel imports as a background job: the upload is checked and parsed in the request (`core.excel` limits),
the rows are kept on an `ImportJob`, and the worker runs it one chunk per outbox message
(`IBMS_IMPORT_JOB_CHUNK_ROWS` rows, seconds each, well inside the outbox lease):

1. 校验中 — every row is saved in a savepoint that is rolled back (nothing is written) and its problems recorded;
   a file with any problem fails as a whole, as the synchronous import does. A row's problem in a column that
   names a row of an earlier chunk (its natural key or 代码, e.g. 上级单位代码) is left to the apply pass, which
   has that row saved by then.
2. 导入中 — chunk after chunk, each saved in the worker's transaction together with the job's cursor (`done`),
   the message's delivery and the next step's message: a crash rolls the chunk back and the message is
   delivered again; a message whose position is not the job's (a duplicate) does nothing, so no row is saved
   twice. A chunk refused here (data changed since the check) fails the job; earlier chunks stay imported.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import outbox
from .errors import NotFound, PermissionDenied
from .models import ImportJob
from .resources import Resource, get_resource
from .scoping import require_perm
from .services import RowProblem, import_headers, import_row
from .transactions import in_callers_transaction

TOPIC = "core.import_job"
MAX_PROBLEMS = 1000  # kept on a failed job (the count is reported beside them)
S = ImportJob.Status
_STEP_FIELDS = ["status", "checked", "done", "created", "updated", "problems", "finished_at", "updated_at"]


def sync_max_rows() -> int:
    """Files with more data rows than this are imported by a background job."""
    return int(settings.IBMS_IMPORT_SYNC_MAX_ROWS)


def chunk_rows() -> int:
    return max(1, int(settings.IBMS_IMPORT_JOB_CHUNK_ROWS))


def import_job_start(*, actor, resource: Resource, rows: list[dict], filename: str = "") -> ImportJob:
    """Queue `rows` (as `core.excel.read_rows` returns them) for the worker."""
    require_perm(actor, resource.perm("add"))
    with transaction.atomic(durable=True):
        job = ImportJob.objects.create(created_by=actor, resource=resource.slug, filename=filename[:200],
                                       rows=rows, total=len(rows))
        _next(job)
    return job


def import_job_for(user, slug: str, pk: int) -> ImportJob:
    """The job, for the person who started it only (404 for everyone else)."""
    job = (ImportJob.objects.defer("rows").filter(pk=pk, resource=slug, created_by_id=user.pk).first()
           if user.is_authenticated else None)
    if job is None:
        raise NotFound("导入任务")
    return job


@in_callers_transaction
def _next(job: ImportJob) -> None:
    outbox.enqueue(TOPIC, {"job": job.pk, "at": job.progress}, key=f"import-job-{job.pk}")


@outbox.handler(TOPIC)
def _deliver(msg) -> None:
    import_job_step(msg.payload["job"], at=msg.payload.get("at", 0))


@in_callers_transaction
def import_job_step(job_id: int, *, at: int) -> None:
    """One chunk of job `job_id`, if the job still stands at position `at` (checked + done); then the next step is
    enqueued in the same transaction."""
    job = (ImportJob.objects.select_for_update(of=("self",)).select_related("created_by")  # not the user row
           .filter(pk=job_id).first())
    if job is None or job.finished or job.progress != at:
        return  # gone, finished, or a duplicate of a step already done
    resource = get_resource(job.resource)
    try:
        require_perm(job.created_by, resource.perm("add"))
    except PermissionDenied as exc:
        _fail(job, _problem_dicts([RowProblem(0, "整行", exc.message)]))
    else:
        (_check_chunk if job.status in (S.QUEUED, S.VALIDATING) else _apply_chunk)(job, resource)
    job.save(update_fields=_STEP_FIELDS + (["rows"] if job.finished else []))  # the rows stay as they are
    if not job.finished:
        _next(job)


def _problem_dicts(problems: list[RowProblem]) -> list[dict]:
    return [{"row": p.row, "column": p.column, "message": p.message} for p in problems]


def _fail(job: ImportJob, problems: list[dict]) -> None:
    job.problems = (job.problems + problems)[:MAX_PROBLEMS]
    job.status, job.finished_at, job.rows = S.FAILED, timezone.now(), []


def _ref_keys(resource: Resource) -> list[str]:
    keys = list(resource.natural_key)
    return keys + ["code"] if "code" not in keys and any(c.key == "code" for c in resource.excel) else keys


class _Undo(Exception):
    pass


def _check_chunk(job: ImportJob, resource: Resource) -> None:
    start, end = job.checked, min(job.checked + chunk_rows(), job.total)
    headers = import_headers(resource)
    by_header = {h: k for k, h in headers.items()}
    refs = _ref_keys(resource)
    earlier = {str(r[k]) for r in job.rows[:start] for k in refs if r.get(k) not in (None, "")}
    problems: list[RowProblem] = []
    try:
        with transaction.atomic():
            for row in job.rows[start:end]:
                _, bad = import_row(job.created_by, resource, row, headers)
                problems += [p for p in bad if str(row.get(by_header.get(p.column, ""), "")) not in earlier]
            raise _Undo  # a check: nothing it saved stays
    except _Undo:
        pass
    job.status, job.checked = S.VALIDATING, end
    job.problems = (job.problems + _problem_dicts(problems))[:MAX_PROBLEMS]
    if end >= job.total:
        if job.problems:
            _fail(job, [])
        else:
            job.status = S.APPLYING


def _apply_chunk(job: ImportJob, resource: Resource) -> None:
    start, end = job.done, min(job.done + chunk_rows(), job.total)
    headers = import_headers(resource)
    problems: list[RowProblem] = []
    counts = {"created": 0, "updated": 0}
    try:
        with transaction.atomic():
            for row in job.rows[start:end]:
                kind, bad = import_row(job.created_by, resource, row, headers)
                if kind:
                    counts[kind] += 1
                problems += bad
            if problems:
                raise _Undo
    except _Undo:
        note = RowProblem(job.rows[start].get("_row", 0), "整行",
                          f"校验通过后数据已变化，本批未保存；此前已导入 {job.done} 行")
        _fail(job, _problem_dicts([note, *problems]))
        return
    job.done, job.created, job.updated = end, job.created + counts["created"], job.updated + counts["updated"]
    if end >= job.total:
        job.status, job.finished_at, job.rows = S.DONE, timezone.now(), []
