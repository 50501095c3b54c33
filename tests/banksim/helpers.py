"""Signed vouchers for talking to the simulator directly (no Django): sealed by a trusted unit key and signed by a
person registered as a signer of the unit (AgencyCode 001001)."""

from __future__ import annotations

import datetime as dt
import itertools

from ibms.banks import protocol as P
from ibms.core.crypto import SoftwareSM2Signer, generate_sm2_keypair, public_key_fingerprint
from tests.constants import PROVINCE

_n = itertools.count(1)
AGENCY = "001001"


def signer_record(public_pem: bytes, *, kind: str = "unit", agency: str = AGENCY, region: str = PROVINCE,
                  days: tuple[int, int] = (-1, 365), revoked: bool = False) -> dict:
    now = dt.datetime.now(dt.UTC)
    return P.SignerRecord(fingerprint=public_key_fingerprint(public_pem), public_pem=public_pem.decode(),
                          region_code=region, kind=kind, agency_code=agency if kind == "unit" else "",
                          name="测试签名人", role="unit_reviewer", valid_from=(now + dt.timedelta(days=days[0])).isoformat(),
                          valid_to=(now + dt.timedelta(days=days[1])).isoformat(), revoked=revoked).as_dict()


class Client:
    def __init__(self, sim) -> None:
        self.sim = sim
        kp = generate_sm2_keypair()
        self.signer = SoftwareSM2Signer(kp.private_pem)
        self.public_pem = kp.public_pem
        sim.admin("/admin/trust", {"public_pem": kp.public_pem.decode(), "label": "test unit"})
        self.person = self.register_person()
        pk = sim.public_key()
        self.bank = {pk["fingerprint"]: pk["public_pem"]}

    def register_person(self, **record) -> SoftwareSM2Signer:
        """A new person's key, registered with the bank as a signer (``record``: see :func:`signer_record`)."""
        kp = generate_sm2_keypair()
        self.sim.admin("/admin/signers", {"signers": [signer_record(kp.public_pem, **record)]})
        return SoftwareSM2Signer(kp.private_pem)

    def voucher(self, no: str | None = None, *, amount: int = 10_000, payee: str = "6222000011112222",
                payee_name: str = "某某公司", payer: str = "ZB-001", details: list[dict] | None = None,
                vt: str = "5201", sign: bool = True, person: SoftwareSM2Signer | None = None,
                person_kind: str = "unit") -> P.Message:
        """A voucher of unit 001001, sealed and signed by ``person`` (default: the registered signer)."""
        no = no or f"V{next(_n):06d}"
        fields = {"PayAmt": amount if details is None else sum(d["PayAmt"] for d in details), "PayAcctNo": payer,
                  "PayAcctName": "省第一实验中学零余额账户", "AgencyCode": AGENCY}
        if details is None:
            fields.update({"PayeeAcctNo": payee, "PayeeAcctName": payee_name})
        msg = P.build("voucher", region_code=PROVINCE, year=2026, vt_code=vt, voucher_no=no, fields=fields,
                      details=details or ())
        if sign:
            P.sign(msg, self.signer, kind="unit")
            person = person or getattr(self, "person", None)
            if person is not None:
                P.sign(msg, person, kind=person_kind)
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
