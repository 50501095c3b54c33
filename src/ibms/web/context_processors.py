from django.urls import reverse

from ibms.core.navigation import menu_for
from ibms.core.views import navigation_groups


def navigation(request):
    """The side navigation: resource lists and the pages of data/navigation, grouped by module, only what the user may see."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    groups: dict[str, list[tuple[str, str]]] = {}
    for group, resources in navigation_groups(user):
        groups.setdefault(group, []).extend((r.title, reverse("resource-list", args=[r.slug])) for r in resources)
    for item in menu_for(user):
        groups.setdefault(item.group, []).append((item.title, item.url))
    extra = [("区划树", "/masterdata/regions/tree/")]
    if user.has_perm("iam.view_user"):
        extra.append(("用户管理", "/iam/users/"))
    if user.has_perm("core.view_changelog"):
        extra.append(("审计日志", "/audit/"))
    return {"nav_groups": list(groups.items()), "nav_extra": extra}
