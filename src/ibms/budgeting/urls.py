from django.urls import include, path

from . import views

app_name = "budgeting"
urlpatterns = [
    path("", views.round_list, name="rounds"),
    path("rounds/<int:pk>/", views.round_detail, name="round"),
    path("rounds/<int:pk>/action/<slug:action>/", views.round_action, name="round-action"),
    path("rounds/<int:pk>/approval/", views.approval, name="approval"),
    path("rounds/<int:pk>/reply/", views.reply, name="reply"),
    path("rounds/<int:pk>/unit-replies/", views.unit_replies, name="unit-replies"),
    path("rounds/<int:pk>/ceilings/", views.ceilings, name="ceilings"),
    path("rounds/<int:pk>/compare/", views.compare, name="compare"),
    path("rounds/<int:pk>/dept/<int:dept_id>/", views.workbench, name="workbench"),
    path("rounds/<int:pk>/submit/", views.submit, name="submit"),
    path("rounds/<int:pk>/generate/", views.generate, name="generate"),
    path("rounds/<int:pk>/submissions/<int:sub_id>/review/", views.review, name="review"),
    path("rounds/<int:pk>/lines/new/", views.line_edit, name="line-create"),
    path("lines/<int:line_id>/edit/", views.line_edit, name="line-edit"),
    path("lines/<int:line_id>/delete/", views.line_delete, name="line-delete"),
    path("lines/", views.line_list, name="lines"),
    path("replies/", views.reply_list, name="replies"),
    path("", include("ibms.budgeting.report_urls")),
]
