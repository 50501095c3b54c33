from django.urls import path

from . import audit_views

urlpatterns = [
    path("", audit_views.audit_log, name="audit-log"),
    path("changes/", audit_views.audit_changes_log, name="audit-changes"),
]
