"""Smoke test of bench/closing.py, so the benchmark cannot rot: the smallest generated province on a new SQLite
file, the year end run in its first two regions (the province and one city); the bench itself fails unless every
carry-over run executed, every checklist step it ran is done and the baseline copied as many rows as were carried."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "closing.py"


def test_closing_bench_runs_the_year_end_on_a_small_province(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "IBMS_DATABASE_URL"}
    env["IBMS_VAR_DIR"] = str(tmp_path)
    done = subprocess.run([sys.executable, str(BENCH), "--scale", "small", "--regions", "2",
                           "--db", f"sqlite:///{tmp_path}/bench.sqlite3"],
                          env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "check: 2/2 carry runs executed; every year-end step done in every region" in out

    def rows(label: str) -> int:
        m = re.search(rf"^{re.escape(label)}\s+([\d,]+)\s", out, re.M)
        assert m, f"no line {label!r} in:\n{out}"
        return int(m.group(1).replace(",", ""))

    carried = rows("(a) carry-over")
    assert carried > 0
    assert rows("  carry_run_propose") + rows("  carry_run_execute (chunks of 200)") == carried
    for step in ("periods_closed", "year_end_entries", "accounts_closed", "next_year_opened"):
        assert rows(f"  {step}") > 0
    assert rows("(c) baseline: INSERT … SELECT (1 transaction)") == carried
