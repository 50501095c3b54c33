from ibms.core.views import nav_links, navigation_groups


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    extra = [("区划树", "/masterdata/regions/tree/")]
    extra += [(title, url) for title, url, perm in nav_links() if not perm or user.has_perm(perm)]
    if user.has_perm("iam.view_user"):
        extra.append(("用户管理", "/iam/users/"))
    if user.has_perm("core.view_changelog"):
        extra.append(("审计日志", "/audit/"))
    return {"nav_groups": navigation_groups(user), "nav_extra": extra}
