from django.urls import path

from . import views

app_name = "indicators"
urlpatterns = [
    path("", views.indicator_list, name="list"),
    path("<int:pk>/", views.indicator_detail, name="detail"),
    path("<int:pk>/distribute/", views.indicator_distribute, name="distribute"),
    path("<int:pk>/<str:move>/", views.indicator_move, name="move"),
    path("reallocations/", views.reallocation_list, name="reallocations"),
    path("reallocations/new/", views.reallocation_new, name="reallocation-new"),
    path("reallocations/<int:pk>/", views.reallocation_detail, name="reallocation-detail"),
    path("transfers/", views.transfer_list, name="transfers"),
    path("transfers/<int:pk>/", views.transfer_detail, name="transfer-detail"),
    path("documents/", views.document_list, name="documents"),
]
