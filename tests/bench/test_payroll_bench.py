"""Smoke test of bench/payroll.py, so the benchmark cannot rot: a month of 30 people on a new SQLite file; the bench
itself fails unless every slip was generated, the run paid, every request receipted and the baseline inserted as
many rows."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "payroll.py"


def test_payroll_bench_pays_a_month(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "IBMS_DATABASE_URL"}
    env["IBMS_VAR_DIR"] = str(tmp_path)
    done = subprocess.run([sys.executable, str(BENCH), "--people", "30", "--db", f"sqlite:///{tmp_path}/b.sqlite3"],
                          env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "check: 30 slips; run paid; 3 requests paid by receipt; gross 240,000.00 yuan" in out
    for label in ("  generate", "  pay (3 requests)", "  receipt (3 vouchers, both books)",
                  "month generated, approved and paid", "baseline: plain INSERT of the slips"):
        m = re.search(rf"^{re.escape(label)}\s+([\d.]+)\s+([\d,]+)\s", out, re.M)
        assert m and int(m.group(2).replace(",", "")) > 0, f"no line {label!r} in:\n{out}"
