"""The demo province 华夏省 (fictional codes 99xxxx): 2 cities, 4 counties, ~60 units, a user for every role."""

from __future__ import annotations

import datetime as dt
import random

from django.db import transaction

from ibms.core import audit, clock
from ibms.core.numbering import next_number
from ibms.iam.models import Organization, Role, User
from ibms.masterdata import models as m
from ibms.masterdata.gen import DEPT_SUFFIX, GIVEN, SURNAMES, make_id_number, make_uscc

from .accounting import load_demo_books
from .budget import load_demo_budget
from .users import DEMO_PASSWORD, USERS, enrol_demo_signers

REGIONS = [  # code, name, level, parent
    ("990000000", "华夏省", 2, None),
    ("990100000", "东川市", 3, "990000000"),
    ("990102000", "东川市青山区", 4, "990100000"),
    ("990121000", "东川市临江县", 4, "990100000"),
    ("990200000", "西岭市", 3, "990000000"),
    ("990202000", "西岭市城关区", 4, "990200000"),
    ("990222000", "西岭市石门县", 4, "990200000"),
]
# department code, name, type, [(unit suffix, name, type)]
DEPARTMENTS = [
    ("001", "教育{lvl}", "organ", [("001", "第一实验中学", "institution"), ("002", "教育考试院", "institution")]),
    ("002", "卫生健康委员会", "organ", [("001", "人民医院", "institution")]),
    ("003", "交通运输{lvl}", "organ", [("001", "公路事务中心", "institution")]),
    ("004", "农业农村{lvl}", "organ", []),
    ("005", "财政{lvl}", "organ", []),
]
BANKS = [("102100099996", "中国工商银行股份有限公司华夏省分行", "工商银行"),
         ("103100000026", "中国农业银行股份有限公司华夏省分行", "农业银行"),
         ("105100000017", "中国建设银行股份有限公司华夏省分行", "建设银行")]


def _save_all(objs: list) -> list:
    for o in objs:
        o.save()
    audit.record_changes(objs, "create")
    return objs


