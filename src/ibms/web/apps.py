from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "ibms.web"
    label = "web"
    verbose_name = "门户"
