from django.contrib.auth import views as auth_views
from django.urls import path

from . import views
from .forms import LoginForm

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="iam/login.html", authentication_form=LoginForm),
         name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("iam/users/", views.user_list, name="iam-user-list"),
    path("iam/users/new/", views.user_create, name="iam-user-create"),
    path("iam/users/<int:pk>/", views.user_detail, name="iam-user-detail"),
    path("iam/users/<int:pk>/unlock/", views.user_unlock, name="iam-user-unlock"),
    path("iam/users/<int:pk>/roles/", views.role_grant, name="iam-role-grant"),
    path("iam/users/<int:pk>/roles/<str:role>/revoke/", views.role_revoke, name="iam-role-revoke"),
    path("iam/account/", views.account, name="iam-account"),
    path("iam/account/password/", views.password_change, name="iam-password-change"),
    path("iam/account/tokens/new/", views.token_issue, name="iam-token-issue"),
    path("iam/users/<int:pk>/certificates/new/", views.certificate_bind, name="iam-certificate-bind"),
    path("iam/tokens/<int:pk>/revoke/", views.token_revoke, name="iam-token-revoke"),
    path("iam/organizations/", views.organization_list, name="iam-organization-list"),
]
