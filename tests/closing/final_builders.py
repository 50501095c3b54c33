"""Change a posted voucher line behind the engine's back (on PostgreSQL past its immutability trigger; the DDL is
transactional there, so it is rolled back with the test)."""

from __future__ import annotations

from django.db import connection

from ibms.accounting.models import VoucherLine


def tamper(line_id: int, **values) -> None:
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cur.execute("ALTER TABLE accounting_voucherline DISABLE TRIGGER USER")
    VoucherLine.objects.filter(pk=line_id).update(**values)
