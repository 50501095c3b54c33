from django.apps import AppConfig


class BudgetingConfig(AppConfig):
    name = "ibms.budgeting"
    label = "budgeting"
    verbose_name = "预算编制"
