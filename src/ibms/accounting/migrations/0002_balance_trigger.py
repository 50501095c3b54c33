"""PostgreSQL only: a deferred constraint trigger re-checks at commit that every voucher touched in the
transaction balances in each basis (Σ debit = Σ credit), and lines of a posted voucher cannot be changed or
deleted. The services already refuse such writes; these catch writes made behind their back (raw SQL)."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION accounting_voucher_balance_check() RETURNS trigger AS $$
DECLARE
    vids bigint[];
    vid bigint;
    bad text;
BEGIN
    IF TG_OP = 'DELETE' THEN
        vids := ARRAY[OLD.voucher_id];
    ELSIF TG_OP = 'UPDATE' AND OLD.voucher_id <> NEW.voucher_id THEN
        vids := ARRAY[OLD.voucher_id, NEW.voucher_id];
    ELSE
        vids := ARRAY[NEW.voucher_id];
    END IF;
    FOREACH vid IN ARRAY vids LOOP
        SELECT basis INTO bad FROM accounting_voucherline WHERE voucher_id = vid
            GROUP BY basis HAVING SUM(debit) <> SUM(credit) LIMIT 1;
        IF bad IS NOT NULL THEN
            RAISE EXCEPTION 'accounting: voucher % does not balance in basis %', vid, bad
                USING ERRCODE = 'check_violation', CONSTRAINT = 'acct_voucher_balanced';
        END IF;
    END LOOP;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER acct_voucher_balanced
    AFTER INSERT OR UPDATE OR DELETE ON accounting_voucherline
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION accounting_voucher_balance_check();

CREATE OR REPLACE FUNCTION accounting_posted_line_guard() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM accounting_voucher WHERE id = OLD.voucher_id AND status = 'posted') THEN
        RAISE EXCEPTION 'accounting: lines of posted voucher % are immutable', OLD.voucher_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'acct_posted_immutable';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER acct_posted_line_guard
    BEFORE UPDATE OR DELETE ON accounting_voucherline
    FOR EACH ROW EXECUTE FUNCTION accounting_posted_line_guard();
"""

DROP = """
DROP TRIGGER IF EXISTS acct_posted_line_guard ON accounting_voucherline;
DROP FUNCTION IF EXISTS accounting_posted_line_guard();
DROP TRIGGER IF EXISTS acct_voucher_balanced ON accounting_voucherline;
DROP FUNCTION IF EXISTS accounting_voucher_balance_check();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cur:  # no params: the % in RAISE are not placeholders
            cur.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cur:
            cur.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("accounting", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
