from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from ibms.core.workflow import todo_for_user


@login_required
def home(request):
    todos = list(todo_for_user(request.user)[:50])
    return render(request, "web/home.html", {"todos": todos, "page_title": "首页"})
