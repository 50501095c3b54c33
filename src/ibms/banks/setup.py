"""Set-up every deployment needs for this app (called by `ibms setup` / `demo.setup.setup_system`).

Nothing is fetched at set-up (no network): agent-bank endpoints are registered by `services.endpoint_register`
(the demo registers the simulator it starts); seal keys are created on first use."""

from __future__ import annotations


def setup_app(years: list[int]) -> None:
    return None
