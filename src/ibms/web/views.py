from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import render

from ibms.core.workflow import todo_for_user, todo_kinds
from ibms.masterdata.models import Region

SHOWN = 100


@login_required
def home(request):
    """我的待办: every open item for the user, counted by kind (each count a link to its items), newest last."""
    names = todo_kinds()
    items = todo_for_user(request.user)
    counts = dict(items.order_by().values_list("doc_type").annotate(n=Count("id")))
    kinds = [{"code": code, "name": name, "count": counts[code]} for code, name in names.items() if code in counts]
    kind = request.GET.get("kind", "")
    shown = list((items.filter(doc_type=kind) if kind in names else items)[:SHOWN])
    for t in shown:
        t.kind_name = names.get(t.doc_type, "其他事项")
    region = Region.objects.filter(code=getattr(request.user, "region_code", "")).values_list("name", flat=True).first()
    return render(request, "web/home.html", {
        "todos": shown, "kinds": kinds, "total": sum(counts.values()), "kind": kind if kind in names else "",
        "kind_name": names.get(kind, ""), "region_name": region or "", "page_title": "首页", "shown_max": SHOWN})
