"""The bank: it accepts signed vouchers (keyed by AdmDivCode, StYear, VoucherNo; a resend never pays twice),
pays or returns them, refunds, clears against the treasury single account, answers status queries and daily
statements. Storage is :mod:`.store`, fault switches :mod:`.faults`, publishing :mod:`.feed`."""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
import threading
import time
from zoneinfo import ZoneInfo

from ibms.banks import protocol as P
from ibms.core.crypto import public_key_fingerprint

from .accounts import Accounts
from .faults import Faults
from .feed import Feed
from .store import BadRequest, Store

# A Chinese bank's business day is the Beijing date, whatever zone the host runs in.
BUSINESS_TZ = ZoneInfo("Asia/Shanghai")
NO_ACCOUNT = "收款账号不存在"
NAME_MISMATCH = "户名不符"
SIGNER_REASONS = {"personal_signature_required": "凭证缺少签名人的个人签名",
                  "signer_not_registered": "签名人未登记为该单位（财政）的签名人",
                  "signer_revoked": "签名人证书已注销", "signer_expired": "签名人证书不在有效期内",
                  "unit_signature_required": "凭证缺少预算单位签名人的签名",
                  "unit_signature_invalid": "单位签名人的签名与凭证内容不符"}


def business_day() -> str:
    return dt.datetime.now(BUSINESS_TZ).date().isoformat()


def clearing_vt(vt_code: str) -> str:
    """Direct payment and allocation clear as 2301, authorized and batch as 2303."""
    return "2301" if vt_code in ("5201", "5207") else "2303"


