"""Pages of the final accounts, included under /closing/final/ (names in the closing namespace)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.final_index, name="final-index"),
    path("<int:year>/<str:scope>/<str:code>/", views.final_table, name="final-table"),
    path("<int:year>/<str:scope>/<str:code>/drill/", views.final_drill, name="final-drill"),
]
