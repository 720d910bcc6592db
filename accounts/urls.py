from django.contrib.auth import views as auth_views
from django.urls import path

from accounts.api import MeView, TokenView, WsTicketView

urlpatterns = [
    path("token/", TokenView.as_view(), name="api-token"),
    path("ws-ticket/", WsTicketView.as_view(), name="api-ws-ticket"),
    path("me/", MeView.as_view(), name="api-me"),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="registration/login.html"),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
