from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "ibms.projects"
    label = "projects"
    verbose_name = "项目库"

    def ready(self) -> None:
        from ibms.core import verify

        from . import resources  # noqa: F401  (registers the rule resources)
        from .selectors import project_problems

        # menu: data/navigation/projects.csv; the roles' permissions: data/policy/permissions/projects.csv
        verify.register("projects.totals", project_problems)