class Bank(Accounts, Feed, Faults, Store):
    """The bank's state and behaviour; every DB access holds ``self.lock`` (one connection)."""

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
        signers = self.signer_records()
        trusted = dict(self.query("SELECT fingerprint, pem FROM trusted"))
        trusted.update({fp: rec.public_pem for fp, rec in signers.items()})
        check = P.verify(msg, trusted)
        if check.ok and not ({s.kind for s in msg.stamps} & {"unit", "finance"}):
            check = P.VerifyResult(False, "missing_stamp_kind", check.stamps)
        if not check.ok:
            return self._ack(**ident, result="rejected", code=check.code, reason="签章验证失败"), 0
        problem = P.signer_problem(msg, check, signers, now=dt.datetime.now(dt.UTC))
        if problem:
            return self._ack(**ident, result="rejected", code=problem, reason=SIGNER_REASONS[problem]), 0
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
        today = business_day()
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
        today = business_day()
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

    def clear(self, data: dict) -> dict:
        day = str(data.get("date") or business_day())
        try:
            dt.date.fromisoformat(day)
        except ValueError:
            raise BadRequest(400, "bad_date", day) from None
        made = []
        with self.txn() as db:
            # a unit's own money (8209 单位资金支付) leaves the unit's own account: nothing to clear with the treasury
            rows = db.execute("SELECT adm, year, voucher_no, vt_code, pay_amt, payer_acct FROM vouchers WHERE"
                              " settled_day=? AND state IN ('paid','refunded') AND cleared_no='' AND vt_code <> '8209'"
                              " ORDER BY adm, year, voucher_no", (day,)).fetchall()
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
            "SELECT v.adm, v.year, v.voucher_no, v.vt_code, v.state, v.pay_amt, v.refunded_amt, v.cleared_no, v.settled_day,"
            " (SELECT COUNT(*) FROM payments p WHERE p.adm=v.adm AND p.year=v.year AND p.voucher_no=v.voucher_no"
            " AND p.kind='pay'), json_array_length(v.lines),"
            " (SELECT COALESCE(SUM(amount), 0) FROM payments p WHERE p.adm=v.adm AND p.year=v.year AND"
            " p.voucher_no=v.voucher_no AND p.kind='pay') FROM vouchers v ORDER BY v.accepted_at")
        keys = ("adm", "year", "voucher_no", "vt_code", "state", "pay_amt", "refunded_amt", "cleared_no",
                "settled_day", "pay_rows", "lines", "paid_amount")
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

    # --- admin writes -----------------------------------------------------------------------------

    def trust(self, pem: str, label: str) -> str:
        """Trust a signer's public key (``POST /admin/trust``); returns its fingerprint."""
        try:
            fp = public_key_fingerprint(pem)
        except Exception:  # noqa: BLE001 - any unusable key is the caller's error
            raise BadRequest(400, "bad_public_key") from None
        with self.txn() as db:
            db.execute("INSERT OR REPLACE INTO trusted(fingerprint, pem, label) VALUES (?,?,?)", (fp, pem, label))
        return fp

    def register_signers(self, data: dict) -> list[str]:
        """Register (or update: a revocation) the signer records ``data["signers"]`` (``POST /admin/signers``)."""
        items = data.get("signers")
        if not isinstance(items, list) or not items:
            raise BadRequest(400, "bad_request", "signers: a non-empty list of signer records")
        try:
            records = [P.SignerRecord.from_dict(item) for item in items]
        except (P.ProtocolError, AttributeError) as exc:
            raise BadRequest(400, "bad_signer", getattr(exc, "detail", "")) from None
        for rec in records:
            try:
                fp = public_key_fingerprint(rec.public_pem)
            except Exception:  # noqa: BLE001 - any unusable key is the caller's error
                raise BadRequest(400, "bad_public_key", rec.fingerprint) from None
            if fp != rec.fingerprint:
                raise BadRequest(400, "bad_signer", f"fingerprint {rec.fingerprint[:16]} does not match its key")
        with self.txn() as db:
            for rec in records:
                db.execute("INSERT OR REPLACE INTO signers(fingerprint, record, registered_at) VALUES (?,?,?)",
                           (rec.fingerprint, json.dumps(rec.as_dict(), ensure_ascii=False), time.time()))
        return [rec.fingerprint for rec in records]

    def signer_records(self) -> dict[str, P.SignerRecord]:
        return {fp: P.SignerRecord.from_dict(json.loads(rec))
                for fp, rec in self.query("SELECT fingerprint, record FROM signers")}

    def bad_accounts(self, data: dict | None = None) -> list[dict]:
        """Payee accounts the bank returns payments to; ``data`` adds (``accounts``) and removes (``remove``)."""
        if data is not None:
            with self.txn() as db:
                for a in data.get("accounts", []):
                    db.execute("INSERT OR REPLACE INTO bad_accounts(acct, reason, name) VALUES (?,?,?)",
                               (str(a["acct"]), str(a.get("reason") or NO_ACCOUNT), str(a.get("name", ""))))
                for acct in data.get("remove", []):
                    db.execute("DELETE FROM bad_accounts WHERE acct=?", (str(acct),))
        rows = self.query("SELECT acct, reason, name FROM bad_accounts ORDER BY acct")
        return [{"acct": a, "reason": r, "name": n} for a, r, n in rows]

    def balances(self, data: dict | None = None) -> dict:
        """Account balances (fen); ``data["set"]`` sets some first."""
        if data is not None:
            with self.txn() as db:
                for acct, fen in data.get("set", {}).items():
                    self._credit(db, str(acct), "", 0)
                    db.execute("UPDATE accounts SET balance=? WHERE acct=?", (int(fen), str(acct)))
        return dict(self.query("SELECT acct, balance FROM accounts ORDER BY acct"))

    def feed_rows(self) -> list[dict]:
        rows = self.query("SELECT seq, kind, msg_id, note FROM feed ORDER BY seq")
        return [dict(zip(("seq", "kind", "msg_id", "note"), r, strict=True)) for r in rows]

    def background(self, stop: threading.Event) -> None:
        while not stop.wait(0.2):
            try:
                self.process_due()
                self.recover()
                self.flush()
            except Exception as exc:  # noqa: BLE001 - the loop must survive; next round retries
                sys.stderr.write(f"bank-sim: background error: {exc!r}\n")
