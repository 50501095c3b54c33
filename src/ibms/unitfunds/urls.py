from django.urls import path

from . import views

app_name = "unitfunds"

urlpatterns = [
    path("", views.account_list, name="accounts"),
    path("accounts/<int:pk>/", views.account_detail, name="account-detail"),
    path("incomes/new/", views.income_new, name="income-new"),
    path("statement/", views.statement_list, name="statement"),
    path("statement/feed/", views.statement_feed, name="statement-feed"),
    path("alerts/", views.alert_list, name="alerts"),
]
