from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "ibms.projects"
    label = "projects"
    verbose_name = "项目库"

    def ready(self) -> None:
        from ibms.core import verify
        from ibms.core.views import register_nav

        from . import resources  # noqa: F401  (registers the rule resources)
        from .selectors import project_problems

        # the roles' permissions: data/policy/permissions/projects.csv
        register_nav("项目库", "/projects/", "projects.view_project", group="项目库")
        register_nav("项目排序", "/projects/rank/", "projects.rank_project", group="项目库")
        register_nav("项目导入", "/projects/import/", "projects.add_project", group="项目库")
        register_nav("基本支出测算", "/projects/generate/", "projects.generate_project", group="项目库")
        verify.register("projects.totals", project_problems)
