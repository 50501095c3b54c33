"""What the audit log shows a person: each business event's Chinese name, its outcome (允许/拒绝) and a Chinese
description where the event's message is a machine code. Codes are kept as written by the services (the chain
hashes them); only their display is translated here. A code missing from the catalogue shows as
`<app>：<code>`, so a new event is never blank — add it below."""

from __future__ import annotations

from django.apps import apps

# Refusals and failed authentications: their own outcome (`denied`), so a flood of them — a probe of the pages,
# a password guesser — never pushes the business entries out of view. A new refusal event is added here.
DENIED_CODES = ("security.denied", "iam.login_failed", "iam.login_refused_locked", "iam.login_throttled",
                "iam.account_locked", "iam.password_change_failed", "banks.signer_pin_failed")
LOGIN_CODES = ("iam.login_succeeded", "iam.logout")

OUTCOMES = {"allowed": "允许", "denied": "拒绝"}
CATEGORIES = {"business": "业务与管理", "login": "登录", "denied": "拒绝与失败", "all": "全部"}

_VOUCHER_STATES = {"generated": "已生成", "signed": "已签章", "sent": "已发送", "accepted": "银行已签收",
                   "unknown": "结果未知", "failed": "银行拒收", "paid": "已支付", "returned": "银行退回",
                   "cleared": "已清算", "reconciled": "已对账", "partly_refunded": "部分退款", "refunded": "全额退款"}

EVENT_NAMES: dict[str, str] = {
    "security.denied": "越权访问被拒绝",
    # 用户与权限（三员）
    "iam.user_created": "新建用户账号", "iam.role_granted": "授予角色", "iam.role_revoked": "撤销角色",
    "iam.token_issued": "签发接口令牌", "iam.token_revoked": "吊销接口令牌", "iam.certificate_bound": "绑定证书",
    "iam.account_locked": "账号被锁定", "iam.account_unlocked": "解锁账号", "iam.login_succeeded": "登录成功",
    "iam.login_failed": "登录失败", "iam.login_refused_locked": "账号锁定期间登录被拒",
    "iam.login_throttled": "登录过于频繁被限制", "iam.logout": "退出登录", "iam.password_changed": "修改密码",
    "iam.password_change_failed": "修改密码失败", "iam.password_reset": "重置初始密码",
    "iam.user_deactivated": "停用用户账号", "iam.user_activated": "启用用户账号",
    # 基础信息
    "masterdata.blacklist_submitted": "提交黑名单", "masterdata.blacklist_approved": "黑名单审核通过",
    "masterdata.blacklist_rejected": "黑名单审核退回", "masterdata.blacklist_revoked": "撤销黑名单",
    # 会计核算
    "accounting.set_created": "新建账套", "accounting.set_closed": "关闭账套",
    "accounting.voucher_entered": "录入记账凭证", "accounting.voucher_reviewed": "审核记账凭证",
    "accounting.voucher_unreviewed": "取消审核记账凭证", "accounting.voucher_posted": "记账凭证记账",
    "accounting.voucher_reversed": "冲销记账凭证", "accounting.voucher_deleted": "删除记账凭证",
    "accounting.system_posted": "系统自动记账", "accounting.event_posted": "业务事项生成凭证",
    "accounting.period_closed": "会计期间结账", "accounting.period_reopened": "会计期间反结账",
    "accounting.year_end_closed": "年终结账",
    # 项目库
    "projects.project_entered": "项目录入", "projects.basic_generated": "生成基本支出项目",
    "projects.basic_regenerated": "重新生成基本支出项目", "projects.project_submitted": "项目申报",
    "projects.project_admitted": "项目入库", "projects.project_approved": "项目审核通过",
    "projects.project_returned": "项目退回修改", "projects.project_closed": "项目结项",
    "projects.project_terminated": "项目终止", "projects.projects_ranked": "项目排序",
    "projects.projects_entered_budget": "项目纳入预算", "projects.projects_started_execution": "项目开始执行",
    # 指标管理
    "indicators.created": "新建指标", "indicators.increased": "追加指标", "indicators.decreased": "核减指标",
    "indicators.adjusted": "调整指标", "indicators.distributed": "分配指标", "indicators.recalled": "收回指标",
    "indicators.frozen": "冻结指标", "indicators.unfrozen": "解冻指标", "indicators.carried_over": "指标结转",
    "indicators.transfer_allotted": "下达转移支付", "indicators.transfer_received": "接收转移支付",
    "indicators.reallocation_submitted": "提交指标调剂", "indicators.reallocation_approved": "指标调剂审核通过",
    "indicators.reallocation_rejected": "指标调剂退回",
    # 结转结余
    "closing.carry_proposed": "生成结转结余清单", "closing.carry_line_changed": "调整结转结余明细",
    "closing.carry_execution_started": "开始执行结转结余", "closing.carry_executed": "结转结余执行完成",
    # 预算编制
    "budgeting.round_created": "新建预算编制", "budgeting.ceiling_issued": "下达控制数",
    "budgeting.lines_generated": "生成预算明细", "budgeting.submitted": "报送预算",
    "budgeting.submission_accepted": "预算报送审核通过", "budgeting.submission_returned": "预算报送退回",
    "budgeting.submission_refused": "预算报送未通过校验", "budgeting.first_up_closed": "“一上”截止",
    "budgeting.second_up_started": "开始“二上”", "budgeting.consolidated": "预算汇总",
    "budgeting.approved": "预算批准", "budgeting.replied": "预算批复", "budgeting.replied_to_units": "批复到单位",
    # 动态监控
    "monitoring.rule_created": "新建监控规则", "monitoring.rule_versioned": "修订监控规则",
    "monitoring.rule_enabled": "启用监控规则", "monitoring.rule_disabled": "停用监控规则",
    "monitoring.rule_backtested": "监控规则回测", "monitoring.batch_run": "批量监控运行",
    "monitoring.alert_raised": "产生疑点", "monitoring.alert_explained": "单位说明疑点",
    "monitoring.alert_verified": "财政核实疑点", "monitoring.alert_rectify_asked": "要求整改疑点",
    "monitoring.alert_rectified": "疑点已整改", "monitoring.alert_closed": "疑点办结",
    # 银行接口
    "banks.endpoint_registered": "登记银行接口", "banks.key_created": "生成签名密钥",
    "banks.signer_enrolled": "登记签名人", "banks.signer_revoked": "撤销签名人",
    "banks.signer_pin_failed": "签名口令错误", "banks.voucher_dispatched": "发送支付凭证",
    "banks.voucher_resent": "重发支付凭证", "banks.message_rejected": "拒收银行报文",
    "banks.message_quarantined": "隔离银行报文",
    # 国库集中支付
    "treasury.request_created": "新建支付申请", "treasury.request_submitted": "提交支付申请",
    "treasury.request_withdrawn": "撤回支付申请", "treasury.request_reviewed": "审核支付申请",
    "treasury.request_approved": "支付申请审核通过", "treasury.request_rejected": "支付申请退回",
    "treasury.request_year_end_returned": "年终结账退回支付申请",
    "treasury.request_paid": "支付申请已支付", "treasury.request_returned": "支付申请被银行退回",
    "treasury.request_failed": "支付申请被银行拒收", "treasury.allocation_paid": "实拨资金已拨付",
    "treasury.allocation_returned": "实拨资金被退回", "treasury.allocation_failed": "实拨资金被拒收",
    "treasury.message_quarantined": "隔离银行报文", "treasury.reconciled": "支付对账",
    **{f"treasury.voucher_{k}": f"支付凭证{v}" for k, v in _VOUCHER_STATES.items()},
    "treasury.contract_filed": "合同备案审核通过", "treasury.contract_rejected": "合同备案退回",
    "treasury.contract_completed": "合同完结", "treasury.contract_terminated": "合同终止",
    "treasury.contract_closed": "合同完结或终止（解冻余额）",
    # 政府采购
    "procurement.plan_created": "新建采购计划", "procurement.plan_submitted": "提交采购计划",
    "procurement.plan_returned": "采购计划退回", "procurement.plan_approved": "采购计划批准（冻结指标）",
    "procurement.plan_cancelled": "采购计划作废", "procurement.plan_contracted": "采购计划备案合同（节约解冻）",
    "procurement.plan_closed": "采购计划完结",
    # 资产管理
    "assets.card_acquired": "资产购置入账（支付回单）", "assets.card_opened": "存量资产录入",
    "assets.card_transferred": "资产使用人/地点变更", "assets.change_submitted": "提交资产变动",
    "assets.change_returned": "资产变动退回", "assets.change_approved": "资产变动审批通过（入账）",
    "assets.card_disposed": "资产处置", "assets.depreciated": "计提固定资产折旧",
}

