"""The simulator's HTTP interface (see :mod:`ibms.banksim.server` for the endpoints): parse, call the bank,
answer JSON or signed XML; admin endpoints need the ``X-Admin-Token`` header."""

from __future__ import annotations

import hmac
import json
import re
import sys
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, unquote, urlsplit

from ibms.banks import protocol as P

from .bank import Bank, business_day
from .store import BadRequest

MAX_BODY = P.MAX_MESSAGE_BYTES


def make_handler(bank: Bank, admin_token: str):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "ibms-bank-sim/1"

        def log_message(self, fmt, *args):  # quiet; errors still go to stderr below
            pass

        def _send(self, status: int, body: bytes, ctype: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, data) -> None:
            self._send(status, json.dumps(data, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8")

        def _xml(self, body: bytes) -> None:
            self._send(200, body, "application/xml; charset=utf-8")

        def _body(self) -> bytes:
            try:
                n = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                raise BadRequest(400, "bad_content_length") from None
            if n > MAX_BODY:
                raise BadRequest(413, "too_large")
            return self.rfile.read(n) if n else b""

        def _json_body(self) -> dict:
            raw = self._body()
            try:
                data = json.loads(raw or b"{}")
            except ValueError:
                raise BadRequest(400, "bad_json") from None
            if not isinstance(data, dict):
                raise BadRequest(400, "bad_json")
            return data

        def _admin(self) -> None:
            given = self.headers.get("X-Admin-Token", "")
            if not admin_token or not hmac.compare_digest(given.encode(), admin_token.encode()):
                raise BadRequest(403, "admin_token_required")

        def _dispatch(self, method: str) -> None:
            url = urlsplit(self.path)
            path = url.path.rstrip("/") or "/"
            qs = {k: v[-1] for k, v in parse_qs(url.query).items()}
            try:
                self._route(method, path, qs)
            except BadRequest as exc:
                self._json(exc.status, {"error": exc.code, "detail": exc.detail})
            except (BrokenPipeError, ConnectionResetError):
                pass
            except Exception as exc:  # noqa: BLE001 - a 500 for the client, the server keeps running
                sys.stderr.write(f"bank-sim: {method} {path}: {exc!r}\n")
                self._json(500, {"error": "internal", "detail": type(exc).__name__})

        def _route(self, method: str, path: str, qs: dict) -> None:
            if method == "GET" and path == "/healthz":
                return self._json(200, {"ok": True})
            if method == "GET" and path == "/api/public-key":
                return self._json(200, {"public_pem": bank.public_pem.decode("ascii"),
                                        "fingerprint": bank.fingerprint, "bank_code": bank.bank_code})
            if method == "POST" and path == "/api/vouchers":
                ack, wait = bank.receive_voucher(self._body())
                if wait:
                    time.sleep(wait)
                return self._xml(ack)
            if method == "GET" and path == "/api/messages":
                try:
                    after, limit = int(qs.get("after", 0)), min(max(int(qs.get("limit", 100)), 1), 1000)
                except ValueError:
                    raise BadRequest(400, "bad_query") from None
                return self._json(200, bank.feed(after, limit))
            m = re.fullmatch(r"/api/vouchers/(\d{6}|\d{9})/(\d{4})/([^/]+)", path)
            if method == "GET" and m:
                return self._xml(bank.status(m.group(1), int(m.group(2)), unquote(m.group(3)), qs.get("vt", "")))
            if method == "GET" and path == "/api/statements" and qs.get("account"):
                return self._xml(bank.account_statement(qs.get("adm", ""), qs["account"], qs.get("date", "")))
            if method == "GET" and path == "/api/statements":
                return self._xml(bank.statement(qs.get("adm", ""), qs.get("date", "")))
            if path.startswith("/admin/"):
                self._admin()
                return self._route_admin(method, path)
            raise BadRequest(404, "not_found", path)

        def _route_admin(self, method: str, path: str) -> None:
            if path == "/admin/trust" and method == "POST":
                data = self._json_body()
                fp = bank.trust(str(data.get("public_pem", "")), str(data.get("label", "")))
                return self._json(200, {"fingerprint": fp})
            if path == "/admin/signers":
                if method == "POST":
                    return self._json(200, {"fingerprints": bank.register_signers(self._json_body())})
                return self._json(200, {"signers": [r.as_dict() for r in bank.signer_records().values()]})
            if path == "/admin/faults":
                return self._json(200, bank.set_faults(self._json_body()) if method == "POST" else bank.faults())
            if path == "/admin/tick" and method == "POST":
                data = self._json_body()
                out = bank.process_due(force=True)
                out["recovered"] = bank.recover()
                out["published"] = bank.flush(all_pending=bool(data.get("publish_delayed")))
                return self._json(200, out)
            if path == "/admin/refund" and method == "POST":
                return self._json(200, bank.refund(self._json_body()))
            if path == "/admin/account-debit" and method == "POST":
                return self._json(200, bank.account_debit(self._json_body(), business_day()))
            if path == "/admin/clear" and method == "POST":
                return self._json(200, bank.clear(self._json_body()))
            if path == "/admin/bad-accounts":
                data = self._json_body() if method == "POST" else None
                return self._json(200, {"accounts": bank.bad_accounts(data)})
            if path == "/admin/balances":
                data = self._json_body() if method == "POST" else None
                return self._json(200, {"accounts": bank.balances(data)})
            if path == "/admin/vouchers" and method == "GET":
                return self._json(200, {"vouchers": bank.vouchers()})
            if path == "/admin/invariants" and method == "GET":
                return self._json(200, bank.invariants())
            if path == "/admin/feed" and method == "GET":
                return self._json(200, {"feed": bank.feed_rows()})
            raise BadRequest(404, "not_found", path)

        def do_GET(self):  # noqa: N802 - http.server's naming
            self._dispatch("GET")

        def do_POST(self):  # noqa: N802
            self._dispatch("POST")

    return Handler
