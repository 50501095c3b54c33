"""One account's daily statement and the out-of-system debits a test (or the demo) injects: the bank pays from a
unit's account on the unit's own instruction (a cheque, a counter transfer) without any voucher from us.

- ``GET /api/statements?adm=<AdmDivCode>&date=YYYY-MM-DD&account=<AcctNo>`` → a signed ``statement`` (VtCode 4005)
  of that account's movements on the day: ``Detail`` lines ``Serial``, ``Direction`` (debit | credit), ``PayAmt``,
  ``CounterAcctNo``, ``CounterAcctName``, ``VoucherNo`` (empty for a move without a voucher), ``Summary``.
- ``POST /admin/account-debit`` ``{"adm", "acct", "amount" (fen), "counter_acct", "counter_name", "summary",
  "day"?, "serial"?}`` → ``{"serial", "created"}``; the same serial again changes nothing."""

from __future__ import annotations

import datetime as dt
import re

from ibms.banks import protocol as P

from .store import BadRequest


def _day(value: str) -> str:
    try:
        return dt.date.fromisoformat(value).isoformat()
    except (TypeError, ValueError):
        raise BadRequest(400, "bad_date", str(value)) from None


class Accounts:
    """Mixed into :class:`.bank.Bank` (its store: table ``manual_moves``, the signer, ``_credit``)."""

    def account_debit(self, data: dict, today: str) -> dict:
        adm, acct = str(data.get("adm", "")), str(data.get("acct", "")).strip()
        amount = data.get("amount")
        if not re.fullmatch(r"\d{6}|\d{9}", adm) or not acct:
            raise BadRequest(400, "bad_request", "adm, acct required")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise BadRequest(400, "bad_amount", "amount must be positive int fen")
        day = _day(str(data.get("day") or today))
        counter = str(data.get("counter_acct") or "CASH").strip()
        name = str(data.get("counter_name") or "")[:120]
        with self.txn() as db:
            serial = str(data.get("serial") or
                         f"{self.bank_code}M{day.replace('-', '')}{self.next_counter(db, 'manual'):06d}")
            if db.execute("SELECT 1 FROM manual_moves WHERE serial=?", (serial,)).fetchone():
                return {"serial": serial, "created": False}
            db.execute("INSERT INTO manual_moves(serial, adm, debit_acct, credit_acct, credit_name, amount, summary,"
                       " day) VALUES (?,?,?,?,?,?,?,?)",
                       (serial, adm, acct, counter, name, amount, str(data.get("summary") or "")[:200], day))
            self._credit(db, acct, "", -amount)
            self._credit(db, counter, name, amount)
        return {"serial": serial, "created": True}

    def account_statement(self, adm: str, acct: str, day: str) -> bytes:
        day = _day(day)
        if not re.fullmatch(r"\d{6}|\d{9}", adm or "") or not re.fullmatch(r"[A-Za-z0-9\-]{1,40}", acct or ""):
            raise BadRequest(400, "bad_request", "adm, account required")
        names = dict(self.query("SELECT acct, name FROM accounts"))
        rows = self.query(
            "SELECT p.voucher_no, p.line, p.kind, p.ref, p.debit_acct, p.credit_acct, p.amount, v.agent_business_no"
            " FROM payments p JOIN vouchers v ON v.adm=p.adm AND v.year=p.year AND v.voucher_no=p.voucher_no"
            " WHERE p.adm=? AND p.day=? AND (p.debit_acct=? OR p.credit_acct=?) ORDER BY p.id", (adm, day, acct, acct))
        details = []
        for no, line, kind, ref, debit, credit, amt, serial in rows:
            out = debit == acct
            other = credit if out else debit
            details.append({"Serial": f"{serial}-{line}" if kind == "pay" else ref or f"{no}-{kind}-{line}",
                            "Direction": "debit" if out else "credit", "PayAmt": amt, "CounterAcctNo": other,
                            "CounterAcctName": names.get(other, ""), "VoucherNo": no,
                            "Summary": "支付" if kind == "pay" else "退款"})
        for serial, debit, credit, cname, amt, summary in self.query(
                "SELECT serial, debit_acct, credit_acct, credit_name, amount, summary FROM manual_moves WHERE adm=?"
                " AND day=? AND (debit_acct=? OR credit_acct=?) ORDER BY serial", (adm, day, acct, acct)):
            out = debit == acct
            details.append({"Serial": serial, "Direction": "debit" if out else "credit", "PayAmt": amt,
                            "CounterAcctNo": credit if out else debit, "CounterAcctName": cname if out else "",
                            "VoucherNo": "", "Summary": summary})
        debit_total = sum(d["PayAmt"] for d in details if d["Direction"] == "debit")
        credit_total = sum(d["PayAmt"] for d in details if d["Direction"] == "credit")
        msg = P.build("statement", region_code=adm, year=int(day[:4]), vt_code=P.STATEMENT_VT_CODE,
                      voucher_no=f"AS{day.replace('-', '')}{acct}"[:64], details=details,
                      fields={"StatementDate": day, "AgentBankCode": self.bank_code, "AcctNo": acct,
                              "DebitAmt": debit_total, "CreditAmt": credit_total})
        return self.signed(msg)
