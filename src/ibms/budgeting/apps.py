from django.apps import AppConfig


class BudgetingConfig(AppConfig):
    name = "ibms.budgeting"
    label = "budgeting"
    verbose_name = "预算编制"

    def ready(self) -> None:
        from ibms.core import verify
        from ibms.core.views import register_nav

        from . import resources  # noqa: F401 - registers the reply deadlines
        from .selectors import verify_reply_indicators

        # the roles' permissions: data/policy/permissions/budgeting.csv
        register_nav("预算编制", "/budgeting/", "budgeting.view_budgetround", group="预算编制")
        register_nav("预算明细查询", "/budgeting/lines/", "budgeting.view_budgetline", group="预算编制")
        register_nav("预算批复情况", "/budgeting/replies/", "budgeting.view_reply", group="预算编制")
        register_nav("预算报表", "/budgeting/reports/", "budgeting.view_budgetline", group="预算编制")
        verify.register("budgeting.reply_indicators", verify_reply_indicators)
