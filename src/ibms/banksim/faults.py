"""Fault injection: the faults an admin switches on (``POST /admin/faults``), injected crashes, tampering."""

from __future__ import annotations

import json
import os
import re
import sys

from .store import BadRequest

CRASH_POINTS = frozenset({"after_accept", "after_pay_before_feed", "after_publish", "after_refund_before_feed",
                          "after_clear_before_feed"})
FAULT_DEFAULTS: dict = {"refuse": False, "timeout": 0, "duplicate": False, "reorder": False, "replay": False,
                        "delay_receipts": 0, "tamper": False, "crash": ""}


class Faults:
    """The fault switches, kept in the bank's database (a mixin of :class:`ibms.banksim.bank.Bank`)."""

    def faults(self) -> dict:
        rows = dict(self.query("SELECT name, value FROM faults"))
        return {k: json.loads(rows[k]) if k in rows else v for k, v in FAULT_DEFAULTS.items()}

    def set_faults(self, data: dict) -> dict:
        unknown = set(data) - set(FAULT_DEFAULTS) - {"clear"}
        if unknown:
            raise BadRequest(400, "unknown_fault", ", ".join(sorted(unknown)))
        if data.get("crash") and data["crash"] not in CRASH_POINTS:
            raise BadRequest(400, "unknown_crash_point", str(data["crash"]))
        with self.txn() as db:
            if data.get("clear"):
                db.execute("DELETE FROM faults")
            for k, v in data.items():
                if k != "clear":
                    db.execute("INSERT OR REPLACE INTO faults(name, value) VALUES (?, ?)", (k, json.dumps(v)))
        return self.faults()

    def maybe_crash(self, point: str) -> None:
        if self.faults()["crash"] == point:
            with self.txn() as db:  # one-shot: the restarted process must not crash again
                db.execute("DELETE FROM faults WHERE name = 'crash'")
            sys.stderr.write(f"bank-sim: crash injected at {point}\n")
            sys.stderr.flush()
            os._exit(3)


def tampered(xml: bytes) -> bytes:
    """Alter one value after signing: the first amount gets one more fen, else the first field text."""
    m = re.search(rb"<(\w+Amt)>(\d+)\.(\d\d)</\1>", xml)
    if m:
        fen = int(m.group(2)) * 100 + int(m.group(3)) + 1
        return xml[:m.start()] + b"<%s>%d.%02d</%s>" % (m.group(1), fen // 100, fen % 100, m.group(1)) + \
            xml[m.end():]
    return re.sub(rb"(<Voucher><\w+>)", rb"\1X", xml, count=1)
