"""The bank's feed: settled vouchers, refunds and clearings are queued (``pending``) and published into the
feed (``GET /api/messages``) with the feed faults applied; after a crash, whatever was not queued yet is."""

from __future__ import annotations

import json
import random
import time

from ibms.banks import protocol as P

from .faults import tampered


class Feed:
    """Publishing (a mixin of :class:`ibms.banksim.bank.Bank`)."""

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
        # Under the bank's lock, the crash check included: a crash injected after publishing is taken by the flush
        # that published, before another thread (the background loop, a request) can answer as if nothing happened.
        with self.lock:
            return self._flush(all_pending)

    def _flush(self, all_pending: bool) -> int:
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
                               (kind, msg_id, tampered(bytes(xml)), "tampered", now))
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
