from django.apps import AppConfig


def _perms(actions: tuple[str, ...], models: tuple[str, ...]) -> list[str]:
    return [f"monitoring.{a}_{m}" for m in models for a in actions]


class MonitoringConfig(AppConfig):
    name = "ibms.monitoring"
    label = "monitoring"
    verbose_name = "动态监控"

    def ready(self) -> None:
        from ibms.core import verify
        from ibms.core.views import register_nav
        from ibms.iam.roles import grant

        from . import services  # noqa: F401 - registers the T+1 periodic job
        from .selectors import rule_problems

        verify.register("monitoring.rules", rule_problems)

        view_all = _perms(("view",), ("rule", "whitelistentry", "backtestrun", "alert", "batchrun"))
        # 国库处 keeps the rules, the whitelist and runs back-tests and the batch; it verifies alerts.
        grant("treasury_division", [*view_all, *_perms(("add", "change"), ("rule", "whitelistentry")),
                                    "monitoring.add_backtestrun", "monitoring.add_batchrun",
                                    "monitoring.verify_alert"])
        grant("oversight", view_all)
        # Units explain their alerts; their reviewers, heads and departments read them.
        grant("unit_clerk", ["monitoring.view_alert", "monitoring.explain_alert"])
        for role in ("unit_reviewer", "unit_head", "dept_reviewer", "dept_clerk"):
            grant(role, ["monitoring.view_alert"])

        group = "动态监控"
        register_nav("待说明疑点", "/monitoring/alerts/?queue=explain", "monitoring.explain_alert", group=group)
        register_nav("待核实疑点", "/monitoring/alerts/?queue=verify", "monitoring.verify_alert", group=group)
        register_nav("违规整改", "/monitoring/alerts/?queue=rectify", "monitoring.verify_alert", group=group)
        register_nav("全部疑点", "/monitoring/alerts/", "monitoring.view_alert", group=group)
        register_nav("监控规则", "/monitoring/rules/", "monitoring.view_rule", group=group)
        register_nav("监控白名单", "/monitoring/whitelist/", "monitoring.view_whitelistentry", group=group)
