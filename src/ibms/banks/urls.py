from django.urls import path

from . import views

app_name = "banks"
urlpatterns = [
    path("", views.message_list, name="messages"),
    path("messages/<int:pk>/", views.message_detail, name="message"),
    path("endpoints/", views.endpoint_list, name="endpoints"),
    path("signers/", views.signer_list, name="signers"),
]
