"""Page and API latency on a large generated province (run `ibms gen --scale chongqing` into the database first).

    IBMS_DATABASE_URL=postgres://postgres@127.0.0.1:5432/ibms_big .venv/bin/python bench/pages.py [--prefix 95] [-n 20]

For each list (first page, as the province budget division and as one unit's clerk) it prints the median
milliseconds per request through the whole Django stack, beside a same-run baseline: the bare SQL that
fetches the same first page of rows, and their ratio.
"""

from __future__ import annotations

import argparse
import os

from _common import median_ms  # bench/_common.py, beside this script


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--prefix", default="95")
    ap.add_argument("-n", type=int, default=20)
    args = ap.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ibms.config.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    from ibms.iam.models import Organization, Role, User
    from ibms.masterdata.models import Person, Region, Unit

    root = Region.objects.get(code=f"{args.prefix}0000000")
    fin_org = Organization.objects.filter(region_code=root.code, kind="finance").first()
    unit_org = Organization.objects.filter(region_code=root.code, kind="unit").first()
    users = {}
    for name, org, role in (("bench_fin", fin_org, "budget_division"), ("bench_unit", unit_org, "unit_clerk")):
        u, _ = User.objects.get_or_create(username=name, defaults={"organization": org})
        u.groups.set([Role.objects.get(code=role).group])
        users[name] = u
    print(f"data: {Region.objects.count()} regions, {Unit.objects.count()} units, {Person.objects.count()} people; "
          f"database {connection.vendor}")
    cases = [
        ("/r/units/", "SELECT * FROM masterdata_unit ORDER BY region_code, code LIMIT 25"),
        ("/r/people/", "SELECT * FROM masterdata_person ORDER BY unit_id, id LIMIT 25"),
        ("/r/people/?q=王", "SELECT * FROM masterdata_person WHERE name LIKE '%%王%%' ORDER BY unit_id, id LIMIT 25"),
        ("/api/v1/masterdata/people/?limit=50", "SELECT * FROM masterdata_person ORDER BY unit_id, id LIMIT 50"),
        ("/r/payees/", "SELECT * FROM masterdata_payee ORDER BY region_code, name LIMIT 25"),
    ]
    print(f"{'user':<11} {'request':<40} {'ms (median)':>12} {'bare SQL ms':>12} {'ratio':>7}")
    for name, user in users.items():
        client = Client()
        client.force_login(user)
        for url, sql in cases:
            def page(url=url, client=client):
                resp = client.get(url)
                assert resp.status_code == 200, (url, resp.status_code)

            def bare(sql=sql):
                with connection.cursor() as cur:
                    cur.execute(sql)
                    cur.fetchall()

            ms, base = median_ms(page, args.n), median_ms(bare, args.n)
            print(f"{name:<11} {url:<40} {ms:>12.1f} {base:>12.2f} {ms / base:>7.1f}")


if __name__ == "__main__":
    main()
