from django.urls import path

from . import views

app_name = "monitoring"
urlpatterns = [
    path("", views.alert_list, name="home"),
    path("alerts/", views.alert_list, name="alerts"),
    path("alerts/<int:pk>/", views.alert_detail, name="alert"),
    path("alerts/<int:pk>/<str:step>/", views.alert_action, name="alert-action"),
    path("rules/", views.rule_list, name="rules"),
    path("rules/new/", views.rule_new, name="rule-new"),
    path("rules/<int:pk>/", views.rule_detail, name="rule"),
    path("rules/<int:pk>/backtest/", views.rule_backtest, name="rule-backtest"),
    path("rules/<int:pk>/<str:on>/", views.rule_toggle, name="rule-toggle"),
    path("backtests/<int:pk>/", views.backtest_detail, name="backtest"),
    path("whitelist/", views.whitelist, name="whitelist"),
    path("whitelist/<int:pk>/deactivate/", views.whitelist_deactivate, name="whitelist-deactivate"),
]
