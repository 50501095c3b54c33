"""Named crash points for fault-injection runs: `IBMS_CRASH_AT=<name>` makes the process die there, at once and
without cleanup (`os._exit`), as a power cut or `kill -9` would. Unset (always, in production) it costs one dict
lookup. Used by the payment-chain crash tests (tests/concurrency) to restart the worker after each step."""

from __future__ import annotations

import os

CRASH_EXIT_CODE = 137


def crash_point(name: str) -> None:
    if os.environ.get("IBMS_CRASH_AT") == name:
        os._exit(CRASH_EXIT_CODE)
