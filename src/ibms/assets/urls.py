from django.urls import path

from . import views

app_name = "assets"

urlpatterns = [
    path("", views.card_list, name="cards"),
    path("new/", views.card_new, name="card-new"),
    path("<int:pk>/", views.card_detail, name="card-detail"),
    path("<int:pk>/change/", views.change_new, name="change-new"),
    path("changes/<int:pk>/", views.change_detail, name="change-detail"),
    path("changes/<int:pk>/<str:action>/", views.change_action, name="change-action"),
    path("depreciation/", views.depreciation, name="depreciation"),
    path("schedule/", views.schedule, name="schedule"),
]
