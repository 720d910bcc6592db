from django.contrib.staticfiles.urls import staticfiles_urlpatterns
from django.templatetags.static import static
from django.urls import path
from django.views.generic import RedirectView

from chat import views

urlpatterns = [
    path("", views.chat_page, name="chat-page"),
    path("rooms/<int:room_id>/", views.chat_page, name="chat-room-page"),
    path("email/unsubscribe/<str:token>/", views.email_unsubscribe, name="chat-email-unsubscribe"),
    # Browsers ask for /favicon.ico on pages without an icon link (plain error pages).
    path("favicon.ico", RedirectView.as_view(url=static("chat/favicon.svg"), permanent=True)),
    # Static files under Daphne in development (DEBUG); an empty list otherwise.
    *staticfiles_urlpatterns(),
]
