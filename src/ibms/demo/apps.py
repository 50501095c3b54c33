from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "ibms.demo"
    label = "demo"
    verbose_name = "演示与数据生成"
