from django.apps import AppConfig


class IndicatorsConfig(AppConfig):
    name = "ibms.indicators"
    label = "indicators"
    verbose_name = "指标管理"
