from django.urls import path
from rest_framework.routers import SimpleRouter

from academia.rest.not_found import catch_all
from chat.api import views

router = SimpleRouter()
router.register("rooms", views.RoomViewSet, basename="chat-room")
router.register("messages", views.MessageViewSet, basename="chat-message")
router.register("polls", views.PollViewSet, basename="chat-poll")
router.register("reports", views.ReportViewSet, basename="chat-report")
router.register("staff-questions", views.StaffQuestionViewSet, basename="chat-staff-question")

urlpatterns = [
    path("presence/", views.PresenceView.as_view(), name="chat-presence"),
    path("presence/online/", views.PresenceOnlineView.as_view(), name="chat-presence-online"),
    path("presence/typing/", views.PresenceTypingView.as_view(), name="chat-presence-typing"),
    path("alerts/", views.SystemAlertView.as_view(), name="chat-alerts"),
    path("render/", views.RenderView.as_view(), name="chat-render"),
    path("emoji/", views.EmojiView.as_view(), name="chat-emoji"),
    path(
        "email-notifications/",
        views.EmailNotificationsView.as_view(),
        name="chat-email-notifications",
    ),
    *router.urls,
    catch_all(),
]
