from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "ibms.monitoring"
    label = "monitoring"
    verbose_name = "动态监控"

    def ready(self) -> None:
        from ibms.core import verify

        from . import services  # noqa: F401 - registers the T+1 periodic job
        from .selectors import rule_problems

        # menu: data/navigation/monitoring.csv; the roles' permissions: data/policy/permissions/monitoring.csv
        verify.register("monitoring.rules", rule_problems)
