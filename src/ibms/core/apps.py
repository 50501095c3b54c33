from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "ibms.core"
    label = "core"
    verbose_name = "核心"
