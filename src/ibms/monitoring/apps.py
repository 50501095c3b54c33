from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "ibms.monitoring"
    label = "monitoring"
    verbose_name = "动态监控"
