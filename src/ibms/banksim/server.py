"""The agent-bank simulator: ``ibms bank-sim --port N --db PATH --keys DIR --admin-token T [--pay-delay S]``.

Another party with its own process, SQLite database (WAL) and SM2 key; it speaks :mod:`ibms.banks.protocol`.
Imports only the protocol and :mod:`ibms.core.crypto` — never Django.

HTTP (JSON unless noted; admin endpoints need header ``X-Admin-Token``):

- ``GET  /api/public-key`` → ``{"public_pem", "fingerprint", "bank_code"}``
- ``POST /api/vouchers`` (body: signed voucher XML) → signed ack XML (``Result`` accepted | rejected | duplicate).
  Vouchers are keyed by (AdmDivCode, StYear, VoucherNo): a resend answers ``duplicate`` with the current ``State``
  and never pays twice. 503 = refused (nothing stored; safe to resend). Every stamp must be a trusted seal or a
  registered signer, and the voucher must carry the personal signature of a registered signer of its unit
  (``AgencyCode``) or of the region's finance that is neither revoked nor expired; otherwise ``rejected`` with
  ``ReasonCode`` ``personal_signature_required`` | ``signer_not_registered`` | ``signer_revoked`` | ``signer_expired``.
- ``GET  /api/messages?after=SEQ&limit=N`` → ``{"messages": [{"seq", "xml"}], "last_seq"}``; each xml is bank-signed.
- ``GET  /api/vouchers/<AdmDivCode>/<StYear>/<VoucherNo>`` → signed ``status`` XML.
- ``GET  /api/statements?adm=<AdmDivCode>&date=YYYY-MM-DD`` → signed daily ``statement`` XML (VtCode 4005);
  with ``&account=<AcctNo>`` the statement of that one account (:mod:`.accounts`).
- ``POST /admin/trust`` ``{"public_pem", "label"}`` (a seal key); ``GET|POST /admin/signers``
  ``{"signers": [signer record, …]}`` (:class:`ibms.banks.protocol.SignerRecord`: a person's public key, region,
  unit code, role, validity, revoked; posting a known fingerprint again replaces its record, e.g. a revocation);
  ``GET|POST /admin/faults``; ``POST /admin/tick``;
  ``POST /admin/refund`` ``{"adm", "year", "voucher_no", "amount" (fen), "reason", "refund_no"?}``;
  ``POST /admin/clear`` ``{"date"}`` (not 8209: a unit's own money is not cleared with the treasury);
  ``POST /admin/account-debit`` (a debit no voucher explains, :mod:`.accounts`);
  ``GET|POST /admin/bad-accounts`` ``{"accounts": [{"acct", "reason", "name"}]}``;
  ``GET|POST /admin/balances``; ``GET /admin/vouchers``; ``GET /admin/invariants``.

Faults (``POST /admin/faults`` merges the given keys; ``{"clear": true}`` resets all):
``refuse`` (503, nothing stored), ``timeout`` (seconds: accept and persist, answer only after that long),
``duplicate`` (each feed message published twice), ``reorder`` (each feed page shuffled), ``replay`` (each new
feed message is followed by an old one re-published under a new seq), ``delay_receipts`` (seconds before a
receipt/return/refund/clearing reaches the feed), ``tamper`` (acks altered after signing; feed messages get an
altered copy published before the genuine one), ``crash`` (one of :data:`CRASH_POINTS`: ``os._exit`` there once).

This module is the command line; the bank is :mod:`.bank` (storage :mod:`.store`, fault switches :mod:`.faults`,
publishing :mod:`.feed`) and the HTTP handler :mod:`.http`.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from http.server import ThreadingHTTPServer

from .bank import NAME_MISMATCH, NO_ACCOUNT, Bank, clearing_vt
from .faults import CRASH_POINTS, FAULT_DEFAULTS
from .http import MAX_BODY, make_handler
from .store import SCHEMA, BadRequest

__all__ = ["CRASH_POINTS", "FAULT_DEFAULTS", "MAX_BODY", "NAME_MISMATCH", "NO_ACCOUNT", "SCHEMA", "BadRequest", "Bank",
           "clearing_vt", "main", "make_handler"]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="ibms bank-sim", description="agent-bank simulator")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--db", required=True, help="SQLite file of the bank's own state")
    ap.add_argument("--keys", required=True, help="directory of the bank's SM2 key (created on first start)")
    ap.add_argument("--admin-token", default=os.environ.get("IBMS_BANKSIM_ADMIN_TOKEN", ""))
    ap.add_argument("--pay-delay", type=float, default=1.0, help="seconds from acceptance to payment")
    ap.add_argument("--bank-code", default="SIM")
    args = ap.parse_args(argv)
    if not args.admin_token:
        ap.error("--admin-token (or IBMS_BANKSIM_ADMIN_TOKEN) is required")
    bank = Bank(args.db, args.keys, pay_delay=args.pay_delay, bank_code=args.bank_code)
    bank.recover()
    server = ThreadingHTTPServer((args.host, args.port), make_handler(bank, args.admin_token))
    server.daemon_threads = True
    stop = threading.Event()
    worker = threading.Thread(target=bank.background, args=(stop,), daemon=True, name="bank-sim-worker")
    worker.start()
    sys.stderr.write(f"bank-sim listening on http://{args.host}:{server.server_port} (key {bank.fingerprint[:16]})\n")
    sys.stderr.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.server_close()
