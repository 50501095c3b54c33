"""单位资金: the 收入分类 of a unit's own income (data/unitfunds/income_kinds.csv), the per-region policy, a unit's
实有资金账户 (a registered masterdata.BankAccount) with its append-only entries and cached balance, income documents
(booked through `accounting.event_post`) and the daily statement lines of a unit account (T+1 monitoring)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from ibms.core.audit import audited
from ibms.core.models import Stamped
from ibms.core.money import MoneyField
from ibms.core.scoping import ScopedManager, ScopeSpec

UNIT_SCOPE = ScopeSpec(unit_path_field="unit_path", unit_writable=True)


@audited
class IncomeKind(Stamped):
    """收入分类 (reference data, loaded by `unitfunds.setup`)."""

    code = models.CharField("代码", max_length=20, unique=True)
    name = models.CharField("名称", max_length=60)
    category = models.CharField("收入类别", max_length=20)
    budget_account = models.CharField("预算会计科目", max_length=20)
    financial_account = models.CharField("财务会计科目", max_length=20)
    fund_nature_code = models.CharField("资金性质", max_length=10)
    sort = models.PositiveIntegerField("排序", default=0)
    provenance = models.CharField("来源", max_length=300, blank=True)

    objects = ScopedManager()
    scope_spec = ScopeSpec(reference=True)

    class Meta:
        verbose_name = verbose_name_plural = "单位资金收入分类"
        ordering = ["sort", "code"]

    def __str__(self) -> str:
        return self.name


@audited
class FundsPolicy(Stamped):
    """Per-region unit-funds policy (data/unitfunds/policy.csv; '' = every region without its own row)."""

    region_code = models.CharField("财政区划", max_length=9, unique=True, blank=True)
    finance_review = models.BooleanField("国库科审核", default=False)
    vt_code = models.CharField("凭证类型", max_length=4, default="8209")
    account_types = models.CharField("实有资金账户类型", max_length=40, default="63 82")

    objects = ScopedManager()
    scope_spec = ScopeSpec(reference=True)

    class Meta:
        verbose_name = verbose_name_plural = "单位资金政策"
        ordering = ["region_code"]


@audited(exclude=("balance", "updated_at"))  # the balance is the cache of the entries (verified), not audited state
class UnitAccount(Stamped):
    """实有资金账户: one of a unit's own bank accounts, registered for its own funds. `balance` is the cache of its
    entries (`ibms verify` recomputes it); payments in flight are held by the treasury requests paying from it."""

    region_code = models.CharField("财政区划", max_length=9)
    unit = models.ForeignKey("masterdata.Unit", verbose_name="单位", on_delete=models.PROTECT, related_name="+")
    unit_path = models.CharField("单位路径", max_length=255, editable=False, db_index=True)
    bank_account = models.OneToOneField("masterdata.BankAccount", verbose_name="银行账户", on_delete=models.PROTECT,
                                        related_name="unit_funds_account")
    balance = MoneyField("余额", default=0, editable=False)
    is_active = models.BooleanField("启用", default=True)

    objects = ScopedManager()
    scope_spec = UNIT_SCOPE

    class Meta:
        verbose_name = verbose_name_plural = "实有资金账户"
        ordering = ["region_code", "unit_path", "id"]
        constraints = [models.CheckConstraint(condition=Q(balance__gte=0), name="unitaccount_balance_nonneg",
                                              violation_error_code="unit_account_overdraw",
                                              violation_error_message="实有资金账户余额不能为负")]

    def __str__(self) -> str:
        return f"{self.bank_account.account_name} {self.bank_account.account_no}"


class AccountEntry(models.Model):
    """One movement of a unit account (append-only): income in (+), a paid request out (−), a refund back (+)."""

    class Kind(models.TextChoices):
        INCOME = "income", "收入"
        PAYMENT = "payment", "支付"

    account = models.ForeignKey(UnitAccount, on_delete=models.PROTECT, related_name="entries")
    region_code = models.CharField("财政区划", max_length=9)
    unit_path = models.CharField("单位路径", max_length=255, db_index=True)
    kind = models.CharField("类型", max_length=10, choices=Kind.choices)
    amount = MoneyField("金额（收入为正、支出为负）")
    ref = models.CharField("业务号", max_length=60)
    entry_date = models.DateField("日期")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager()
    scope_spec = ScopeSpec(unit_path_field="unit_path")

    class Meta:
        verbose_name = verbose_name_plural = "实有资金账户明细"
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["account", "kind", "ref"], name="unitaccount_entry_once",
                                               violation_error_code="entry_exists",
                                               violation_error_message="该笔业务已记入账户")]


@audited
class Income(Stamped):
    """单位资金收入 (a unit's own income received into one of its unit accounts), booked when recorded."""

    region_code = models.CharField("财政区划", max_length=9)
    year = models.PositiveIntegerField("年度")
    number = models.CharField("收入单号", max_length=40, editable=False)
    unit = models.ForeignKey("masterdata.Unit", verbose_name="单位", on_delete=models.PROTECT, related_name="+")
    unit_path = models.CharField("单位路径", max_length=255, editable=False, db_index=True)
    account = models.ForeignKey(UnitAccount, verbose_name="实有资金账户", on_delete=models.PROTECT,
                                related_name="incomes")
    kind = models.ForeignKey(IncomeKind, verbose_name="收入分类", on_delete=models.PROTECT, related_name="+")
    amount = MoneyField("金额")
    income_date = models.DateField("收款日期")
    payer_name = models.CharField("付款人", max_length=120)
    summary = models.CharField("摘要", max_length=200)
    voucher = models.ForeignKey("accounting.Voucher", verbose_name="记账凭证", null=True, on_delete=models.PROTECT,
                                related_name="+", editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="录入人", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+", editable=False)

    objects = ScopedManager()
    scope_spec = UNIT_SCOPE

    class Meta:
        verbose_name = verbose_name_plural = "单位资金收入"
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["region_code", "number"], name="unitfunds_income_number_uniq",
                                    violation_error_code="income_number_exists",
                                    violation_error_message="收入单号重复"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="unitfunds_income_positive",
                                   violation_error_code="amount_not_positive", violation_error_message="金额必须大于零"),
        ]


