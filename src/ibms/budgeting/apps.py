from django.apps import AppConfig


class BudgetingConfig(AppConfig):
    name = "ibms.budgeting"
    label = "budgeting"
    verbose_name = "预算编制"

    def ready(self) -> None:
        from ibms.core import verify

        from . import resources  # noqa: F401 - registers the reply deadlines
        from .selectors import verify_reply_indicators

        # menu: data/navigation/budgeting.csv; the roles' permissions: data/policy/permissions/budgeting.csv
        verify.register("budgeting.reply_indicators", verify_reply_indicators)
