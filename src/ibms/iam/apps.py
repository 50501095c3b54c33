from django.apps import AppConfig


class IamConfig(AppConfig):
    name = "ibms.iam"
    label = "iam"
    verbose_name = "用户与权限"
