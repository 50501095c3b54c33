from django.urls import path

from . import views

app_name = "projects"
urlpatterns = [
    path("", views.project_list, name="list"),
    path("new/", views.project_edit, name="create"),
    path("rank/", views.rank, name="rank"),
    path("import/", views.import_projects, name="import"),
    path("import/template/", views.import_template, name="import-template"),
    path("generate/", views.generate, name="generate"),
    path("<int:pk>/", views.project_detail, name="detail"),
    path("<int:pk>/edit/", views.project_edit, name="edit"),
    path("<int:pk>/submit/", views.project_submit, name="submit"),
    path("<int:pk>/review/", views.project_review, name="review"),
    path("<int:pk>/close/", views.project_close, name="close"),
    path("<int:pk>/attachments/", views.attachment_upload, name="attachment-upload"),
    path("attachments/<int:att_id>/", views.attachment_download, name="attachment-download"),
    path("attachments/<int:att_id>/delete/", views.attachment_delete, name="attachment-delete"),
]
