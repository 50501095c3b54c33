"""The `ibms` command: demo, serve, worker, bank-sim, verify, gen, setup — and `ibms manage …` for Django's own."""

from __future__ import annotations

import os
import sys

COMMANDS = {
    "demo": "set up, load the demo province and serve it on http://127.0.0.1:8000",
    "setup": "migrate, load reference data and roles",
    "serve": "serve the web app",
    "worker": "run the background worker (outbox, bank feed, periodic jobs)",
    "bank-sim": "run the agent-bank simulator (its own process, database and keys): --port N --db PATH",
    "verify": "check every invariant; non-zero exit names what is broken",
    "check-security": "check the deployment's security settings (secret key, DEBUG, key-encryption key, TLS, CSP); "
                      "non-zero exit names the failed check ids",
    "close-year": "run the year-end checklist of a region and year: --region CODE --year N [--step CODE]",
    "gen": "generate deterministic synthetic data: --scale small|city|province|chongqing --seed N",
    "manage": "any Django management command",
}


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ibms.config.settings")
    if not argv or argv[0] in ("-h", "--help", "help"):
        print("usage: ibms <command> [options]\n")
        for name, text in COMMANDS.items():
            print(f"  {name:<14} {text}")
        return
    if argv[0] not in COMMANDS:
        print(f"ibms: unknown command {argv[0]!r}; try 'ibms --help'", file=sys.stderr)
        raise SystemExit(2)
    if argv[0] == "bank-sim":  # no Django: the simulator is another party with its own database
        from ibms.banksim.server import main as bank_sim

        bank_sim(argv[1:])
        return
    from django.core.management import ManagementUtility

    if argv[0] == "check-security":  # Django's deployment checks and ours (ibms.core.checks), failing on any error
        argv = ["check", "--deploy", "--tag", "security", "--fail-level", "ERROR", *argv[1:]]
    if argv[0] == "close-year":
        argv = ["close_year", *argv[1:]]
    args = argv[1:] if argv[0] == "manage" else argv
    ManagementUtility(["ibms", *args]).execute()


if __name__ == "__main__":
    main()
