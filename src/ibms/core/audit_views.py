"""The audit log pages, for the audit administrator (`core.view_businessevent`, `core.view_changelog`): business
events — everyone's acts, the system and security administrators' included — and row changes in the reader's
scope, filtered (audit_filtersets), paged (django-tables2) and exported to Excel with the same filters. Events open
on the business category, with logins and refusals on their own tabs, so a flood of refusals never pushes business
entries out of view."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django_tables2 import RequestConfig

from . import audit_tables as at
from . import excel
from .audit_filtersets import ChangeFilter, EventFilter, filter_errors
from .audit_names import CATEGORIES, event_choices
from .errors import invalid
from .selectors import audit_changes, audit_events
from .views import xlsx_response

EXPORT_MAX_ROWS = 200_000  # an export beyond this is refused: narrow the dates instead


TABS = [*((key, f"{title}事件" if key == "all" else title) for key, title in CATEGORIES.items()),
        ("changes", "数据变更")]


def _page(request, *, fs, table_class, columns, convert, title: str, tab: str, extra=None):
    qs = fs.qs
    if request.GET.get("export") == "xlsx":
        total = qs.count()
        if total > EXPORT_MAX_ROWS:
            raise invalid("export_too_large", f"导出 {total} 条，超过上限 {EXPORT_MAX_ROWS} 条，请缩小日期范围", "date_from")
        rows = (convert(e) for e in qs.iterator(chunk_size=2000))
        return xlsx_response(excel.export_rows(columns, rows, title=title), f"{title}.xlsx")
    table = table_class(qs)
    RequestConfig(request, paginate={"per_page": at.PER_PAGE}).configure(table)
    return render(request, "core/audit_log.html", {
        "table": table, "filter": fs, "errors": filter_errors(fs), "tabs": TABS, "tab": tab,
        "page_title": "审计日志", **(extra or {})})


@login_required
def audit_log(request):
    """Business events; the business category unless the reader picks another (`category=` is all)."""
    data = request.GET.copy()
    if data.get("category", "business") not in (*CATEGORIES, ""):
        data["category"] = "business"
    data.setdefault("category", "business")
    fs = EventFilter(data, queryset=audit_events(actor=request.user))
    tab = data["category"] if data["category"] in CATEGORIES else "all"
    return _page(request, fs=fs, table_class=at.EventTable, columns=at.EVENT_COLUMNS, convert=at.event_row,
                 title=f"审计日志-{CATEGORIES.get(tab, '全部')}", tab=tab, extra={"event_names": event_choices()})


@login_required
def audit_changes_log(request):
    """Row changes (who changed which row, which fields)."""
    fs = ChangeFilter(request.GET, queryset=audit_changes(actor=request.user))
    return _page(request, fs=fs, table_class=at.ChangeTable, columns=at.CHANGE_COLUMNS, convert=at.change_row,
                 title="审计日志-数据变更", tab="changes")
