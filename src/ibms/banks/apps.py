from django.apps import AppConfig


class BanksConfig(AppConfig):
    name = "ibms.banks"
    label = "banks"
    verbose_name = "银行接口"
