"""The agent-bank simulator: ``ibms bank-sim --port N --db PATH --keys DIR --admin-token T [--pay-delay S]``.

Another party with its own process, SQLite database (WAL) and SM2 key; it speaks :mod:`ibms.banks.protocol`.
Imports only the protocol and :mod:`ibms.core.crypto` — never Django.

HTTP (JSON unless noted; admin endpoints need header ``X-Admin-Token``):

- ``GET  /api/public-key`` → ``{"public_pem", "fingerprint", "bank_code"}``
- ``POST /api/vouchers`` (body: signed voucher XML) → signed ack XML (``Result`` accepted | rejected | duplicate).
  Vouchers are keyed by (AdmDivCode, StYear, VoucherNo): a resend answers ``duplicate`` with the current ``State``
  and never pays twice. 503 = refused (nothing stored; safe to resend).
- ``GET  /api/messages?after=SEQ&limit=N`` → ``{"messages": [{"seq", "xml"}], "last_seq"}``; each xml is bank-signed.
- ``GET  /api/vouchers/<AdmDivCode>/<StYear>/<VoucherNo>`` → signed ``status`` XML.
- ``GET  /api/statements?adm=<AdmDivCode>&date=YYYY-MM-DD`` → signed daily ``statement`` XML (VtCode 4005).
- ``POST /admin/trust`` ``{"public_pem", "label"}``; ``GET|POST /admin/faults``; ``POST /admin/tick``;
  ``POST /admin/refund`` ``{"adm", "year", "voucher_no", "amount" (fen), "reason", "refund_no"?}``;
  ``POST /admin/clear`` ``{"date"}``; ``GET|POST /admin/bad-accounts`` ``{"accounts": [{"acct", "reason", "name"}]}``;
  ``GET|POST /admin/balances``; ``GET /admin/vouchers``; ``GET /admin/invariants``.

Faults (``POST /admin/faults`` merges the given keys; ``{"clear": true}`` resets all):
``refuse`` (503, nothing stored), ``timeout`` (seconds: accept and persist, answer only after that long),
``duplicate`` (each feed message published twice), ``reorder`` (each feed page shuffled), ``replay`` (each new
feed message is followed by an old one re-published under a new seq), ``delay_receipts`` (seconds before a
receipt/return/refund/clearing reaches the feed), ``tamper`` (acks altered after signing; feed messages get an
altered copy published before the genuine one), ``crash`` (one of :data:`CRASH_POINTS`: ``os._exit`` there once).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hmac
import json
import os
import random
import re
import sqlite3
import sys
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from ibms.banks import protocol as P
from ibms.core.crypto import SoftwareSM2Signer, generate_sm2_keypair, public_key_fingerprint

CRASH_POINTS = frozenset({"after_accept", "after_pay_before_feed", "after_publish", "after_refund_before_feed",
                          "after_clear_before_feed"})
FAULT_DEFAULTS: dict = {"refuse": False, "timeout": 0, "duplicate": False, "reorder": False, "replay": False,
                        "delay_receipts": 0, "tamper": False, "crash": ""}
NO_ACCOUNT = "收款账号不存在"
NAME_MISMATCH = "户名不符"
MAX_BODY = P.MAX_MESSAGE_BYTES

SCHEMA = """
CREATE TABLE IF NOT EXISTS vouchers(
  adm TEXT NOT NULL, year INTEGER NOT NULL, voucher_no TEXT NOT NULL, vt_code TEXT NOT NULL, msg_id TEXT NOT NULL,
  digest TEXT NOT NULL, state TEXT NOT NULL, pay_amt INTEGER NOT NULL, payer_acct TEXT NOT NULL,
  payer_name TEXT NOT NULL DEFAULT '', lines TEXT NOT NULL, accepted_at REAL NOT NULL, due_at REAL NOT NULL,
  settled_day TEXT NOT NULL DEFAULT '', agent_business_no TEXT NOT NULL DEFAULT '',
  return_reason TEXT NOT NULL DEFAULT '', return_code TEXT NOT NULL DEFAULT '', bad_lines TEXT NOT NULL DEFAULT '[]',
  refunded_amt INTEGER NOT NULL DEFAULT 0, cleared_no TEXT NOT NULL DEFAULT '', published INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(adm, year, voucher_no));
