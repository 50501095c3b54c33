from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "ibms.monitoring"
    label = "monitoring"
    verbose_name = "动态监控"

    def ready(self) -> None:
        from ibms.core import verify
        from ibms.core.views import register_nav

        from . import services  # noqa: F401 - registers the T+1 periodic job
        from .selectors import rule_problems

        verify.register("monitoring.rules", rule_problems)

        # the roles' permissions: data/policy/permissions/monitoring.csv
        group = "动态监控"
        register_nav("待说明疑点", "/monitoring/alerts/?queue=explain", "monitoring.explain_alert", group=group)
        register_nav("待核实疑点", "/monitoring/alerts/?queue=verify", "monitoring.verify_alert", group=group)
        register_nav("违规整改", "/monitoring/alerts/?queue=rectify", "monitoring.verify_alert", group=group)
        register_nav("全部疑点", "/monitoring/alerts/", "monitoring.view_alert", group=group)
        register_nav("监控规则", "/monitoring/rules/", "monitoring.view_rule", group=group)
        register_nav("监控白名单", "/monitoring/whitelist/", "monitoring.view_whitelistentry", group=group)
