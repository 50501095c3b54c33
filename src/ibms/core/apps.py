from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "ibms.core"
    label = "core"
    verbose_name = "核心"

    def ready(self) -> None:
        # the deployment security checks; the outbox handler core.import_job
        from . import checks, imports  # noqa: F401
