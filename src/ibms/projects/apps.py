from django.apps import AppConfig

VIEW = ["projects.view_project", "projects.view_basicrule", "projects.view_functiondefault"]
EDIT = ["projects.add_project", "projects.change_project"]
RULES_EDIT = ["projects.add_basicrule", "projects.change_basicrule", "projects.add_functiondefault",
              "projects.change_functiondefault"]

GRANTS = {
    "unit_clerk": VIEW + EDIT + ["projects.generate_project"],
    "unit_reviewer": VIEW,
    "unit_head": VIEW,
    "dept_clerk": VIEW + EDIT + ["projects.rank_project", "projects.generate_project"],
    "dept_reviewer": VIEW + ["projects.review_project", "projects.rank_project"],
    "sector_division": VIEW + ["projects.review_project"],
    "budget_division": VIEW + RULES_EDIT + ["projects.review_project", "projects.generate_project"],
    "treasury_division": VIEW,
    "accounting_division": VIEW,
    "it_division": VIEW,
    "oversight": VIEW,
}


class ProjectsConfig(AppConfig):
    name = "ibms.projects"
    label = "projects"
    verbose_name = "项目库"

    def ready(self) -> None:
        from ibms.core import verify
        from ibms.core.views import register_nav
        from ibms.iam.roles import grant

        from . import resources  # noqa: F401  (registers the rule resources)
        from .selectors import verify_totals

        for role, perms in GRANTS.items():
            grant(role, perms)
        register_nav("项目库", "/projects/", "projects.view_project", group="项目库")
        register_nav("项目排序", "/projects/rank/", "projects.rank_project", group="项目库")
        register_nav("项目导入", "/projects/import/", "projects.add_project", group="项目库")
        register_nav("基本支出测算", "/projects/generate/", "projects.generate_project", group="项目库")
        verify.register("projects.totals", verify_totals)
