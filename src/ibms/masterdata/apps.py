from django.apps import AppConfig


class MasterdataConfig(AppConfig):
    name = "ibms.masterdata"
    label = "masterdata"
    verbose_name = "基础信息"

    def ready(self) -> None:
        from . import resources  # noqa: F401 - registers the entities
