from ibms.accounting.models import AccountSet, Voucher, Account


def test_demo_books(db):
    print(AccountSet.objects.count(), Account.objects.count(), Voucher.objects.count())
    for v in Voucher.objects.all():
        print(v, v.summary, v.status, [(l.basis, l.account_code, l.debit, l.credit) for l in v.lines.all()])
    assert AccountSet.objects.count() > 70
