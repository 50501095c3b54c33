"""Pages of the books and statements: account set / period selectors, HTML, `?format=xlsx`, `?format=pdf`.

Thin: parse the query, call the books/statements selectors, turn the result into `ReportTable`s (the same
tables feed the page, Excel and PDF), render through `ibms.core.reports.report_response`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse

from ibms.core import clock
from ibms.core.errors import NotFound
from ibms.core.reports import MONEY, TEXT, ReportColumn, ReportTable, report_response

from . import books, selectors, statements
from .books import BASIS_LABELS, PeriodRange, direction
from .models import AccountSet

TEMPLATE = "accounting/reports/report.html"
MONTHS = list(range(1, 13))


# --- request parsing -------------------------------------------------------------------------------

@dataclass
class Selection:
    account_set: AccountSet
    period: PeriodRange
    sets: list[AccountSet]


def _default_end(aset: AccountSet) -> int:
    today = clock.today(aset.region_code)
    return today.month if today.year == aset.year else 12


def _selection(request) -> Selection:
    """The account set (`set`, default: the newest the user may read) and the period range (`start`, `end`)."""
    user = request.user
    sets = list(selectors.account_set_list(actor=user, newest_first=True)[:500])
    set_id = request.GET.get("set", "")
    if set_id:
        aset = selectors.account_set_get(actor=user, pk=set_id if set_id.isdigit() else 0)
    elif sets:
        aset = sets[0]
    else:
        raise NotFound("账套")
    if aset not in sets:
        sets.insert(0, aset)
    period = PeriodRange.of(request.GET.get("start") or 1, request.GET.get("end") or _default_end(aset))
    return Selection(aset, period, sets)


def _subtitle(sel: Selection, extra: str = "") -> str:
    aset = sel.account_set
    owner = aset.unit.name if aset.unit_id else aset.name
    return f"账套：{aset.code} {owner}　{aset.year}年{sel.period.label}　单位：元" + (f"　{extra}" if extra else "")


def _context(sel: Selection, **extra) -> dict:
    """Template context; `title` (the page heading) defaults to report_response's file name otherwise."""
    return {"sel": sel, "months": MONTHS, "statement_links": _statement_links(), **extra}


def _statement_links() -> list[tuple[str, str]]:
    return [(d.title, reverse("accounting:report-statement", args=[d.code]))
            for d in statements.definitions().values()]


def _abs_dir(amount: int) -> tuple[str, int]:
    return direction(amount), abs(amount)


# --- tables ----------------------------------------------------------------------------------------

def trial_balance_tables(tb: books.TrialBalance, subtitle: str, ledger_url=None) -> list[ReportTable]:
    """`ledger_url(code)`: the page an account's row drills down to (its detail ledger)."""
    out = []
    for basis, rows in tb.rows.items():
        cols = [ReportColumn("科目编码", TEXT, 0.8), ReportColumn("科目名称", TEXT, 1.6)] + [
            ReportColumn(label, MONEY) for label in ("期初借方", "期初贷方", "本期借方", "本期贷方", "期末借方", "期末贷方")]
        body, links = [], {}
        for r in rows:
            od, oc = r.split(r.opening)
            cd, cc = r.split(r.closing)
            if ledger_url is not None:
                links[len(body)] = ledger_url(r.code)
            body.append([r.code, ("　" * (r.account.level - 1)) + r.account.name, od, oc, r.debit, r.credit, cd, cc])
        t = tb.totals[basis]
        body.append(["", "合计", t.opening_debit, t.opening_credit, t.debit, t.credit, t.closing_debit,
                     t.closing_credit])
        check = "借贷平衡" if t.balanced else "；".join(t.problems)
        out.append(ReportTable(f"科目余额表（{BASIS_LABELS[basis]}）", cols, body,
                               subtitle=f"{subtitle}　试算：{check}", bold_rows={len(body) - 1}, links=links))
    return out


