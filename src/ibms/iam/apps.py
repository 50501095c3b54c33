from django.apps import AppConfig


class IamConfig(AppConfig):
    name = "ibms.iam"
    label = "iam"
    verbose_name = "用户与权限"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_logged_out

        from . import resources  # noqa: F401 - registers Organization as a resource
        from .auth import record_logout
        from .middleware import mark_session_start

        user_logged_in.connect(mark_session_start, dispatch_uid="ibms.iam.session_start")
        user_logged_out.connect(record_logout, dispatch_uid="ibms.iam.logout")
