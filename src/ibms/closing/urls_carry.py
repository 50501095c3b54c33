"""/closing/carry/: the carry-over proposal pages (included by closing/urls.py inside the `closing` namespace)."""

from django.urls import path

from . import views_carry as v

urlpatterns = [
    path("", v.carry_page, name="carry"),
    path("propose/", v.carry_propose, name="carry-propose"),
    path("lines/<int:pk>/", v.carry_line, name="carry-line"),
    path("<int:pk>/execute/", v.carry_execute, name="carry-execute"),
    path("<int:pk>/progress/", v.carry_progress, name="carry-progress"),
]