def general_ledger_table(gl: books.GeneralLedger, subtitle: str) -> ReportTable:
    cols = [ReportColumn("期间", TEXT, 0.5), ReportColumn("摘要", TEXT, 1.4), ReportColumn("借方", MONEY),
            ReportColumn("贷方", MONEY), ReportColumn("借或贷", TEXT, 0.4), ReportColumn("余额", MONEY)]
    acc = gl.account
    rows, bold = [], set()
    label = "上年结转" if gl.period.start == 1 else "期初余额"
    rows.append([f"{gl.period.start:02d}", label, None, None, *_abs_dir(gl.opening)])
    for m in gl.months:
        rows.append([f"{m.period_no:02d}", "本月合计", m.debit, m.credit, *_abs_dir(m.balance)])
        rows.append([f"{m.period_no:02d}", "本年累计", m.ytd_debit, m.ytd_credit, *_abs_dir(m.balance)])
        bold.add(len(rows) - 1)
    return ReportTable(f"总账：{acc.code} {acc.name}", cols, rows, subtitle=subtitle, bold_rows=bold)


def detail_ledger_table(dl: books.DetailLedger, subtitle: str) -> ReportTable:
    cols = [ReportColumn("期间", TEXT, 0.4), ReportColumn("日期", TEXT, 0.7), ReportColumn("凭证号", TEXT, 0.7),
            ReportColumn("科目", TEXT, 0.6), ReportColumn("摘要", TEXT, 1.6), ReportColumn("辅助核算", TEXT, 1.4),
            ReportColumn("借方", MONEY), ReportColumn("贷方", MONEY), ReportColumn("借或贷", TEXT, 0.4),
            ReportColumn("余额", MONEY)]
    acc = dl.account
    rows, bold = [], set()
    rows.append([f"{dl.period.start:02d}", "", "", "", "期初余额", "", None, None, *_abs_dir(dl.opening)])
    by_month: dict[int, list[books.DetailEntry]] = {}
    for e in dl.entries:
        by_month.setdefault(e.period_no, []).append(e)
    balance, links = dl.opening, {}
    for p in range(dl.period.start, dl.period.end + 1):
        entries = by_month.get(p, [])
        for e in entries:
            balance = e.balance
            links[len(rows)] = reverse("accounting:voucher-detail", args=[e.voucher_id])
            dims = " ".join(v for v in e.dims.values())
            rows.append([f"{p:02d}", e.date.isoformat(), e.voucher_no, e.account_code, e.summary, dims, e.debit,
                         e.credit, *_abs_dir(e.balance)])
        if entries:
            d, c = dl.month_totals.get(p, (0, 0))
            rows.append([f"{p:02d}", "", "", "", "本月合计", "", d, c, *_abs_dir(balance)])
            yd, yc = dl.ytd_totals.get(p, (0, 0))
            rows.append([f"{p:02d}", "", "", "", "本年累计", "", yd, yc, *_abs_dir(balance)])
            bold.update({len(rows) - 2, len(rows) - 1})
    return ReportTable(f"明细账：{acc.code} {acc.name}", cols, rows, subtitle=subtitle, bold_rows=bold, links=links)


def project_ledger_tables(pl: books.ProjectLedger, subtitle: str) -> list[ReportTable]:
    cols = [ReportColumn("项目代码", TEXT, 1.2), ReportColumn("支出功能分类", TEXT, 0.8),
            ReportColumn("部门经济分类", TEXT, 0.8), ReportColumn("资金性质", TEXT, 0.6),
            ReportColumn("预算收入", MONEY), ReportColumn("预算支出", MONEY)]
    rows, bold = [], set()
    for p in pl.projects:
        for r in (r for r in pl.rows if r.project_code == p):
            rows.append([r.project_code, r.exp_func_code, r.dep_eco_code, r.fund_nature_code, r.revenue,
                         r.expenditure])
        rev, exp = pl.totals(p)
        rows.append([p, "小计", "", "", rev, exp])
        bold.add(len(rows) - 1)
    rev, exp = pl.totals()
    rows.append(["合计", "", "", "", rev, exp])
    bold.add(len(rows) - 1)
    out = [ReportTable("项目明细账（预算会计）", cols, rows, subtitle=subtitle, bold_rows=bold)]
    if pl.project_code:
        dcols = [ReportColumn("期间", TEXT, 0.4), ReportColumn("日期", TEXT, 0.7), ReportColumn("凭证号", TEXT, 0.7),
                 ReportColumn("科目", TEXT, 0.6), ReportColumn("摘要", TEXT, 1.6), ReportColumn("功能分类", TEXT, 0.7),
                 ReportColumn("经济分类", TEXT, 0.6), ReportColumn("借方", MONEY), ReportColumn("贷方", MONEY),
                 ReportColumn("累计支出", MONEY)]
        drows = [[f"{e.period_no:02d}", e.date.isoformat(), e.voucher_no, e.account_code, e.summary,
                  e.dims.get("exp_func_code", ""), e.dims.get("dep_eco_code", ""), e.debit, e.credit, e.balance]
                 for e in pl.entries]
        out.append(ReportTable(f"项目明细账：{pl.project_code}", dcols, drows, subtitle=subtitle))
    return out


