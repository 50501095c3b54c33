from django.apps import AppConfig

VIEW_ALL = [f"budgeting.view_{m}" for m in ("budgetround", "budgetline", "ceiling", "submission", "reply",
                                            "replydeadline")]
LINE_EDIT = [f"budgeting.{a}_budgetline" for a in ("add", "change", "delete")]


class BudgetingConfig(AppConfig):
    name = "ibms.budgeting"
    label = "budgeting"
    verbose_name = "预算编制"

    def ready(self) -> None:
        from ibms.core import verify
        from ibms.core.views import register_nav
        from ibms.iam.roles import grant

        from . import resources  # noqa: F401 - registers the reply deadlines
        from .selectors import verify_reply_indicators

        grant("budget_division", [*VIEW_ALL, *LINE_EDIT, "budgeting.add_budgetround", "budgeting.change_budgetround",
                                  "budgeting.add_ceiling", "budgeting.change_ceiling", "budgeting.delete_ceiling",
                                  "budgeting.change_submission", "budgeting.review_submission",
                                  "budgeting.change_reply", "budgeting.add_replydeadline",
                                  "budgeting.change_replydeadline"])
        for role in ("sector_division", "treasury_division", "accounting_division", "it_division", "oversight"):
            grant(role, VIEW_ALL)
        grant("dept_reviewer", [*VIEW_ALL, *LINE_EDIT, "budgeting.submit_submission", "budgeting.review_submission",
                                "budgeting.change_reply"])
        grant("dept_clerk", [*VIEW_ALL, *LINE_EDIT, "budgeting.submit_submission", "budgeting.change_reply"])
        unit_view = ["budgeting.view_budgetround", "budgeting.view_budgetline", "budgeting.view_submission",
                     "budgeting.view_reply"]
        grant("unit_clerk", [*unit_view, *LINE_EDIT, "budgeting.submit_submission"])
        grant("unit_reviewer", unit_view)
        grant("unit_head", unit_view)

        register_nav("预算编制", "/budgeting/", "budgeting.view_budgetround", group="预算编制")
        register_nav("预算明细查询", "/budgeting/lines/", "budgeting.view_budgetline", group="预算编制")
        register_nav("预算批复情况", "/budgeting/replies/", "budgeting.view_reply", group="预算编制")
        register_nav("预算报表", "/budgeting/reports/", "budgeting.view_budgetline", group="预算编制")
        verify.register("budgeting.reply_indicators", verify_reply_indicators)
