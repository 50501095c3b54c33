from django.urls import include, path

from . import views

app_name = "closing"
urlpatterns = [
    path("", views.year_list, name="years"),
    path("final/", include("ibms.closing.final.urls")),
    path("carry/", include("ibms.closing.urls_carry")),
    path("<str:region>/<int:year>/checklist/", views.checklist_partial, name="checklist"),
    path("<str:region>/<int:year>/steps/<str:step>/", views.step_start, name="step-start"),
    path("<str:region>/<int:year>/start/", views.year_start, name="year-start"),
]
