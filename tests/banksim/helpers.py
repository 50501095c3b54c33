"""Signed vouchers for talking to the simulator directly (no Django)."""

from __future__ import annotations

import itertools

from ibms.banks import protocol as P
from ibms.core.crypto import SoftwareSM2Signer, generate_sm2_keypair
from tests.constants import PROVINCE

_n = itertools.count(1)


class Client:
    def __init__(self, sim) -> None:
        self.sim = sim
        kp = generate_sm2_keypair()
        self.signer = SoftwareSM2Signer(kp.private_pem)
        self.public_pem = kp.public_pem
        sim.admin("/admin/trust", {"public_pem": kp.public_pem.decode(), "label": "test unit"})
        pk = sim.public_key()
        self.bank = {pk["fingerprint"]: pk["public_pem"]}

    def voucher(self, no: str | None = None, *, amount: int = 10_000, payee: str = "6222000011112222",
                payee_name: str = "某某公司", payer: str = "ZB-001", details: list[dict] | None = None,
                vt: str = "5201", sign: bool = True) -> P.Message:
        no = no or f"V{next(_n):06d}"
        fields = {"PayAmt": amount if details is None else sum(d["PayAmt"] for d in details), "PayAcctNo": payer,
                  "PayAcctName": "省第一实验中学零余额账户"}
        if details is None:
            fields.update({"PayeeAcctNo": payee, "PayeeAcctName": payee_name})
        msg = P.build("voucher", region_code=PROVINCE, year=2026, vt_code=vt, voucher_no=no, fields=fields,
                      details=details or ())
        if sign:
            P.sign(msg, self.signer, kind="unit")
        return msg

    def send(self, msg: P.Message | bytes, *, timeout: float = 30) -> P.Message:
        xml = msg if isinstance(msg, bytes) else P.to_xml(msg)
        status, body = self.sim.post_xml(xml, timeout=timeout)
        assert status == 200, (status, body[:300])
        ack = P.parse(body)
        return ack

    def verified(self, xml: bytes | str) -> P.Message:
        msg = P.parse(xml)
        assert P.verify(msg, self.bank, required_kinds=("bank",)).ok
        return msg

    def feed_messages(self, after: int = 0) -> list[P.Message]:
        return [P.parse(m["xml"]) for m in sorted(self.sim.feed(after)["messages"], key=lambda m: m["seq"])]
