"""Books and statements pages, included by `accounting/urls.py` (names live in the `accounting` namespace)."""

from django.urls import path

from . import report_views as v

urlpatterns = [
    path("reports/", v.index, name="report-index"),
    path("reports/trial-balance/", v.trial_balance_view, name="report-trial-balance"),
    path("reports/general-ledger/", v.general_ledger_view, name="report-general-ledger"),
    path("reports/detail-ledger/", v.detail_ledger_view, name="report-detail-ledger"),
    path("reports/project-ledger/", v.project_ledger_view, name="report-project-ledger"),
    path("reports/statements/", v.statements_all_view, name="report-statements"),
    path("reports/statements/<slug:code>/", v.statement_view, name="report-statement"),
]
