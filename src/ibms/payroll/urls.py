from django.urls import path

from . import views

app_name = "payroll"

urlpatterns = [
    path("", views.run_list, name="runs"),
    path("profiles/", views.profile_list, name="profiles"),
    path("people/<int:person_id>/profile/", views.profile_edit, name="profile-edit"),
    path("runs/new/", views.run_new, name="run-new"),
    path("runs/<int:pk>/", views.run_detail, name="run-detail"),
    path("runs/<int:pk>/table.xlsx", views.run_table, name="run-table"),
    path("runs/<int:pk>/slips/<int:person_id>.pdf", views.slip_pdf, name="slip-pdf"),
    path("runs/<int:pk>/adjustments.xlsx", views.run_adjust_template, name="run-adjust-template"),
    path("runs/<int:pk>/adjustments/", views.run_adjust, name="run-adjust"),
    path("summary/", views.region_summary, name="summary"),
    path("runs/<int:pk>/<str:action>/", views.run_action, name="run-action"),
]
