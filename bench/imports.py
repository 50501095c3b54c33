"""Benchmark the Excel import path at scale, each figure with wall clock and this process's CPU time (which tells
a busy shared machine from a slow program):

- baseline: plain openpyxl (read-only, values only, no checks) over the same 50,000-row 人员信息 file;
- `core.excel.read_rows` on it (limits, header scan, every cell validated), with and without a <dimension>;
- refusals: a zip bomb (under 1 MB, 400 MiB inflated) and a sheet declaring 1,048,576 rows;
- `core.services.resource_import` (the page's all-or-nothing ModelForm + audit per row) on --import-rows rows,
  projected to 50,000 rows against `IBMS_IMPORT_MAX_SECONDS` and gunicorn's 120 s worker timeout;
- the background job (`core.imports`) over the same rows (now updates), drained step by step: the longest
  step against the outbox lease.

    .venv/bin/python bench/imports.py [--rows 50000] [--import-rows 1000] [--db postgres://…/ibms_scratch]

Without --db it uses a new SQLite file in a temporary directory. With --db the database must be a scratch one.
"""

from __future__ import annotations

import argparse
import io
import time
import zipfile

from _common import scratch_django  # bench/_common.py, beside this script

HEADERS = ["单位代码", "姓名", "身份证号", "人员状态", "编制类型", "职务", "级别", "基本工资（月）", "津贴补贴（月）",
           "奖金（月）", "绩效工资（月）", "启用"]


def people_xlsx(n: int, *, write_only: bool) -> bytes:
    """`n` people of unit 001001; write-only files have no <dimension> (as many generators), others have one."""
    from openpyxl import Workbook

    from ibms.core.codes import id_check_char

    wb = Workbook(write_only=write_only)
    ws = wb.create_sheet("人员信息") if write_only else wb.active
    ws.append(HEADERS)
    for i in range(n):
        body = f"{990101000000000 + i:017d}"
        ws.append(["001001", f"人员{i}", body + id_check_char(body), "在职", "事业编制", "科员", "一级", "5000.00",
                   "1200.50", "", "800", "是"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def timed(label: str, fn, *, ms: bool = False):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    w, c = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label}: wall {w * 1000:.1f} ms, cpu {c * 1000:.1f} ms" if ms else f"{label}: wall {w:.1f} s, cpu {c:.1f} s")
    return out, (w, c)


def openpyxl_baseline(data: bytes) -> int:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    n = sum(1 for _ in wb.worksheets[0].iter_rows(values_only=True))
    wb.close()
    return n


def zip_bomb() -> bytes:
    """A valid workbook whose sheet is 400 MiB of spaces (deflated to a few hundred KiB)."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(HEADERS)
    buf = io.BytesIO()
    wb.save(buf)
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                dst.writestr(info.filename, src.read(info.filename))
                continue
            zi = zipfile.ZipInfo(info.filename)
            zi.compress_type = zipfile.ZIP_DEFLATED
            with dst.open(zi, "w") as fh:
                fh.write(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
                for _ in range(400):
                    fh.write(b" " * (1024 * 1024))
                fh.write(b"</sheetData></worksheet>")
    return out.getvalue()


def tall_sheet() -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(HEADERS)
    wb.active.cell(row=1_048_576, column=1).value = "x"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def refused_code(fn) -> str:
    from ibms.core.excel import ImportRejected

    try:
        fn()
    except ImportRejected as exc:
        return exc.errors[0].code
    return "accepted"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--import-rows", type=int, default=1_000)
    ap.add_argument("--db", default=None)
    args = ap.parse_args()
    scratch_django("imports", args.db)
    from django.conf import settings

    from ibms.core import excel
    from ibms.core.resources import get_resource
    from ibms.core.services import resource_import
    from ibms.demo.province import load_demo_province
    from ibms.iam.models import User

    cols = get_resource("people").excel
    big = 50 * 1024 * 1024
    for write_only in (True, False):
        data = people_xlsx(args.rows, write_only=write_only)
        kind = "no dimension" if write_only else "with dimension"
        print(f"-- {args.rows} rows, {kind}, {len(data) / 1e6:.1f} MB")
        n, base = timed("baseline openpyxl read-only iteration", lambda d=data: openpyxl_baseline(d))
        rows, took = timed("read_rows (limits + validation)", lambda d=data: excel.read_rows(d, cols, max_bytes=big))
        assert len(rows) == args.rows and n == args.rows + 1
        print(f"   read_rows / baseline: wall {took[0] / base[0]:.2f}, cpu {took[1] / base[1]:.2f}")
    bomb, tall = zip_bomb(), tall_sheet()
    print(f"-- refusals (zip bomb {len(bomb) // 1024} KiB → 400 MiB; sheet declaring 1,048,576 rows)")
    code, _ = timed("zip bomb", lambda: refused_code(lambda: excel.read_rows(bomb, cols)), ms=True)
    print(f"   refused with {code}")
    code, _ = timed("oversized sheet", lambda: refused_code(lambda: excel.read_rows(tall, cols)), ms=True)
    print(f"   refused with {code}")
    load_demo_province()
    actor = User.objects.get(username="fin_budget")
    rows = excel.read_rows(people_xlsx(args.import_rows, write_only=True), cols)
    res, took = timed(f"-- resource_import {args.import_rows} rows", lambda: resource_import(
        actor=actor, resource=get_resource("people"), rows=rows))
    per_row = took[0] / args.import_rows
    print(f"   {res}; wall {per_row * 1000:.1f} ms/row (cpu {took[1] / args.import_rows * 1000:.1f}) → 50,000 rows ≈ {per_row * 50_000:.0f} s "
          f"(page budget IBMS_IMPORT_MAX_SECONDS = {settings.IBMS_IMPORT_MAX_SECONDS:.0f} s ≈ "
          f"{settings.IBMS_IMPORT_MAX_SECONDS / per_row:.0f} rows; gunicorn timeout 120 s)")
    job_step_bench(actor, get_resource("people"), rows)


def job_step_bench(actor, resource, rows) -> None:
    from django.conf import settings

    from ibms.core import imports, outbox

    t0 = time.perf_counter()
    job = imports.import_job_start(actor=actor, resource=resource, rows=rows, filename="bench.xlsx")
    steps, longest = 0, 0.0
    while not job.finished:
        t = time.perf_counter()
        outbox.drain()
        longest, steps = max(longest, time.perf_counter() - t), steps + 1
        job.refresh_from_db()
    wall = time.perf_counter() - t0
    print(f"-- import job {len(rows)} rows: {job.get_status_display()}, {steps} steps of "
          f"{settings.IBMS_IMPORT_JOB_CHUNK_ROWS} rows, wall {wall:.1f} s ({wall / len(rows) * 1000:.1f} ms/row, "
          f"check + apply), longest step {longest:.1f} s (outbox lease {outbox.lease_seconds():.0f} s)")


if __name__ == "__main__":
    main()
