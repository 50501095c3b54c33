from django.apps import AppConfig


class TreasuryConfig(AppConfig):
    name = "ibms.treasury"
    label = "treasury"
    verbose_name = "国库集中支付"
