from django.contrib.staticfiles.urls import staticfiles_urlpatterns
from django.urls import path

from chat import views

urlpatterns = [
    path("", views.chat_page, name="chat-page"),
    path("rooms/<int:room_id>/", views.chat_page, name="chat-room-page"),
    # Static files under Daphne in development (DEBUG); an empty list otherwise.
    *staticfiles_urlpatterns(),
]
