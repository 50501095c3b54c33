"""The demo's people: one password for every demo login, the users of 华夏省 with their roles, and the signers
(签名人) among them — each enrols their own signing key under the one demo PIN, which they give when they approve a
payment (the unit's reviewer and head; each level's treasury division, for its reviews and 实拨)."""

DEMO_PASSWORD = "Ibms#Demo2026"
DEMO_PIN = "Sign#2026"
DEMO_SIGNERS = ["school_reviewer", "school_head", "fin_treasury", "city_treasury", "county_treasury"]

# username, real name, region, organisation key, roles
USERS = [
    ("fin_budget", "预算处 王处长", "990000000", "fin:预算处", ["budget_division"]),
    ("fin_budget_deputy", "预算处 冯科长", "990000000", "fin:预算处", ["budget_division"]),
    ("fin_sector", "教科文处 李科长", "990000000", "fin:教科文处", ["sector_division"]),
    ("fin_treasury", "国库处 张科长", "990000000", "fin:国库处", ["treasury_division"]),
    ("fin_accounting", "会计处 赵会计", "990000000", "fin:会计处", ["accounting_division"]),
    ("fin_it", "信息中心 周工", "990000000", "fin:信息中心", ["it_division"]),
    ("city_treasury", "东川市国库科 陈科长", "990100000", "fin:国库科", ["treasury_division"]),
    ("county_treasury", "青山区国库股 吴股长", "990102000", "fin:国库股", ["treasury_division"]),
    ("county_budget", "青山区预算股 钱股长", "990102000", "fin:预算股", ["budget_division"]),
    ("county_edu_reviewer", "青山区教育局 宋科长", "990102000", "dept:001", ["dept_reviewer"]),
    ("edu_reviewer", "省教育厅财务处 孙处长", "990000000", "dept:001", ["dept_reviewer"]),
    ("edu_clerk", "省教育厅财务处 郑会计", "990000000", "dept:001", ["dept_clerk"]),
    ("school_clerk", "第一实验中学 刘会计", "990000000", "unit:001001", ["unit_clerk"]),
    ("school_reviewer", "第一实验中学 黄主任", "990000000", "unit:001001", ["unit_reviewer"]),
    ("school_head", "第一实验中学 林校长", "990000000", "unit:001001", ["unit_head"]),
    ("hospital_clerk", "人民医院 何会计", "990000000", "unit:002001", ["unit_clerk"]),
    ("county_school_clerk", "青山区第一实验中学 马会计", "990102000", "unit:001001", ["unit_clerk"]),
    ("auditor", "省审计厅 罗审计", "990000000", "oversight:审计厅", ["oversight"]),
    ("sysadmin", "系统管理员", "990000000", "admin:信息中心", ["sys_admin"]),
    ("secadmin", "安全保密管理员", "990000000", "admin:信息中心", ["security_admin"]),
    ("auditadmin", "安全审计员", "990000000", "admin:信息中心", ["audit_admin"]),
]


def enrol_demo_signers() -> dict[str, int]:
    """Each demo signer enrols their own key (through the service, as they would on 我的签名证书); idempotent."""
    from ibms.banks import services as banks
    from ibms.banks.models import Signer
    from ibms.iam.models import User

    n = 0
    for user in User.objects.filter(username__in=DEMO_SIGNERS).select_related("organization", "organization__unit"):
        if not Signer.objects.filter(user=user, status=Signer.Status.ACTIVE).exists():
            banks.signer_enrol(actor=user, pin=DEMO_PIN, pin_confirm=DEMO_PIN)
            n += 1
    return {"signers": n}
