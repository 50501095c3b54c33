from django.urls import path

from . import views

urlpatterns = [
    path("regions/tree/", views.region_tree, name="region-tree"),
    path("blacklist/<int:pk>/submit/", views.blacklist_submit, name="blacklist-submit"),
    path("blacklist/<int:pk>/review/", views.blacklist_review, name="blacklist-review"),
]