class StatementLine(models.Model):
    """One line of a unit account's daily bank statement (read T+1). A debit is matched to the approved treasury
    request paying from this account (by voucher number, else payee account and amount); an unmatched debit is a
    payment the system did not approve, which the T+1 monitoring batch raises as an alert."""

    class Match(models.TextChoices):
        MATCHED = "matched", "已匹配"
        UNMATCHED = "unmatched", "未匹配"
        CREDIT = "credit", "收入（不匹配）"

    account = models.ForeignKey(UnitAccount, on_delete=models.PROTECT, related_name="statement_lines")
    region_code = models.CharField("财政区划", max_length=9)
    unit_path = models.CharField("单位路径", max_length=255, db_index=True)
    statement_date = models.DateField("对账单日期")
    serial = models.CharField("银行流水号", max_length=60)
    direction = models.CharField("借贷方向", max_length=6, choices=[("debit", "支出"), ("credit", "收入")])
    amount = MoneyField("金额")
    counterparty_account = models.CharField("对方账号", max_length=32, blank=True)
    counterparty_name = models.CharField("对方户名", max_length=120, blank=True)
    voucher_no = models.CharField("凭证号", max_length=40, blank=True)
    summary = models.CharField("摘要", max_length=200, blank=True)
    match = models.CharField("匹配结果", max_length=10, choices=Match.choices)
    request_id = models.BigIntegerField("匹配的支付申请", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager()
    scope_spec = ScopeSpec(unit_path_field="unit_path")

    class Meta:
        verbose_name = verbose_name_plural = "实有资金账户对账单"
        ordering = ["statement_date", "id"]
        constraints = [models.UniqueConstraint(fields=["account", "serial"], name="unitfunds_statement_once",
                                               violation_error_code="statement_line_exists",
                                               violation_error_message="该银行流水已读入")]


class StatementDay(models.Model):
    """A unit account's statement of one day read from the bank by the T+1 feed (once per account and day: the
    daily job skips a day already read, so running it twice books nothing twice)."""

    account = models.ForeignKey(UnitAccount, on_delete=models.PROTECT, related_name="statement_days")
    region_code = models.CharField("财政区划", max_length=9)
    unit_path = models.CharField("单位路径", max_length=255, db_index=True)
    statement_date = models.DateField("对账单日期")
    lines = models.PositiveIntegerField("新读入笔数", default=0)
    unmatched = models.PositiveIntegerField("未匹配支出笔数", default=0)
    alerts = models.PositiveIntegerField("生成疑点数", default=0)
    created_at = models.DateTimeField("读取时间", auto_now_add=True)

    objects = ScopedManager()
    scope_spec = ScopeSpec(unit_path_field="unit_path")

    class Meta:
        verbose_name = verbose_name_plural = "实有资金账户对账单读取记录"
        ordering = ["-statement_date", "account_id"]
        constraints = [models.UniqueConstraint(fields=["account", "statement_date"], name="unitfunds_statement_day_once",
                                               violation_error_code="statement_day_read",
                                               violation_error_message="该账户当日对账单已读取")]