CREATE TABLE IF NOT EXISTS payments(
  id INTEGER PRIMARY KEY AUTOINCREMENT, adm TEXT NOT NULL, year INTEGER NOT NULL, voucher_no TEXT NOT NULL,
  line INTEGER NOT NULL, kind TEXT NOT NULL, ref TEXT NOT NULL DEFAULT '', debit_acct TEXT NOT NULL,
  credit_acct TEXT NOT NULL, amount INTEGER NOT NULL, day TEXT NOT NULL,
  UNIQUE(adm, year, voucher_no, line, kind, ref));
CREATE TABLE IF NOT EXISTS accounts(acct TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '',
  balance INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS feed(seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, msg_id TEXT NOT NULL,
  xml BLOB NOT NULL, note TEXT NOT NULL DEFAULT '', published_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS pending(id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, msg_id TEXT NOT NULL,
  xml BLOB NOT NULL, publish_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS trusted(fingerprint TEXT PRIMARY KEY, pem TEXT NOT NULL, label TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS faults(name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS bad_accounts(acct TEXT PRIMARY KEY, reason TEXT NOT NULL, name TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS refunds(refund_no TEXT PRIMARY KEY, adm TEXT NOT NULL, year INTEGER NOT NULL,
  voucher_no TEXT NOT NULL, amount INTEGER NOT NULL, reason TEXT NOT NULL, day TEXT NOT NULL,
  published INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS clearings(clear_no TEXT PRIMARY KEY, adm TEXT NOT NULL, year INTEGER NOT NULL,
  vt_code TEXT NOT NULL, day TEXT NOT NULL, amount INTEGER NOT NULL, vouchers TEXT NOT NULL,
  published INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class BadRequest(Exception):
    def __init__(self, status: int, code: str, detail: str = "") -> None:
        super().__init__(code)
        self.status, self.code, self.detail = status, code, detail


def clearing_vt(vt_code: str) -> str:
    """Direct payment and allocation clear as 2301, authorized and batch as 2303."""
    return "2301" if vt_code in ("5201", "5207") else "2303"


class Bank:
    """The bank's state and behaviour; every DB access holds ``self.lock`` (one connection)."""

    def __init__(self, db_path: str, keys_dir: str, *, pay_delay: float = 1.0, bank_code: str = "SIM") -> None:
        self.bank_code = bank_code
        self.pay_delay = pay_delay
        self.lock = threading.RLock()
        Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)
        self.signer = self._load_key(Path(keys_dir))
        self.public_pem = self.signer.public_pem
        self.fingerprint = public_key_fingerprint(self.public_pem)

    # --- infrastructure -----------------------------------------------------------------------

    @staticmethod
    def _load_key(keys: Path) -> SoftwareSM2Signer:
        keys.mkdir(parents=True, exist_ok=True)
        priv = keys / "bank_sm2.pem"
        if not priv.exists():
            kp = generate_sm2_keypair()
            tmp = keys / "bank_sm2.pem.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(kp.private_pem)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, priv)
            (keys / "bank_sm2.pub.pem").write_bytes(kp.public_pem)
        return SoftwareSM2Signer(priv.read_bytes())

    @contextmanager
    def txn(self):
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def query(self, sql: str, args=()) -> list[tuple]:
        with self.lock:
            return self.db.execute(sql, args).fetchall()

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

    def next_counter(self, db, name: str) -> int:
        db.execute("INSERT OR IGNORE INTO counters(name, value) VALUES (?, 0)", (name,))
        db.execute("UPDATE counters SET value = value + 1 WHERE name = ?", (name,))
        return db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()[0]

    def signed(self, msg: P.Message) -> bytes:
        P.sign(msg, self.signer, kind="bank")
        return P.to_xml(msg)

    @staticmethod
    def tampered(xml: bytes) -> bytes:
        """Alter one value after signing: the first amount gets one more fen, else the first field text."""
        m = re.search(rb"<(\w+Amt)>(\d+)\.(\d\d)</\1>", xml)
        if m:
            fen = int(m.group(2)) * 100 + int(m.group(3)) + 1
            return xml[:m.start()] + b"<%s>%d.%02d</%s>" % (m.group(1), fen // 100, fen % 100, m.group(1)) + \
                xml[m.end():]
        return re.sub(rb"(<Voucher><\w+>)", rb"\1X", xml, count=1)

    # --- inbound vouchers ---------------------------------------------------------------------

    def _ack(self, *, adm: str, year: int, vt: str, no: str, result: str, code: str = "", reason: str = "",
             state: str = "") -> bytes:
        fields = {"Result": result, "ReasonCode": code, "Reason": reason, "State": state,
                  "AgentBankCode": self.bank_code}
        msg = P.build("ack", region_code=adm, year=year, vt_code=vt, voucher_no=no,
                      fields={k: v for k, v in fields.items() if v})
        xml = self.signed(msg)
        if self.faults()["tamper"]:
            xml = xml.replace(b"<AgentBankCode>", b"<AgentBankCode>X", 1)
        return xml

    def receive_voucher(self, body: bytes) -> tuple[bytes, float]:
        """Returns (ack xml, seconds to wait before answering)."""
        faults = self.faults()
        if faults["refuse"]:
            raise BadRequest(503, "refused", "bank refuses connections (fault)")
        try:
            msg = P.parse(body)
        except P.ProtocolError as exc:
            head = {k.decode(): v.decode("utf-8", "replace")
                    for k, v in re.findall(rb'(AdmDivCode|StYear|VtCode|VoucherNo)=["\']([^"\']*)["\']', body[:4096])}
            adm = head.get("AdmDivCode", "") if re.fullmatch(r"\d{6}|\d{9}", head.get("AdmDivCode", "")) else "000000"
            year = int(head["StYear"]) if re.fullmatch(r"\d{4}", head.get("StYear", "")) else 1970
            vt = head.get("VtCode", "") if re.fullmatch(r"\d{4}", head.get("VtCode", "")) else "0000"
            no = head.get("VoucherNo", "")
            no = no if no and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_\-./]{0,63}", no) else "UNKNOWN"
            return self._ack(adm=adm, year=year, vt=vt, no=no, result="rejected", code=exc.code,
                             reason=exc.detail[:200] or exc.code), 0
        ident = dict(adm=msg.region_code, year=msg.year, vt=msg.vt_code, no=msg.voucher_no)
        if msg.kind != "voucher":
            return self._ack(**ident, result="rejected", code="not_a_voucher", reason=msg.kind), 0
        trusted = dict(self.query("SELECT fingerprint, pem FROM trusted"))
        check = P.verify(msg, trusted)
        if check.ok and not ({s.kind for s in msg.stamps} & {"unit", "finance"}):
            check = P.VerifyResult(False, "missing_stamp_kind", check.stamps)
        if not check.ok:
            return self._ack(**ident, result="rejected", code=check.code, reason="签章验证失败"), 0
        f = msg.fields
        lines = ([{"line": i, "acct": d["PayeeAcctNo"], "name": d["PayeeAcctName"], "amt": d["PayAmt"]}
                  for i, d in enumerate(msg.details, 1)] if msg.details else
                 [{"line": 1, "acct": f["PayeeAcctNo"], "name": f["PayeeAcctName"], "amt": f["PayAmt"]}])
        digest = P.message_digest(msg.payload)
        now = time.time()
        with self.txn() as db:
            row = db.execute("SELECT state, digest FROM vouchers WHERE adm=? AND year=? AND voucher_no=?",
                             (msg.region_code, msg.year, msg.voucher_no)).fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO vouchers(adm, year, voucher_no, vt_code, msg_id, digest, state, pay_amt, payer_acct,"
                    " payer_name, lines, accepted_at, due_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (msg.region_code, msg.year, msg.voucher_no, msg.vt_code, msg.msg_id, digest, "accepted",
                     f["PayAmt"], f["PayAcctNo"], str(f.get("PayAcctName", "")), json.dumps(lines, ensure_ascii=False),
                     now, now + self.pay_delay))
        if row is not None:
            state, old_digest = row
            note = "" if old_digest == digest else "content differs from the accepted voucher"
            return self._ack(**ident, result="duplicate", code="different_content" if note else "",
                             reason=note, state=state), 0
        self.maybe_crash("after_accept")
        return self._ack(**ident, result="accepted", state="accepted"), float(faults["timeout"] or 0)

    # --- paying -------------------------------------------------------------------------------

    def _bad_line(self, db, line: dict) -> str:
        row = db.execute("SELECT reason, name FROM bad_accounts WHERE acct = ?", (line["acct"],)).fetchone()
        if row is None:
            return ""
        reason, name = row
        if name:
            return NAME_MISMATCH if name != line["name"] else ""
        return reason or NO_ACCOUNT

    def _credit(self, db, acct: str, name: str, amount: int) -> None:
        db.execute("INSERT OR IGNORE INTO accounts(acct, name) VALUES (?, ?)", (acct, name))
        db.execute("UPDATE accounts SET balance = balance + ? WHERE acct = ?", (amount, acct))

    def process_due(self, *, force: bool = False) -> dict:
        """Pay (or return) accepted vouchers whose time has come; each in its own transaction."""
        now = time.time()
        due = self.query("SELECT adm, year, voucher_no FROM vouchers WHERE state='accepted'"
                         + ("" if force else " AND due_at <= ?") + " ORDER BY accepted_at",
                         () if force else (now,))
        paid = returned = 0
        for adm, year, no in due:
            outcome = self._settle(adm, year, no)
            paid += outcome == "paid"
            returned += outcome == "returned"
            if outcome:
                self.maybe_crash("after_pay_before_feed")
                self.publish_settled(adm, year, no)
        return {"paid": paid, "returned": returned}

    def _settle(self, adm: str, year: int, no: str) -> str:
        today = dt.date.today().isoformat()
        with self.txn() as db:
            row = db.execute("SELECT state, vt_code, pay_amt, payer_acct, payer_name, lines FROM vouchers"
                             " WHERE adm=? AND year=? AND voucher_no=?", (adm, year, no)).fetchone()
            if row is None or row[0] != "accepted":
                return ""
            _state, vt, amount, payer, payer_name, lines_json = row
            lines = json.loads(lines_json)
            bad = [dict(ln, reason=r) for ln in lines if (r := self._bad_line(db, ln))]
            if bad:
                code = "name_mismatch" if all(b["reason"] == NAME_MISMATCH for b in bad) else "bad_account"
                db.execute("UPDATE vouchers SET state='returned', settled_day=?, return_reason=?, return_code=?,"
                           " bad_lines=? WHERE adm=? AND year=? AND voucher_no=?",
                           (today, bad[0]["reason"], code, json.dumps(bad, ensure_ascii=False), adm, year, no))
                return "returned"
            serial = f"{self.bank_code}{today.replace('-', '')}{self.next_counter(db, 'serial'):08d}"
            rows = [(adm, year, no, ln["line"], "pay", "", payer, ln["acct"], ln["amt"], today) for ln in lines]
            # UNIQUE(adm, year, voucher_no, line, kind, ref): the database itself refuses a second payment
            db.executemany("INSERT INTO payments(adm, year, voucher_no, line, kind, ref, debit_acct, credit_acct,"
                           " amount, day) VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
            self._credit(db, payer, payer_name, -amount)
            for ln in lines:
                self._credit(db, ln["acct"], ln["name"], ln["amt"])
            db.execute("UPDATE vouchers SET state='paid', settled_day=?, agent_business_no=? "
                       "WHERE adm=? AND year=? AND voucher_no=?", (today, serial, adm, year, no))
            return "paid"

    def _settled_message(self, adm: str, year: int, no: str) -> P.Message | None:
        row = self.query("SELECT state, vt_code, pay_amt, payer_acct, lines, settled_day, agent_business_no,"
                         " return_reason, return_code, bad_lines FROM vouchers WHERE adm=? AND year=? AND"
                         " voucher_no=?", (adm, year, no))
        if not row:
            return None
        state, vt, amount, payer, lines_json, day, serial, reason, rcode, bad_json = row[0]
        if state == "returned":
            details = [{"LineNo": str(b["line"]), "PayeeAcctNo": b["acct"], "PayeeAcctName": b["name"],
                        "PayAmt": b["amt"], "Reason": b["reason"]} for b in json.loads(bad_json)]
            return P.build("return", region_code=adm, year=year, vt_code=vt, voucher_no=no, details=details,
                           fields={"PayAmt": amount, "PayAcctNo": payer, "Reason": reason, "ReasonCode": rcode,
                                   "ReturnDate": day, "AgentBankCode": self.bank_code})
        details = [{"LineNo": str(ln["line"]), "PayeeAcctNo": ln["acct"], "PayeeAcctName": ln["name"],
                    "PayAmt": ln["amt"], "XPayAmt": ln["amt"]} for ln in json.loads(lines_json)]
        return P.build("receipt", region_code=adm, year=year, vt_code=vt, voucher_no=no, details=details,
                       fields={"PayAmt": amount, "XPayAmt": amount, "XPayDate": day, "AgentBusinessNo": serial,
                               "PayAcctNo": payer, "AgentBankCode": self.bank_code})

    def publish_settled(self, adm: str, year: int, no: str) -> None:
        """Queue the receipt/return of a settled voucher for the feed (once: `published` flag)."""
        msg = self._settled_message(adm, year, no)
        if msg is None:
            return
        xml = self.signed(msg)
        with self.txn() as db:
            done = db.execute("UPDATE vouchers SET published=1 WHERE adm=? AND year=? AND voucher_no=? AND"
                              " published=0 AND state IN ('paid','returned')", (adm, year, no)).rowcount
            if done:
                self._queue(db, msg.kind, msg.msg_id, xml)

    def _queue(self, db, kind: str, msg_id: str, xml: bytes) -> None:
        delay = float(self.faults()["delay_receipts"] or 0)
        db.execute("INSERT INTO pending(kind, msg_id, xml, publish_at) VALUES (?,?,?,?)",
                   (kind, msg_id, xml, time.time() + delay))

    def recover(self) -> int:
        """After a crash: publish whatever was settled/refunded/cleared but not yet queued for the feed."""
        n = 0
        for adm, year, no in self.query("SELECT adm, year, voucher_no FROM vouchers WHERE published=0 AND"
                                        " state IN ('paid','returned')"):
            self.publish_settled(adm, year, no)
            n += 1
        for (refund_no,) in self.query("SELECT refund_no FROM refunds WHERE published=0"):
            self.publish_refund(refund_no)
            n += 1
        for (clear_no,) in self.query("SELECT clear_no FROM clearings WHERE published=0"):
            self.publish_clearing(clear_no)
            n += 1
        return n

    def flush(self, *, all_pending: bool = False) -> int:
        """Move due pending messages into the feed, applying the feed faults."""
        faults = self.faults()
        n = 0
        with self.txn() as db:
            rows = db.execute("SELECT id, kind, msg_id, xml FROM pending" +
                              ("" if all_pending else " WHERE publish_at <= ?") + " ORDER BY id",
                              () if all_pending else (time.time(),)).fetchall()
            for pid, kind, msg_id, xml in rows:
                now = time.time()
                if faults["tamper"]:
                    db.execute("INSERT INTO feed(kind, msg_id, xml, note, published_at) VALUES (?,?,?,?,?)",
                               (kind, msg_id, self.tampered(bytes(xml)), "tampered", now))
                copies = 2 if faults["duplicate"] else 1
                for i in range(copies):
                    db.execute("INSERT INTO feed(kind, msg_id, xml, note, published_at) VALUES (?,?,?,?,?)",
                               (kind, msg_id, xml, "duplicate" if i else "", now))
                if faults["replay"]:
                    old = db.execute("SELECT kind, msg_id, xml FROM feed WHERE note='' AND msg_id != ? "
                                     "ORDER BY random() LIMIT 1", (msg_id,)).fetchone()
                    if old:
                        db.execute("INSERT INTO feed(kind, msg_id, xml, note, published_at) VALUES (?,?,?,?,?)",
                                   (*old, "replay", now))
                db.execute("DELETE FROM pending WHERE id = ?", (pid,))
                n += 1
        if n:
            self.maybe_crash("after_publish")
        return n

    def feed(self, after: int, limit: int) -> dict:
        self.flush()
        rows = self.query("SELECT seq, xml FROM feed WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit))
        msgs = [{"seq": s, "xml": bytes(x).decode("utf-8")} for s, x in rows]
        if self.faults()["reorder"]:
            random.shuffle(msgs)
        last = self.query("SELECT COALESCE(MAX(seq), 0) FROM feed")[0][0]
        return {"messages": msgs, "last_seq": last}

    # --- refunds, clearing, statements, status -------------------------------------------------

    def refund(self, data: dict) -> dict:
        try:
            adm, year, no = str(data["adm"]), int(data["year"]), str(data["voucher_no"])
            amount = data["amount"]
            reason = str(data.get("reason") or "收款人账户状态异常，资金退回")
        except (KeyError, TypeError, ValueError):
            raise BadRequest(400, "bad_request", "adm, year, voucher_no, amount required") from None
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise BadRequest(400, "bad_amount", "amount must be positive int fen")
        today = dt.date.today().isoformat()
        with self.txn() as db:
            row = db.execute("SELECT state, pay_amt, refunded_amt, payer_acct, lines FROM vouchers WHERE adm=? AND"
                             " year=? AND voucher_no=?", (adm, year, no)).fetchone()
            if row is None:
                raise BadRequest(404, "unknown_voucher", no)
            state, pay_amt, refunded, payer, lines_json = row
            refund_no = str(data.get("refund_no") or f"TK{no}-{self.next_counter(db, 'refund:' + no)}")
            if db.execute("SELECT 1 FROM refunds WHERE refund_no=?", (refund_no,)).fetchone():
                return {"refund_no": refund_no, "created": False}
            if state not in ("paid", "refunded"):
                raise BadRequest(409, "not_paid", state)
            if refunded + amount > pay_amt:
                raise BadRequest(409, "refund_exceeds_payment", f"{refunded}+{amount}>{pay_amt}")
            payee = json.loads(lines_json)[0]
            db.execute("INSERT INTO refunds(refund_no, adm, year, voucher_no, amount, reason, day) VALUES"
                       " (?,?,?,?,?,?,?)", (refund_no, adm, year, no, amount, reason, today))
            db.execute("INSERT INTO payments(adm, year, voucher_no, line, kind, ref, debit_acct, credit_acct, amount,"
                       " day) VALUES (?,?,?,?,?,?,?,?,?,?)",
                       (adm, year, no, 0, "refund", refund_no, payee["acct"], payer, amount, today))
            self._credit(db, payee["acct"], payee["name"], -amount)
            self._credit(db, payer, "", amount)
            db.execute("UPDATE vouchers SET refunded_amt = refunded_amt + ?, state = CASE WHEN refunded_amt + ? >="
                       " pay_amt THEN 'refunded' ELSE state END WHERE adm=? AND year=? AND voucher_no=?",
                       (amount, amount, adm, year, no))
        self.maybe_crash("after_refund_before_feed")
        self.publish_refund(refund_no)
        return {"refund_no": refund_no, "created": True}

    def publish_refund(self, refund_no: str) -> None:
        row = self.query("SELECT r.adm, r.year, r.voucher_no, r.amount, r.reason, r.day, v.vt_code, v.lines FROM"
                         " refunds r JOIN vouchers v ON v.adm=r.adm AND v.year=r.year AND v.voucher_no=r.voucher_no"
                         " WHERE r.refund_no=?", (refund_no,))
        if not row:
            return
        adm, year, no, amount, reason, day, vt, lines_json = row[0]
        payee = json.loads(lines_json)[0]
        msg = P.build("refund", region_code=adm, year=year, vt_code=P.REFUND_VT_CODE, voucher_no=refund_no,
                      fields={"RefundNo": refund_no, "OriVtCode": vt, "OriVoucherNo": no, "PayAmt": amount,
                              "Reason": reason, "RefundDate": day, "PayeeAcctNo": payee["acct"],
                              "AgentBankCode": self.bank_code})
        xml = self.signed(msg)
        with self.txn() as db:
            if db.execute("UPDATE refunds SET published=1 WHERE refund_no=? AND published=0", (refund_no,)).rowcount:
                self._queue(db, "refund", msg.msg_id, xml)

    def clear(self, data: dict) -> dict:
        day = str(data.get("date") or dt.date.today().isoformat())
        try:
            dt.date.fromisoformat(day)
        except ValueError:
            raise BadRequest(400, "bad_date", day) from None
        made = []
        with self.txn() as db:
            rows = db.execute("SELECT adm, year, voucher_no, vt_code, pay_amt, payer_acct FROM vouchers WHERE"
                              " settled_day=? AND state IN ('paid','refunded') AND cleared_no='' ORDER BY adm, year,"
                              " voucher_no", (day,)).fetchall()
            groups: dict[tuple, list] = {}
            for adm, year, no, vt, amt, payer in rows:
                groups.setdefault((adm, year, clearing_vt(vt)), []).append((no, vt, amt, payer))
            for (adm, year, cvt), items in sorted(groups.items()):
                n = self.next_counter(db, f"clear:{adm}:{day}")
                clear_no = f"QS{cvt}{day.replace('-', '')}{adm}{n:03d}"
                total = sum(i[2] for i in items)
                db.execute("INSERT INTO clearings(clear_no, adm, year, vt_code, day, amount, vouchers) VALUES"
                           " (?,?,?,?,?,?,?)", (clear_no, adm, year, cvt, day, total,
                                                json.dumps([[no, vt, amt] for no, vt, amt, _ in items])))
                for no, _vt, amt, payer in items:
                    db.execute("UPDATE vouchers SET cleared_no=? WHERE adm=? AND year=? AND voucher_no=?",
                               (clear_no, adm, year, no))
                    self._credit(db, payer, "", amt)  # the treasury single account reimburses the advance
                    self._credit(db, f"TREASURY-{adm}", "国库单一账户", -amt)
                made.append({"clear_no": clear_no, "vt_code": cvt, "adm": adm, "year": year, "amount": total,
                             "count": len(items)})
        if made:
            self.maybe_crash("after_clear_before_feed")
        for c in made:
            self.publish_clearing(c["clear_no"])
        return {"clearings": made}

    def publish_clearing(self, clear_no: str) -> None:
        row = self.query("SELECT adm, year, vt_code, day, amount, vouchers FROM clearings WHERE clear_no=?",
                         (clear_no,))
        if not row:
            return
        adm, year, cvt, day, amount, vouchers = row[0]
        details = [{"VtCode": vt, "VoucherNo": no, "PayAmt": amt} for no, vt, amt in json.loads(vouchers)]
        msg = P.build("clearing", region_code=adm, year=year, vt_code=cvt, voucher_no=clear_no, details=details,
                      fields={"ClearDate": day, "PayAmt": amount, "AgentBankCode": self.bank_code})
        xml = self.signed(msg)
        with self.txn() as db:
            if db.execute("UPDATE clearings SET published=1 WHERE clear_no=? AND published=0", (clear_no,)).rowcount:
                self._queue(db, "clearing", msg.msg_id, xml)

    def statement(self, adm: str, day: str) -> bytes:
        try:
            year = dt.date.fromisoformat(day).year
        except ValueError:
            raise BadRequest(400, "bad_date", day) from None
        if not re.fullmatch(r"\d{6}|\d{9}", adm or ""):
            raise BadRequest(400, "bad_adm", adm)
        rows = self.query(
            "SELECT p.year, p.voucher_no, v.vt_code, p.kind, p.ref, SUM(p.amount), v.agent_business_no FROM payments p"
            " JOIN vouchers v ON v.adm=p.adm AND v.year=p.year AND v.voucher_no=p.voucher_no WHERE p.adm=? AND p.day=?"
            " GROUP BY p.year, p.voucher_no, v.vt_code, p.kind, p.ref ORDER BY p.voucher_no, p.kind, p.ref",
            (adm, day))
        details = []
        pay_total = refund_total = 0
        for vyear, no, vt, kind, ref, amt, serial in rows:
            details.append({"StYear": str(vyear), "VtCode": vt, "VoucherNo": no, "Kind": kind, "RefundNo": ref,
                            "PayAmt": amt, "AgentBusinessNo": serial})
            if kind == "pay":
                pay_total += amt
            else:
                refund_total += amt
        msg = P.build("statement", region_code=adm, year=year, vt_code=P.STATEMENT_VT_CODE,
                      voucher_no=f"ST{day.replace('-', '')}{self.bank_code}", details=details,
                      fields={"StatementDate": day, "AgentBankCode": self.bank_code, "PayCount": str(
                          sum(1 for d in details if d["Kind"] == "pay")), "PayAmt": pay_total,
                              "RefundAmt": refund_total})
        return self.signed(msg)

    def status(self, adm: str, year: int, no: str, vt_hint: str = "") -> bytes:
        row = self.query("SELECT state, vt_code, pay_amt, settled_day, agent_business_no, return_reason, return_code,"
                         " refunded_amt, cleared_no FROM vouchers WHERE adm=? AND year=? AND voucher_no=?",
                         (adm, year, no))
        if not row:
            vt = vt_hint if re.fullmatch(r"\d{4}", vt_hint or "") else "0000"
            return self.signed(P.build("status", region_code=adm, year=year, vt_code=vt, voucher_no=no,
                                       fields={"State": "unknown", "AgentBankCode": self.bank_code}))
        state, vt, amt, day, serial, reason, rcode, refunded, cleared = row[0]
        fields: dict = {"State": state, "PayAmt": amt, "AgentBankCode": self.bank_code}
        if state in ("paid", "refunded"):
            fields.update({"XPayAmt": amt, "XPayDate": day, "AgentBusinessNo": serial, "RefundedAmt": refunded,
                           "ClearNo": cleared})
        elif state == "returned":
            fields.update({"Reason": reason, "ReasonCode": rcode, "ReturnDate": day})
        return self.signed(P.build("status", region_code=adm, year=year, vt_code=vt, voucher_no=no,
                                   fields={k: v for k, v in fields.items() if v != ""}))

    # --- admin views ----------------------------------------------------------------------------

    def vouchers(self) -> list[dict]:
        rows = self.query(
            "SELECT v.adm, v.year, v.voucher_no, v.vt_code, v.state, v.pay_amt, v.refunded_amt, v.cleared_no,"
            " (SELECT COUNT(*) FROM payments p WHERE p.adm=v.adm AND p.year=v.year AND p.voucher_no=v.voucher_no"
            " AND p.kind='pay'), json_array_length(v.lines),"
            " (SELECT COALESCE(SUM(amount), 0) FROM payments p WHERE p.adm=v.adm AND p.year=v.year AND"
            " p.voucher_no=v.voucher_no AND p.kind='pay') FROM vouchers v ORDER BY v.accepted_at")
        keys = ("adm", "year", "voucher_no", "vt_code", "state", "pay_amt", "refunded_amt", "cleared_no",
                "pay_rows", "lines", "paid_amount")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def invariants(self) -> dict:
        problems = []
        for v in self.vouchers():
            if v["paid_amount"] > v["pay_amt"]:
                problems.append(f"{v['voucher_no']}: paid {v['paid_amount']} > voucher {v['pay_amt']}")
            if v["state"] in ("paid", "refunded") and (v["pay_rows"] != v["lines"] or v["paid_amount"] != v["pay_amt"]):
                problems.append(f"{v['voucher_no']}: {v['state']} but {v['pay_rows']}/{v['lines']} lines paid")
            if v["state"] in ("accepted", "returned") and v["pay_rows"]:
                problems.append(f"{v['voucher_no']}: {v['state']} but has payments")
            if v["refunded_amt"] > v["pay_amt"]:
                problems.append(f"{v['voucher_no']}: refunded more than paid")
        total = self.query("SELECT COALESCE(SUM(balance), 0) FROM accounts")[0][0]
        if total != 0:
            problems.append(f"account balances sum to {total}, not 0")
        return {"ok": not problems, "problems": problems}

    def background(self, stop: threading.Event) -> None:
        while not stop.wait(0.2):
            try:
                self.process_due()
                self.recover()
                self.flush()
            except Exception as exc:  # noqa: BLE001 - the loop must survive; next round retries
                sys.stderr.write(f"bank-sim: background error: {exc!r}\n")


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
            if method == "GET" and path == "/api/statements":
                return self._xml(bank.statement(qs.get("adm", ""), qs.get("date", "")))
            if path.startswith("/admin/"):
                self._admin()
                return self._route_admin(method, path)
            raise BadRequest(404, "not_found", path)

        def _route_admin(self, method: str, path: str) -> None:
            if path == "/admin/trust" and method == "POST":
                data = self._json_body()
                pem = str(data.get("public_pem", ""))
                try:
                    fp = public_key_fingerprint(pem)
                except Exception:  # noqa: BLE001 - any unusable key is the caller's error
                    raise BadRequest(400, "bad_public_key") from None
                with bank.txn() as db:
                    db.execute("INSERT OR REPLACE INTO trusted(fingerprint, pem, label) VALUES (?,?,?)",
                               (fp, pem, str(data.get("label", ""))))
                return self._json(200, {"fingerprint": fp})
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
            if path == "/admin/clear" and method == "POST":
                return self._json(200, bank.clear(self._json_body()))
            if path == "/admin/bad-accounts":
                if method == "POST":
                    data = self._json_body()
                    with bank.txn() as db:
                        for a in data.get("accounts", []):
                            db.execute("INSERT OR REPLACE INTO bad_accounts(acct, reason, name) VALUES (?,?,?)",
                                       (str(a["acct"]), str(a.get("reason") or NO_ACCOUNT), str(a.get("name", ""))))
                        for acct in data.get("remove", []):
                            db.execute("DELETE FROM bad_accounts WHERE acct=?", (str(acct),))
                rows = bank.query("SELECT acct, reason, name FROM bad_accounts ORDER BY acct")
                return self._json(200, {"accounts": [{"acct": a, "reason": r, "name": n} for a, r, n in rows]})
            if path == "/admin/balances":
                if method == "POST":
                    data = self._json_body()
                    with bank.txn() as db:
                        for acct, fen in data.get("set", {}).items():
                            bank._credit(db, str(acct), "", 0)
                            db.execute("UPDATE accounts SET balance=? WHERE acct=?", (int(fen), str(acct)))
                rows = bank.query("SELECT acct, balance FROM accounts ORDER BY acct")
                return self._json(200, {"accounts": dict(rows)})
            if path == "/admin/vouchers" and method == "GET":
                return self._json(200, {"vouchers": bank.vouchers()})
            if path == "/admin/invariants" and method == "GET":
                return self._json(200, bank.invariants())
            if path == "/admin/feed" and method == "GET":
                rows = bank.query("SELECT seq, kind, msg_id, note FROM feed ORDER BY seq")
                return self._json(200, {"feed": [dict(zip(("seq", "kind", "msg_id", "note"), r, strict=True))
                                                  for r in rows]})
            raise BadRequest(404, "not_found", path)

        def do_GET(self):  # noqa: N802 - http.server's naming
            self._dispatch("GET")

        def do_POST(self):  # noqa: N802
            self._dispatch("POST")

    return Handler


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
