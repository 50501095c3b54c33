"""`ibms gen` stages of this app: the region tree with fiscal years and agent banks, departments and units,
bank accounts, people and payees of a generated province (`GEN_STAGES`, collected by `demo.generator`).

Codes. A generated province owns a two-digit code prefix `PP` that no real province uses (real ones end at
82; the demo province 华夏省 is 99): by default small=98, city=97, province=96, chongqing=95, so the scales
and the demo coexist in one database; `--province PP` (90–98) picks another. Region codes are 9 digits:
province/municipality `PP0000000`, city `PPCC00000`, district/county `PPCCXX000` (XX < 21 districts,
≥ 21 counties). Unit codes: department `DDD`, unit under it `DDDUUU`. USCC (GB 32100, with a GB 11714
organisation code inside) and ID numbers (GB 11643, area code = the region's first 6 digits) carry correct
check characters; money is integer fen.

The stages leave `ctx.regions`, `ctx.region_names`, `ctx.unit_prefix`, `ctx.banks` and `ctx.units` for the later
ones. The vocabulary and the code makers are shared with the demo province (`demo.province`).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator

from ibms.core.codes import id_number_with_check, org_code_with_check, uscc_with_check

from . import models as m

# --- code helpers ------------------------------------------------------------------------------

_ORG_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 11714 body chars that are also valid in a USCC


def make_uscc(rng: random.Random, kind: str, area6: str) -> str:
    """kind: '11' 机关, '12' 事业单位, '91' 企业 (registration authority + type)."""
    return uscc_with_check(kind + area6 + org_code_with_check("".join(rng.choice(_ORG_CHARS) for _ in range(8))))


def make_id_number(rng: random.Random, area6: str, born: dt.date) -> str:
    return id_number_with_check(area6 + born.strftime("%Y%m%d") + f"{rng.randrange(1000):03d}")


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


# --- vocabulary (fictional) --------------------------------------------------------------------

PLACE_CHARS = "安宁平和泰康永兴丰昌清河江山阳云石川林城桥湖浦溪岭源德新华庆临龙凤白青南北东西金玉长宝嘉定远乐合丹"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华文辉建国玲红鹏飞宇晨欣怡子涵浩然思雨佳琪博雪梅志刚海燕春林婷丹凯斌琳俊峰"
BANKS = [("102", "中国工商银行", "工商银行"), ("103", "中国农业银行", "农业银行"), ("104", "中国银行", "中国银行"),
         ("105", "中国建设银行", "建设银行"), ("301", "交通银行", "交通银行"), ("403", "中国邮政储蓄银行", "邮储银行")]
TRADES = ["文具", "印务", "信息技术", "物业服务", "建设工程", "医疗器械", "办公设备", "餐饮管理", "保安服务",
          "交通运输", "环境工程", "会务服务", "图书", "电力工程", "软件", "农业科技"]
ADMIN_POSTS = ["科员", "副科长", "科长", "副处长", "处长", "办事员", "主任科员"]
ADMIN_GRADES = ["一级科员", "二级科员", "四级主任科员", "三级主任科员", "二级主任科员", "一级主任科员", "四级调研员"]
INST_GRADES = ["专技十二级", "专技十级", "专技八级", "专技七级", "管理八级", "管理七级", "工勤技术三级"]
# name ({lvl} → 厅/局), subordinate units: fixed names, then repeating patterns ({n} = ordinal),
# sub-unit type, support level, posts, weight (share of the region's units)
DEPARTMENTS: list[tuple[str, list[str], list[str], str, str, list[str], int]] = [
    ("教育{lvl}", ["教育考试院", "教育技术装备中心"], ["第{n}中学", "第{n}小学", "第{n}幼儿园", "第{n}职业中学"],
     "institution", "full", ["教师", "一级教师", "高级教师", "校长", "会计"], 30),
    ("卫生健康委员会", ["疾病预防控制中心", "妇幼保健院", "中医院"], ["第{n}人民医院", "第{n}卫生院", "第{n}社区卫生服务中心"],
     "institution", "partial", ["医师", "主治医师", "主任医师", "护师", "药师"], 14),
    ("公安{lvl}", ["交通警察支队", "看守所"], ["第{n}派出所"], "organ", "full", ["警员", "副所长", "所长"], 6),
    ("农业农村{lvl}", ["农业技术推广中心", "动物疫病预防控制中心"], ["第{n}农业服务站"], "institution", "full",
     ["农艺师", "技术员"], 5),
    ("交通运输{lvl}", ["公路事务中心", "道路运输服务中心"], ["第{n}公路养护站"], "institution", "full", ["工程师"], 3),
    ("水利{lvl}", ["水文水资源勘测中心"], ["第{n}水库管理所"], "institution", "full", ["工程师"], 3),
    ("民政{lvl}", ["社会福利院", "救助管理站"], ["第{n}敬老院"], "institution", "full", ["社工"], 3),
    ("人力资源和社会保障{lvl}", ["社会保险事业中心", "就业服务中心"], ["第{n}人力资源市场"], "institution", "full", [], 2),
    ("自然资源{lvl}", ["不动产登记中心", "测绘院"], ["第{n}自然资源所"], "institution", "full", [], 2),
    ("住房和城乡建设{lvl}", ["住房公积金管理中心", "建设工程质量安全监督站"], ["第{n}城建服务中心"], "institution",
     "self", [], 2),
    ("文化和旅游{lvl}", ["图书馆", "博物馆", "文化馆"], ["第{n}文化站"], "institution", "full", [], 2),
    ("林业{lvl}", ["林业科学研究所"], ["第{n}国有林场"], "institution", "partial", [], 2),
    ("市场监督管理{lvl}", ["质量技术监督检验所"], ["第{n}市场监管所"], "organ", "full", [], 2),
    ("生态环境{lvl}", ["环境监测站"], ["第{n}生态环境监测点"], "institution", "full", [], 1),
    ("应急管理{lvl}", ["应急救援指挥中心"], [], "institution", "full", [], 1),
    ("财政{lvl}", ["国库支付中心", "财政投资评审中心"], [], "institution", "full", ["会计"], 1),
    ("发展和改革委员会", ["价格认证中心"], [], "institution", "full", [], 1),
    ("科学技术{lvl}", ["科技信息研究所"], [], "institution", "full", [], 1),
    ("工业和信息化{lvl}", ["中小企业服务中心"], [], "institution", "full", [], 1),
    ("司法{lvl}", ["公证处", "法律援助中心"], [], "institution", "full", [], 1),
    ("商务{lvl}", ["商务信息中心"], [], "institution", "full", [], 1),
    ("审计{lvl}", ["审计信息中心"], [], "institution", "full", [], 1),
    ("统计{lvl}", ["统计调查队"], [], "institution", "full", [], 1),
    ("医疗保障{lvl}", ["医疗保障事务中心"], [], "institution", "full", [], 1),
    ("体育{lvl}", ["体育运动学校"], [], "institution", "full", [], 1),
    ("退役军人事务{lvl}", ["军队离退休干部休养所"], [], "institution", "full", [], 1),
    ("机关事务管理{lvl}", ["机关幼儿园"], [], "institution", "full", [], 1),
    ("政府办公{dept}", ["政务服务中心"], [], "institution", "full", [], 1),
    ("信访{lvl}", [], [], "institution", "full", [], 0),
    ("人大常委会办公{dept}", [], [], "institution", "full", [], 0),
    ("政协办公{dept}", [], [], "institution", "full", [], 0),
    ("人民法院", [], [], "organ", "full", ["法官", "书记员"], 0),
    ("人民检察院", [], [], "organ", "full", ["检察官", "书记员"], 0),
]
DEPT_SUFFIX = {2: "厅", 3: "局", 4: "局"}


# --- stages ------------------------------------------------------------------------------------

def _place_name(rng: random.Random, ctx) -> str:
    return ctx.unique("place", lambda: rng.choice(PLACE_CHARS) + rng.choice(PLACE_CHARS))


def stage_regions(ctx) -> None:
    """Region tree, fiscal years and agent banks of every region."""
    rng = ctx.rng("regions")
    s, pp = ctx.scale, ctx.prefix
    plan: list[tuple[str, str, str, int, str | None]] = []  # code, full name, short name, level, parent
    if s.root_level == 3:
        root = f"{pp}0100000"
        root_name = _place_name(rng, ctx) + "市"
        plan.append((root, root_name, root_name, 3, None))
        for k in range(s.layout[0]):
            short = _place_name(rng, ctx) + ("区" if k < 3 else "县")
            plan.append((f"{pp}01{k + 1:02d}000" if k < 3 else f"{pp}01{k + 18:02d}000", root_name + short, short,
                         4, root))
    else:
        root = f"{pp}0000000"
        root_name = _place_name(rng, ctx) + ("市" if s.direct_counties else "省")
        plan.append((root, root_name, root_name, 2, None))
        for c, counties in enumerate(s.layout, start=1):
            city = f"{pp}{c:02d}00000"
            city_name = _place_name(rng, ctx) + "市"
            plan.append((city, city_name, city_name, 3, root))
            for k in range(counties):
                short = _place_name(rng, ctx) + ("区" if k == 0 else "县")
                plan.append((f"{pp}{c:02d}{k + 1:02d}000" if k == 0 else f"{pp}{c:02d}{k + 20:02d}000",
                             city_name + short, short, 4, city))
        districts = min(s.direct_counties, 26)
        for k in range(s.direct_counties):  # a municipality's districts (PP01XX) and counties (PP02XX)
            short = _place_name(rng, ctx) + ("区" if k < districts else "县")
            code = f"{pp}01{k + 1:02d}000" if k < districts else f"{pp}02{k - districts + 28:02d}000"
            plan.append((code, short, short, 4, root))
    by_code: dict[str, m.Region] = {}
    for level in sorted({p[3] for p in plan}):
        tier = []
        for code, name, short, lvl, parent in plan:
            if lvl != level:
                continue
            p = by_code.get(parent) if parent else None
            tier.append(m.Region(code=code, name=name, level=lvl, parent=p, path=(p.path if p else "/") + code + "/"))
            ctx.region_names[code] = short
            # how unit names start: 省/市 for the provincial level, else the region's full name
            ctx.unit_prefix[code] = ("市" if s.direct_counties else "省") if lvl == 2 else name
        for r in ctx.insert(m.Region, tier, total=len(tier), desc="区划"):
            by_code[r.code] = r
    ctx.regions = [by_code[code] for code, *_ in plan]
    year = ctx.year
    ctx.insert(m.FiscalYear, (m.FiscalYear(region_code=r.code, year=y, start_date=dt.date(y, 1, 1),
                                           end_date=dt.date(y, 12, 31),
                                           status=m.FiscalYear.Status.EXECUTING if y == year else
                                           m.FiscalYear.Status.PREPARING)
                              for r in ctx.regions for y in (year, year + 1)),
               total=2 * len(ctx.regions), desc="预算年度")
    banks = []
    for r in ctx.regions:
        for cls, name, short in rng.sample(BANKS, k=rng.randint(3, len(BANKS))):
            banks.append(m.AgentBank(region_code=r.code, code=f"{cls}{r.code[:6]}{rng.randrange(1000):03d}",
                                     name=f"{name}股份有限公司{ctx.region_names[r.code]}{'支行' if r.level == 4 else '分行'}", short_name=short))
    for b in ctx.insert(m.AgentBank, banks, total=len(banks), desc="代理银行"):
        ctx.banks.setdefault(b.region_code, []).append(b)


def _spread(rng: random.Random, total: int, weights: list[float], caps: list[int] | None = None) -> list[int]:
    """Split `total` into integer parts proportional to jittered weights (each ≤ its cap)."""
    w = [x * rng.uniform(0.85, 1.15) for x in weights]
    s = sum(w) or 1.0
    parts = [int(total * x / s) for x in w]
    if caps:
        parts = [min(p, c) for p, c in zip(parts, caps, strict=True)]
    i = 0
    while sum(parts) < total:
        k = i % len(parts)
        if (not caps or parts[k] < caps[k]) and weights[k] > 0:
            parts[k] += 1
        i += 1
    return parts


def stage_units(ctx) -> None:
    """Departments (first-level units) and their subordinate units in every region."""
    rng = ctx.rng("units")
    level_weight = {2: 8.0 if ctx.scale.direct_counties else 5.0, 3: 2.0, 4: 1.0}
    per_region = _spread(rng, ctx.scale.units, [level_weight[r.level] for r in ctx.regions])
    depts: list[m.Unit] = []
    subs_plan: list[tuple[int, int]] = []  # (index into depts, number of subordinate units)
    for region, n in zip(ctx.regions, per_region, strict=True):
        n_depts = max(2, min(len(DEPARTMENTS), n // 4))
        n_depts = min(n_depts, n)
        templates = DEPARTMENTS[:n_depts]
        subs = _spread(rng, n - n_depts, [t[6] for t in templates], caps=[999] * n_depts) if n > n_depts \
            else [0] * n_depts
        prefix = ctx.unit_prefix[region.code]
        area6 = region.code[:6]
        for d, (tpl, n_sub) in enumerate(zip(templates, subs, strict=True), start=1):
            dcode = f"{d:03d}"
            name = prefix + tpl[0].format(lvl=DEPT_SUFFIX[region.level], dept="厅" if region.level == 2 else "室")
            depts.append(m.Unit(region_code=region.code, code=dcode, name=name, unit_type=m.UnitType.ORGAN,
                                uscc=ctx.unique("uscc", lambda a=area6: make_uscc(rng, "11", a)), path=f"/{dcode}/"))
            subs_plan.append((len(depts) - 1, n_sub))
    saved = ctx.insert(m.Unit, depts, total=len(depts), desc="主管部门")

    def subordinate() -> Iterator[m.Unit]:
        for i, n_sub in subs_plan:
            dept = saved[i]
            tpl = DEPARTMENTS[int(dept.code) - 1]
            fixed, patterns, sub_type, support = tpl[1], tpl[2], tpl[3], tpl[4]
            region_short = ctx.unit_prefix[dept.region_code]
            for k in range(n_sub):
                if k < len(fixed):
                    label = fixed[k]
                elif patterns:
                    j = k - len(fixed)
                    label = patterns[j % len(patterns)].format(n=j // len(patterns) + 1)
                else:
                    label = f"{fixed[0] if fixed else '直属单位'}第{k + 1}分部"
                ucode = f"{dept.code}{k + 1:03d}"
                utype = sub_type if rng.random() < 0.95 else m.UnitType.OTHER
                yield m.Unit(region_code=dept.region_code, code=ucode, name=region_short + label, unit_type=utype,
                             parent=dept, department=dept, path=f"{dept.path}{ucode}/",
                             support_level=support if rng.random() < 0.9 else m.Unit.Support.PARTIAL,
                             uscc=ctx.unique("uscc", lambda u=utype, a=dept.region_code[:6]: make_uscc(
                                 rng, "11" if u == m.UnitType.ORGAN else "12", a)))

    saved_subs = ctx.insert(m.Unit, subordinate(), total=sum(n for _, n in subs_plan), desc="预算单位")
    ctx.units = sorted(saved + saved_subs, key=lambda u: (u.region_code, u.code))


def _template_of(unit: m.Unit) -> tuple:
    return DEPARTMENTS[int(unit.code[:3]) - 1]


def stage_accounts(ctx) -> None:
    """The finance bureau's accounts in each region; a zero-balance account per unit (+ own funds account for
    institutions)."""
    rng = ctx.rng("accounts")

    def rows() -> Iterator[m.BankAccount]:
        for r in ctx.regions:
            bank = ctx.banks[r.code][0]
            short = ctx.region_names[r.code]
            bureau = "财政厅" if r.level == 2 and not ctx.scale.direct_counties else "财政局"
            for atype, label in (("11", "零余额账户"), ("21", "国库清算账户")):
                yield m.BankAccount(region_code=r.code, account_type=atype, bank=bank, bank_name=bank.name,
                                    account_no=f"{bank.code[:3]}{r.code}{atype}0000", account_name=f"{short}{bureau}{label}")
        for u in ctx.units:
            bank = rng.choice(ctx.banks[u.region_code])
            types = ["12"] + (["63"] if u.unit_type != m.UnitType.ORGAN else [])
            for atype in types:
                yield m.BankAccount(region_code=u.region_code, unit=u, account_type=atype, bank=bank,
                                    bank_name=bank.name, account_name=u.name + ("零余额账户" if atype == "12" else ""),
                                    account_no=f"{bank.code[:3]}{u.region_code}{u.code:0<6}{atype}")

    total = 2 * len(ctx.regions) + sum(1 if u.unit_type == m.UnitType.ORGAN else 2 for u in ctx.units)
    ctx.insert(m.BankAccount, rows(), total=total, desc="银行账户")


def _birth(rng: random.Random, retired: bool) -> dt.date:
    year = rng.randint(1945, 1964) if retired else rng.randint(1966, 2001)
    return dt.date(year, rng.randint(1, 12), rng.randint(1, 28))


def stage_people(ctx) -> None:
    """Personnel of every unit (在职 and 离退休), salaries in fen."""
    rng = ctx.rng("people")
    lo, hi = ctx.scale.people_per_unit
    counts = [rng.randint(lo, hi) for _ in ctx.units]

    def rows() -> Iterator[m.Person]:
        for unit, n in zip(ctx.units, counts, strict=True):
            posts = _template_of(unit)[5] or ADMIN_POSTS
            organ = unit.unit_type == m.UnitType.ORGAN
            area6 = unit.region_code[:6]
            for _ in range(n):
                retired = rng.random() < 0.12
                born = _birth(rng, retired)
                roll = rng.random()
                staffing = (m.Person.Staffing.ADMIN if organ else m.Person.Staffing.INSTITUTION) if roll < 0.85 else (
                    m.Person.Staffing.WORKER if roll < 0.95 else m.Person.Staffing.NONE)
                name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
                yield m.Person(
                    region_code=unit.region_code, unit=unit, name=name,
                    id_number=ctx.unique("id", lambda a=area6, b=born: make_id_number(rng, a, b)),
                    status=m.Person.Status.RETIRED if retired else m.Person.Status.IN_SERVICE, staffing=staffing,
                    post=rng.choice(ADMIN_POSTS if organ else posts),
                    grade=rng.choice(ADMIN_GRADES if organ else INST_GRADES),
                    basic_salary=rng.randint(2_500_00, 6_500_00), allowance=rng.randint(800_00, 4_000_00),
                    bonus=rng.choice((0, 0, rng.randint(100_00, 1_000_00))),
                    performance_pay=0 if retired else rng.randint(1_000_00, 3_500_00))

    ctx.insert(m.Person, rows(), total=sum(counts), desc="人员")


def stage_payees(ctx) -> None:
    """Each unit's frequent payees: companies (USCC) and individuals (ID number)."""
    rng = ctx.rng("payees")
    lo, hi = ctx.scale.payees_per_unit
    counts = [rng.randint(lo, hi) for _ in ctx.units]

    def rows() -> Iterator[m.Payee]:
        for unit, n in zip(ctx.units, counts, strict=True):
            area6 = unit.region_code[:6]
            for _ in range(n):
                bank_cls, bank_name, _short = rng.choice(BANKS)
                bank_code = f"{bank_cls}{area6}{rng.randrange(1000):03d}"
                if rng.random() < 0.8:
                    name = ctx.region_names[unit.region_code] + rng.choice(PLACE_CHARS) + rng.choice(PLACE_CHARS) \
                        + rng.choice(TRADES) + "有限公司"
                    kind, id_code = m.Payee.Kind.CORPORATE, ctx.unique("uscc", lambda a=area6: make_uscc(rng, "91", a))
                    account = ctx.unique("account", lambda: _digits(rng, 19))
                else:
                    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(2))
                    kind = m.Payee.Kind.INDIVIDUAL
                    id_code = ctx.unique("id", lambda a=area6: make_id_number(rng, a, _birth(rng, False)))
                    account = ctx.unique("account", lambda: "6217" + _digits(rng, 15))
                yield m.Payee(region_code=unit.region_code, unit=unit, name=name, kind=kind, account_no=account,
                              account_name=name, bank_name=f"{bank_name}{ctx.region_names[unit.region_code]}支行",
                              bank_code=bank_code, id_code=id_code)

    ctx.insert(m.Payee, rows(), total=sum(counts), desc="收款人")


GEN_STAGES: list = [
    ("regions", stage_regions, (m.Region, m.FiscalYear, m.AgentBank)),
    ("units", stage_units, (m.Unit,)),
    ("accounts", stage_accounts, (m.BankAccount,)),
    ("people", stage_people, (m.Person,)),
    ("payees", stage_payees, (m.Payee,)),
]
