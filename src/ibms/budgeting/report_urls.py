"""Generated budget tables; included by budgeting/urls.py under reports/ (names in the `budgeting` namespace)."""

from django.urls import path

from . import report_views as views

urlpatterns = [
    path("reports/", views.report_index, name="report-index"),
    path("reports/<int:round_id>/", views.round_reports, name="report-round"),
    path("reports/<int:round_id>/all/<slug:group>/", views.report_group, name="report-group"),
    path("reports/<int:round_id>/<slug:slug>/", views.report_table, name="report-table"),
]
