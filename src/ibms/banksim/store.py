"""The bank's own storage: its SQLite database (WAL, one connection behind a lock), its SM2 key, its
accounts and counters, and signing what it sends."""

from __future__ import annotations

import os
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path

from ibms.banks import protocol as P
from ibms.core.crypto import SoftwareSM2Signer, generate_sm2_keypair, public_key_fingerprint

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
CREATE TABLE IF NOT EXISTS signers(fingerprint TEXT PRIMARY KEY, record TEXT NOT NULL, registered_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS faults(name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS bad_accounts(acct TEXT PRIMARY KEY, reason TEXT NOT NULL, name TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS refunds(refund_no TEXT PRIMARY KEY, adm TEXT NOT NULL, year INTEGER NOT NULL,
  voucher_no TEXT NOT NULL, amount INTEGER NOT NULL, reason TEXT NOT NULL, day TEXT NOT NULL,
  published INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS clearings(clear_no TEXT PRIMARY KEY, adm TEXT NOT NULL, year INTEGER NOT NULL,
  vt_code TEXT NOT NULL, day TEXT NOT NULL, amount INTEGER NOT NULL, vouchers TEXT NOT NULL,
  published INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS manual_moves(serial TEXT PRIMARY KEY, adm TEXT NOT NULL, debit_acct TEXT NOT NULL,
  credit_acct TEXT NOT NULL, credit_name TEXT NOT NULL DEFAULT '', amount INTEGER NOT NULL,
  summary TEXT NOT NULL DEFAULT '', day TEXT NOT NULL);
"""


class BadRequest(Exception):
    def __init__(self, status: int, code: str, detail: str = "") -> None:
        super().__init__(code)
        self.status, self.code, self.detail = status, code, detail


class Store:
    """The bank's database and key; every DB access holds ``self.lock`` (one connection)."""

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

    def next_counter(self, db, name: str) -> int:
        db.execute("INSERT OR IGNORE INTO counters(name, value) VALUES (?, 0)", (name,))
        db.execute("UPDATE counters SET value = value + 1 WHERE name = ?", (name,))
        return db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()[0]

    def signed(self, msg: P.Message) -> bytes:
        P.sign(msg, self.signer, kind="bank")
        return P.to_xml(msg)

    def _credit(self, db, acct: str, name: str, amount: int) -> None:
        db.execute("INSERT OR IGNORE INTO accounts(acct, name) VALUES (?, ?)", (acct, name))
        db.execute("UPDATE accounts SET balance = balance + ? WHERE acct = ?", (amount, acct))
