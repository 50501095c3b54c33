from django.urls import include, path

from . import views

app_name = "accounting"
urlpatterns: list = [
    path("sets/", views.set_list, name="set-list"),
    path("sets/new/", views.set_create, name="set-create"),
    path("sets/<int:pk>/", views.set_detail, name="set-detail"),
    path("sets/<int:pk>/close/", views.set_close, name="set-close"),
    path("sets/<int:pk>/year-end-close/", views.set_year_end_close, name="set-year-end-close"),
    path("accounts/<int:pk>/", views.account_edit, name="account-edit"),
    path("periods/<int:pk>/<str:action>/", views.period_action, name="period-action"),
    path("vouchers/", views.voucher_list, name="voucher-list"),
    path("vouchers/new/", views.voucher_entry, name="voucher-create"),
    path("vouchers/<int:pk>/", views.voucher_detail, name="voucher-detail"),
    path("vouchers/<int:pk>/edit/", views.voucher_entry, name="voucher-edit"),
    path("vouchers/<int:pk>/<str:action>/", views.voucher_action, name="voucher-action"),
    path("rules/", views.rule_list, name="rule-list"),
    path("", include("ibms.accounting.report_urls")),
]
