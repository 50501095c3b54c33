from django.urls import path

from . import views, views_changes

app_name = "procurement"

urlpatterns = [
    path("", views.plan_list, name="plans"),
    path("new/", views.plan_new, name="plan-new"),
    path("<int:pk>/", views.plan_detail, name="plan-detail"),
    path("<int:pk>/<str:action>/", views.plan_action, name="plan-action"),
    path("contracts/<int:contract_id>/changes/", views_changes.contract_changes, name="contract-changes"),
    path("changes/<int:pk>/<str:action>/", views_changes.change_action, name="change-action"),
]