# Machine messages some events carry (a refusal's error code, a login's reason), shown in Chinese.
MESSAGES = {"permission_denied": "没有执行该操作的权限", "not_found": "对象不存在或不在权限范围内",
            "route_not_in_policy": "该操作未列入权限策略", "password_change_required": "须先修改初始密码",
            "password_expired": "密码已过期", "account locked": "账号已锁定",
            "too many failed logins from this address": "该地址登录失败次数过多",
            "old password wrong": "原密码不正确", "grant_self": "不能给自己授予角色",
            "grant_own_account": "不能给自己开设的账号授予角色"}


SYSTEM_ACTOR, SYSTEM_LABEL = "system", "系统"  # the actor of the CLI, the worker and the demo build


def actor_label(username: str) -> str:
    return SYSTEM_LABEL if username == SYSTEM_ACTOR else username


def is_denied(code: str) -> bool:
    return code in DENIED_CODES


def outcome_of(code: str) -> str:
    return "denied" if is_denied(code) else "allowed"


def event_name(code: str) -> str:
    if code in EVENT_NAMES:
        return EVENT_NAMES[code]
    label = code.split(".", 1)[0]
    try:
        app = str(apps.get_app_config(label).verbose_name)
    except LookupError:
        app = "其他"
    return f"{app}：{code}"


def describe(event) -> str:
    """The event's message for a person: machine codes in Chinese; a refusal names the request it refused."""
    text = MESSAGES.get(event.message, event.message)
    if event.code == "security.denied":
        payload = event.payload or {}
        where = " ".join(str(payload[k]) for k in ("method", "path") if payload.get(k))
        if payload.get("permission"):
            where += f"（需要权限 {payload['permission']}）"
        text = f"{text}：{where}" if where else text
    return text


def event_choices() -> list[tuple[str, str]]:
    """(code, name) of every catalogued event, by code: the suggestions of the event filter."""
    return sorted(EVENT_NAMES.items())