# --- pages -----------------------------------------------------------------------------------------

def _filename(sel: Selection, name: str) -> str:
    return f"{name}-{sel.account_set.code}-{sel.period.start:02d}-{sel.period.end:02d}"


@login_required
def index(request):
    sel = _selection(request)
    return render(request, "accounting/reports/index.html", _context(sel, title="账簿与报表"))


@login_required
def trial_balance_view(request):
    sel = _selection(request)
    level = request.GET.get("level", "")
    tb = books.trial_balance(actor=request.user, account_set=sel.account_set, period=sel.period,
                             max_level=int(level) if level.isdigit() else 0)
    base = (f"{reverse('accounting:report-detail-ledger')}?set={sel.account_set.pk}&start={sel.period.start}"
            f"&end={sel.period.end}&account=")
    tables = trial_balance_tables(tb, _subtitle(sel), ledger_url=lambda code: base + code)
    return report_response(request, tables, filename=_filename(sel, "科目余额表"), template=TEMPLATE,
                           context=_context(sel, title="科目余额表", page="trial_balance", level=level,
                                            problems=tb.problems))


def _account_choice(request, sel: Selection, level: int) -> tuple[str, list]:
    choices = books.ledger_accounts(actor=request.user, account_set=sel.account_set, period=sel.period, level=level)
    code = request.GET.get("account", "") or (choices[0].code if choices else "")
    return code, choices


@login_required
def general_ledger_view(request):
    sel = _selection(request)
    code, choices = _account_choice(request, sel, 1)
    tables = []
    if code:
        gl = books.general_ledger(actor=request.user, account_set=sel.account_set, code=code, period=sel.period)
        tables.append(general_ledger_table(gl, _subtitle(sel)))
    return report_response(request, tables, filename=_filename(sel, f"总账{code}"), template=TEMPLATE,
                           context=_context(sel, title="总账", page="general_ledger", accounts=choices, account=code))


@login_required
def detail_ledger_view(request):
    sel = _selection(request)
    code, choices = _account_choice(request, sel, 0)
    project = request.GET.get("project", "").strip()
    tables = []
    if code:
        dl = books.detail_ledger(actor=request.user, account_set=sel.account_set, code=code, period=sel.period,
                                 dims={"project_code": project} if project else None)
        tables.append(detail_ledger_table(dl, _subtitle(sel, f"项目：{project}" if project else "")))
    return report_response(request, tables, filename=_filename(sel, f"明细账{code}"), template=TEMPLATE,
                           context=_context(sel, title="明细账", page="detail_ledger", accounts=choices, account=code,
                                            project=project))


@login_required
def project_ledger_view(request):
    sel = _selection(request)
    project = request.GET.get("project", "").strip()
    pl = books.project_ledger(actor=request.user, account_set=sel.account_set, period=sel.period,
                              project_code=project)
    tables = project_ledger_tables(pl, _subtitle(sel))
    return report_response(request, tables, filename=_filename(sel, "项目明细账"), template=TEMPLATE,
                           context=_context(sel, title="项目明细账", page="project_ledger", project=project,
                                            projects=pl.projects))


@login_required
def statement_view(request, code: str):
    sel = _selection(request)
    st = statements.statement_compute(actor=request.user, account_set=sel.account_set, code=code,
                                      period=sel.period)
    return report_response(request, [st.table()], filename=_filename(sel, st.title), template=TEMPLATE,
                           context=_context(sel, title=st.title, page="statement", code=code, problems=st.problems))


@login_required
def statements_all_view(request):
    sel = _selection(request)
    sts = statements.statement_compute_all(actor=request.user, account_set=sel.account_set, period=sel.period)
    return report_response(request, [s.table() for s in sts], filename=_filename(sel, "会计报表"), template=TEMPLATE,
                           context=_context(sel, title="会计报表", page="statements",
                                            problems=[p for s in sts for p in s.problems]))