def load_demo_province(seed: int = 2026) -> dict[str, int]:
    """Idempotent: does nothing when the demo province is already there."""
    if m.Region.objects.filter(code="990000000").exists():
        enrol_demo_signers()  # a demo database from before personal signing
        return {}
    rng = random.Random(seed)
    year = clock.fiscal_year()
    with transaction.atomic(durable=True):
        regions: dict[str, m.Region] = {}
        for code, name, level, parent in REGIONS:
            p = regions.get(parent) if parent else None
            regions[code] = _save_all([m.Region(code=code, name=name, level=level, parent=p,
                                                path=(p.path if p else "/") + code + "/")])[0]
        banks = {}
        units: dict[tuple[str, str], m.Unit] = {}
        for code, region in regions.items():
            # this year executing; next year preparing (its budget is prepared and replied, no payments yet)
            _save_all([m.FiscalYear(region_code=code, year=y, status=status, start_date=dt.date(y, 1, 1),
                                    end_date=dt.date(y, 12, 31))
                       for y, status in ((year, m.FiscalYear.Status.EXECUTING),
                                         (year + 1, m.FiscalYear.Status.PREPARING))])
            banks[code] = _save_all([m.AgentBank(region_code=code, code=c, name=n, short_name=s) for c, n, s in BANKS])
            prefix = "省" if region.level == 2 else region.name
            for dcode, dname, dtype, subs in DEPARTMENTS:
                dname = prefix + dname.format(lvl=DEPT_SUFFIX[region.level])
                dept = _save_all([m.Unit(region_code=code, code=dcode, name=dname, unit_type=dtype,
                                         uscc=make_uscc(rng, "11", code[:6]), path=f"/{dcode}/")])[0]
                units[(code, dcode)] = dept
                for scode, sname, stype in subs:
                    ucode = dcode + scode
                    u = _save_all([m.Unit(region_code=code, code=ucode, name=prefix + sname, unit_type=stype,
                                          parent=dept, department=dept,
                                          uscc=make_uscc(rng, "12" if stype == "institution" else "11", code[:6]),
                                          path=f"/{dcode}/{ucode}/")])[0]
                    units[(code, ucode)] = u
            _save_all([m.BankAccount(region_code=code, unit=None, account_type="11", account_no=f"{code}0011",
                                     account_name=f"{region.name}财政局零余额账户", bank=banks[code][0],
                                     bank_name=banks[code][0].name)])
        people, payees, accounts = [], [], []
        for (rcode, ucode), unit in units.items():
            bank = rng.choice(banks[rcode])
            accounts.append(m.BankAccount(region_code=rcode, unit=unit, account_type="12",
                                          account_no=f"{rcode}{ucode}12", account_name=unit.name + "零余额账户",
                                          bank=bank, bank_name=bank.name))
            for _ in range(rng.randint(4, 9)):
                born = dt.date(rng.randint(1962, 1999), rng.randint(1, 12), rng.randint(1, 28))
                retired = born.year < 1965
                people.append(m.Person(region_code=rcode, unit=unit,
                                       name=rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2))),
                                       id_number=make_id_number(rng, rcode[:6], born),
                                       status=m.Person.Status.RETIRED if retired else m.Person.Status.IN_SERVICE,
                                       staffing=m.Person.Staffing.ADMIN if unit.unit_type == "organ" else m.Person.Staffing.INSTITUTION,
                                       post=rng.choice(["科员", "副科长", "科长", "副处长", "教师", "医师", "工程师"]),
                                       basic_salary=rng.randint(2500, 6000) * 100, allowance=rng.randint(1000, 4000) * 100,
                                       bonus=rng.randint(0, 1000) * 100, performance_pay=rng.randint(1000, 3000) * 100))
            for i in range(2):
                payees.append(m.Payee(region_code=rcode, unit=unit, name=f"{rng.choice(['华夏', '东川', '西岭'])}"
                                      f"{rng.choice(['文具', '印务', '信息技术', '物业服务', '建设工程'])}有限公司",
                                      kind=m.Payee.Kind.CORPORATE, account_no=f"6222{rcode[:4]}{ucode:0>6}{i:02d}",
                                      account_name="", bank_name=bank.name, bank_code=bank.code, id_code=make_uscc(rng, "91", rcode[:6])))
        for p in payees:
            p.account_name = p.name
        _save_all(accounts)
        _save_all(people)
        _save_all(payees)
        _save_all([m.ExpenditureStandard(region_code="990000000", fiscal_year=year, code=c, name=n, category=cat,
                                         measure=meas, amount=amt, dep_eco_code=eco)
                   for c, n, cat, meas, amt, eco in [
                       ("GY001", "行政单位公用经费定额", "operating_per_head", "人·年", 1_200_000, "30299"),
                       ("GY002", "事业单位公用经费定额", "operating_per_head", "人·年", 900_000, "30299"),
                       ("HY001", "三类会议综合定额", "meeting", "人·天", 45_000, "30215"),
                       ("PX001", "二类培训综合定额", "training", "人·天", 55_000, "30216"),
                       ("CL001", "省内差旅住宿费", "travel", "人·天", 38_000, "30211"),
                       ("ZC001", "台式计算机配置标准", "asset", "台", 600_000, "31002")]])
        _save_all([m.Holiday(region_code="", date=dt.date(year, mo, d), name=n) for mo, d, n in [
            (1, 1, "元旦"), (5, 1, "劳动节"), (10, 1, "国庆节"), (10, 2, "国庆节"), (10, 3, "国庆节")]])
        orgs: dict[tuple[str, str], Organization] = {}
        for username, real, rcode, key, roles in USERS:
            if (rcode, key) not in orgs:
                kind, name = key.split(":", 1)
                unit = units.get((rcode, name)) if kind in ("dept", "unit") else None
                org = Organization(region_code=rcode, code=f"{kind}-{unit.code if unit else name}"[:30],
                                   name=unit.name if unit else f"{regions[rcode].name}{name}",
                                   kind={"fin": "finance", "dept": "department", "unit": "unit",
                                         "oversight": "oversight", "admin": "admin"}[kind], unit=unit)
                orgs[(rcode, key)] = _save_all([org])[0]
            u = User(username=username, real_name=real, organization=orgs[(rcode, key)])
            u.set_password(DEMO_PASSWORD)
            _save_all([u])
            u.groups.set([r.group for r in Role.objects.filter(code__in=roles)])
        _save_all([m.BlacklistEntry(region_code="990000000", number=next_number(f"HMD990000000-{year}-", width=5),
                                    name="虚构空壳贸易有限公司", account_no="6222990000999901",
                                    reason="虚开发票，骗取财政资金", legal_basis="审计整改通知（演示）",
                                    valid_from=dt.date(year, 1, 1), status=m.BlacklistEntry.Status.ACTIVE)])
    stats = {"regions": len(regions), "units": len(units), "people": len(people), "payees": len(payees),
             "users": len(USERS)}
    # Business data goes through the services (each its own transaction), as users would enter it.
    stats.update(enrol_demo_signers())
    stats.update(load_demo_budget())
    stats.update(load_demo_books())
    return stats
