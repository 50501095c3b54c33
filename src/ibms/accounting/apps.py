from django.apps import AppConfig


class AccountingConfig(AppConfig):
    name = "ibms.accounting"
    label = "accounting"
    verbose_name = "会计核算"
