"""REST endpoints of the chat: parse → call one service or selector → answer via chat.wire.

Every object is fetched through the user (``selectors.room_get_for_user``,
``selectors.message_get_for_user``), so what a user may not see is a 404.
"""

from __future__ import annotations

import mimetypes
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from django.conf import settings
from django.core.files.storage import default_storage
from django.db.models import Q
from django.http import FileResponse, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from academia.rest.parsers import JSONParser
from academia.rest.request import AuthenticatedRequest
from academia.rest.throttles import ChatPreviewThrottle, ChatWriteThrottle
from academia.rest.viewsets import ApiViewSet
from chat import asyncapi, errors, rendering, search, selectors, services, wire
from chat.api import serializers as s
from chat.api.pagination import ChatPagination
from chat.errors import lazy_interpolate
from chat.models import ChatMessage, ChatRoom, MessageReport, Poll, StaffQuestion
from chat.services import email_notifications
from chat.uploads import name_for_type
from courses import selectors as course_selectors

if TYPE_CHECKING:
    from chat.selectors import ViewerRoom

# Room for the multipart envelope (boundaries, part headers, caption, client_id).
MULTIPART_OVERHEAD = 64 * 1024
FILE_CACHE_SECONDS = 3600
# Types that a browser could run as active content; they are only ever served as bytes.
ACTIVE_CONTENT_MARKERS = ("html", "xml", "javascript", "ecmascript", "svg")

ID_PATH = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)
USER_ID_PATH = OpenApiParameter("user_id", OpenApiTypes.INT, OpenApiParameter.PATH)
NO_CONTENT = OpenApiResponse(description="Done; no body.")


def parse(serializer_class: type[Serializer], data: Any, **kwargs: Any) -> dict[str, Any]:
    """Validate ``data`` with an input serializer; DRF's 400 on failure."""
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class ChatViewSet(ApiViewSet):
    throttle_classes = [ChatWriteThrottle]


class RoomViewSet(ChatViewSet):
    """Rooms the user may see; membership; history; read markers."""

    pagination_class = ChatPagination
    request_serializers = {
        "create": s.RoomCreateSerializer,
        "update": s.RoomUpdateSerializer,
        "partial_update": s.RoomUpdateSerializer,
        "participants": s.ParticipantInviteSerializer,
        "participant": s.ParticipantUpdateSerializer,
        "bans": s.BanCreateSerializer,
        "read": s.MarkReadSerializer,
        "office_hours": s.OfficeHoursSerializer,
        "notifications": s.RoomNotificationsSerializer,
        "staff_questions": s.StaffQuestionAskSerializer,
    }
    read_throttled = frozenset({"messages"})

    def _room(self, pk: object) -> ViewerRoom:
        return selectors.room_get_for_user(self.request.user, pk)

    def fetch_object(self, pk: str) -> ChatRoom:
        return self._room(pk)

    def _room_answer(self, room_id: int, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(wire.room_payload(self._room(room_id)), status=status_code)

    @extend_schema(
        parameters=[s.RoomListQuerySerializer],
        responses=wire.RoomSerializer(many=True),
        summary="Rooms the user may see",
    )
    def list(self, request: AuthenticatedRequest) -> Response:
        query = parse(s.RoomListQuerySerializer, request.query_params)
        if "chat_type" not in query and "course" not in query and not query.get("search"):
            rows: Any = selectors.visible_room_rows(request.user)  # sliced like a queryset
            page = self.paginate_queryset(rows) or []
            return self.get_paginated_response(wire.rooms_payload(page))
        rooms = selectors.visible_rooms(request.user)
        if "chat_type" in query:
            rooms = rooms.filter(chat_type=query["chat_type"])
        if "course" in query:
            rooms = rooms.filter(course_id=query["course"])
        if query.get("search"):
            rooms = rooms.filter(
                Q(name__icontains=query["search"]) | Q(description__icontains=query["search"])
            )
        page = self.paginate_queryset(rooms) or []  # None only without a paginator
        return self.get_paginated_response(wire.rooms_payload(page))

    @extend_schema(
        request=s.RoomCreateSerializer,
        responses={201: wire.RoomSerializer},
        summary="Create a room; the creator becomes its admin",
    )
    def create(self, request: AuthenticatedRequest) -> Response:
        data = parse(s.RoomCreateSerializer, request.data)
        course = None
        if data.get("course") is not None:
            course = course_selectors.course_by_id(data["course"])
        room = services.room_create(
            actor=request.user,
            name=data["name"],
            chat_type=data["chat_type"],
            description=data.get("description", ""),
            course=course,
            max_participants=data.get("max_participants"),
        )
        return self._room_answer(room.pk, status.HTTP_201_CREATED)

    @extend_schema(parameters=[ID_PATH], responses=wire.RoomSerializer, summary="Room details")
    def retrieve(self, request: AuthenticatedRequest, pk: str) -> Response:
        return Response(wire.room_payload(self._room(pk)))

    @extend_schema(
        parameters=[ID_PATH],
        request=s.RoomUpdateSerializer,
        responses=wire.RoomSerializer,
        summary="Change the room (moderators and admins)",
    )
    def update(self, request: AuthenticatedRequest, pk: str, partial: bool = False) -> Response:
        room = self._room(pk)
        data = parse(s.RoomUpdateSerializer, request.data, partial=partial)
        services.room_update(
            actor=request.user,
            room=room,
            name=data.get("name"),
            description=data.get("description"),
            max_participants=data.get("max_participants"),
            slow_mode_seconds=data.get("slow_mode_seconds"),
        )
        return self._room_answer(room.pk)

    @extend_schema(
        parameters=[ID_PATH],
        request=s.RoomUpdateSerializer,
        responses=wire.RoomSerializer,
        summary="Change some of the room's settings (moderators and admins)",
    )
    def partial_update(self, request: AuthenticatedRequest, pk: str) -> Response:
        return self.update(request, pk, partial=True)

    @extend_schema(
        parameters=[ID_PATH],
        responses={204: NO_CONTENT},
        summary="Archive the room (room admins): history stays readable, posting stops",
    )
    def destroy(self, request: AuthenticatedRequest, pk: str) -> Response:
        services.room_archive(actor=request.user, room=self._room(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        parameters=[ID_PATH],
        request=None,
        responses={200: wire.ParticipantSerializer, 201: wire.ParticipantSerializer},
        summary="Join the room (201; 200 if already a participant; 409 when full)",
    )
    @action(detail=True, methods=["post"])
    def join(self, request: AuthenticatedRequest, pk: str) -> Response:
        participant, joined = services.room_join(actor=request.user, room=self._room(pk))
        code = status.HTTP_201_CREATED if joined else status.HTTP_200_OK
        return Response(wire.participant_payload(participant), status=code)

    @extend_schema(
        parameters=[ID_PATH], request=None, responses={204: NO_CONTENT}, summary="Leave the room"
    )
    @action(detail=True, methods=["post"])
    def leave(self, request: AuthenticatedRequest, pk: str) -> Response:
        services.room_leave(actor=request.user, room=self._room(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        methods=["GET"],
        parameters=[ID_PATH],
        responses=wire.ParticipantSerializer(many=True),
        summary="Active participants of the room",
    )
    @extend_schema(
        methods=["POST"],
        parameters=[ID_PATH],
        request=s.ParticipantInviteSerializer,
        responses={201: wire.ParticipantSerializer, 200: wire.ParticipantSerializer},
        summary="Invite a user (moderators; other roles than member need a room admin)",
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def participants(self, request: AuthenticatedRequest, pk: str) -> Response:
        room = self._room(pk)
        if request.method == "GET":
            participants = selectors.room_participants(room)
            return Response([wire.participant_payload(p) for p in participants])
        data = parse(s.ParticipantInviteSerializer, request.data)
        if ("user" in data) == ("username" in data):
            one_of = gettext_lazy("Give the user's id or their username, one of them.")
            raise errors.ValidationFailed(one_of, fields={"user": [one_of]})
        target = data["user"] if "user" in data else selectors.user_id_by_username(data["username"])
        participant, added = services.participant_invite(
            actor=request.user, room=room, user=target, role=data["role"]
        )
        code = status.HTTP_201_CREATED if added else status.HTTP_200_OK
        return Response(wire.participant_payload(participant), status=code)

    @extend_schema(
        methods=["PATCH"],
        parameters=[ID_PATH, USER_ID_PATH],
        request=s.ParticipantUpdateSerializer,
        responses=wire.ParticipantSerializer,
        summary="Change a participant's role or mute them (moderators/admins)",
    )
    @extend_schema(
        methods=["DELETE"],
        parameters=[ID_PATH, USER_ID_PATH],
        responses={204: NO_CONTENT},
        summary="Remove a participant (moderators/admins)",
    )
    @action(
        detail=True,
        methods=["patch", "delete"],
        url_path=r"participants/(?P<user_id>[0-9]+)",
        url_name="participant",
    )
    def participant(self, request: AuthenticatedRequest, pk: str, user_id: str) -> Response:
        room = self._room(pk)
        if request.method == "DELETE":
            services.participant_remove(actor=request.user, room=room, user_id=int(user_id))
            return Response(status=status.HTTP_204_NO_CONTENT)
        data = parse(s.ParticipantUpdateSerializer, request.data)
        participant = services.participant_update(
            actor=request.user,
            room=room,
            user_id=int(user_id),
            role=data.get("role"),
            is_muted=data.get("is_muted"),
        )
        return Response(wire.participant_payload(participant))

    @extend_schema(
        methods=["GET"],
        parameters=[ID_PATH],
        responses=wire.BanSerializer(many=True),
        summary="Users banned from the room, newest first (moderators)",
    )
    @extend_schema(
        methods=["POST"],
        parameters=[ID_PATH],
        request=s.BanCreateSerializer,
        responses={201: wire.BanSerializer, 200: wire.BanSerializer},
        summary="Ban a user from a public or support room (moderators): removed, and "
        "the room out of their sight until unbanned; 200 if already banned",
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def bans(self, request: AuthenticatedRequest, pk: str) -> Response:
        room = self._room(pk)
        if request.method == "GET":
            return Response(
                [wire.ban_payload(ban) for ban in selectors.room_bans(request.user, room)]
            )
        data = parse(s.BanCreateSerializer, request.data)
        was_banned = room.bans.filter(user_id=data["user"]).exists()
        ban = services.room_ban(
            actor=request.user, room=room, user_id=data["user"], reason=data.get("reason", "")
        )
        code = status.HTTP_200_OK if was_banned else status.HTTP_201_CREATED
        return Response(wire.ban_payload(ban), status=code)

    @extend_schema(
        parameters=[ID_PATH, USER_ID_PATH],
        responses={204: NO_CONTENT},
        summary="Lift a ban (moderators)",
    )
    @action(
        detail=True,
        methods=["delete"],
        url_path=r"bans/(?P<user_id>[0-9]+)",
        url_name="ban",
    )
    def ban(self, request: AuthenticatedRequest, pk: str, user_id: str) -> Response:
        services.room_unban(actor=request.user, room=self._room(pk), user_id=int(user_id))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        parameters=[ID_PATH, s.ReportListQuerySerializer],
        responses=wire.ReportSerializer(many=True),
        summary="The room's reported messages, newest first (moderators and staff; "
        "never reports about the viewer's own messages)",
    )
    @action(detail=True, methods=["get"])
    def reports(self, request: AuthenticatedRequest, pk: str) -> Response:
        query = parse(s.ReportListQuerySerializer, request.query_params)
        reports = selectors.room_reports(request.user, self._room(pk), status=query.get("status"))
        page = self.paginate_queryset(reports) or []  # None only without a paginator
        return self.get_paginated_response(wire.reports_payload(page, request.user))

    @extend_schema(
        parameters=[ID_PATH],
        responses=wire.AuditEntrySerializer(many=True),
        summary="The room's moderation audit log, newest first (moderators and staff)",
    )
    @action(detail=True, methods=["get"])
    def audit(self, request: AuthenticatedRequest, pk: str) -> Response:
        entries = selectors.room_audit(request.user, self._room(pk))
        page = self.paginate_queryset(entries) or []  # None only without a paginator
        return self.get_paginated_response(wire.audit_entries_payload(page))

    @extend_schema(
        parameters=[ID_PATH, s.HistoryQuerySerializer],
        responses=wire.HistoryPageSerializer,
        summary="History: keyset pages of messages, oldest first",
        description=(
            "No anchor: the newest page. `after`: the page right after that message id; "
            "`before`: the newest page below it; `around`: the page centred on it (a search "
            "hit with its context). `limit` defaults to 50 and is clamped to "
            "CHAT_MESSAGE_HISTORY_LIMIT; `older`/`newer` link the neighbouring pages."
        ),
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def messages(self, request: AuthenticatedRequest, pk: str) -> Response:
        room = self._room(pk)
        query = parse(s.HistoryQuerySerializer, request.query_params)
        limit = min(query.get("limit", 50), settings.CHAT_MESSAGE_HISTORY_LIMIT)
        if "around" in query:
            if "before" in query or "after" in query:
                raise errors.BadRequest(
                    gettext_lazy("`around` cannot be combined with `before` or `after`.")
                )
            page = selectors.room_history_around(room, around=query["around"], limit=limit)
        else:
            page = selectors.room_history(
                room, before=query.get("before"), after=query.get("after"), limit=limit
            )
        base = request.build_absolute_uri(request.path)
        older = newer = None
        if page.has_older:
            older = f"{base}?before={page.messages[0].pk}&limit={limit}"
        if page.has_newer:
            newer = f"{base}?after={page.messages[-1].pk}&limit={limit}"
        return Response(
            {
                "results": wire.messages_payload_for(request.user, page.messages),
                "older": older,
                "newer": newer,
            }
        )

    @extend_schema(
        parameters=[ID_PATH, s.QuestionsQuerySerializer],
        responses=wire.QuestionSerializer(many=True),
        summary="The room's questions, newest first, each with its endorsed answer",
        description="`status=open`: those without an endorsed answer; `answered`: with one.",
    )
    @action(detail=True, methods=["get"])
    def questions(self, request: AuthenticatedRequest, pk: str) -> Response:
        room = self._room(pk)
        query = parse(s.QuestionsQuerySerializer, request.query_params)
        questions = selectors.room_questions(room, status=query.get("status"))
        page = self.paginate_queryset(questions) or []  # None only without a paginator
        return self.get_paginated_response(
            [wire.question_payload_for(request.user, q) for q in page]
        )

    @extend_schema(
        parameters=[ID_PATH],
        responses=wire.PinSerializer(many=True),
        summary="Pinned messages, newest pin first",
        description="`seen_count` and `audience_count` are filled for the room's staff "
        "(moderators, admins, instructors, staff) and null for others.",
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def pins(self, request: AuthenticatedRequest, pk: str) -> Response:
        pins = selectors.room_pins(self._room(pk), viewer=request.user)
        return Response([wire.pin_payload(pin, request.user) for pin in pins])

    def _queue_answer(self, room: ChatRoom, status_code: int = status.HTTP_200_OK) -> Response:
        view = selectors.queue_view(room, viewer=self.request.user)
        return Response(wire.queue_view_payload(view, viewer=self.request.user), status=status_code)

    @extend_schema(
        parameters=[ID_PATH],
        request=s.OfficeHoursSerializer,
        responses=wire.QueueViewSerializer,
        summary="Open or close the room's office hours (course and support rooms; its staff)",
        description="Closing ends every waiting place in the queue.",
    )
    @action(detail=True, methods=["post"], url_path="office-hours", url_name="office-hours")
    def office_hours(self, request: AuthenticatedRequest, pk: str) -> Response:
        room = self._room(pk)
        data = parse(s.OfficeHoursSerializer, request.data)
        services.office_hours_set(actor=request.user, room=room, is_open=data["open"])
        return self._queue_answer(room)

    @extend_schema(
        methods=["GET"],
        parameters=[ID_PATH],
        responses=wire.QueueViewSerializer,
        summary="The office-hours queue: its length and one's place; who waits for the staff",
    )
    @extend_schema(
        methods=["POST"],
        parameters=[ID_PATH],
        request=None,
        responses={201: wire.QueueViewSerializer, 200: wire.QueueViewSerializer},
        summary="Join the queue while office hours are open (201; 200 if already in it)",
    )
    @extend_schema(
        methods=["DELETE"],
        parameters=[ID_PATH],
        responses={204: NO_CONTENT},
        summary="Leave the queue",
    )
    @action(detail=True, methods=["get", "post", "delete"])
    def queue(self, request: AuthenticatedRequest, pk: str) -> Response:
        room = self._room(pk)
        if request.method == "DELETE":
            services.queue_leave(actor=request.user, room=room)
            return Response(status=status.HTTP_204_NO_CONTENT)
        if request.method == "POST":
            _, created = services.queue_join(actor=request.user, room=room)
            return self._queue_answer(
                room, status.HTTP_201_CREATED if created else status.HTTP_200_OK
            )
        return self._queue_answer(room)

    @extend_schema(
        parameters=[ID_PATH],
        request=None,
        responses={201: wire.QueueTakenSerializer},
        summary="Take the next student (the room's staff): a private room opens between you",
        description="400 `validation_error` when nobody is waiting. The student's presence "
        "sockets get `queue.taken` with the new room.",
    )
    @action(detail=True, methods=["post"], url_path="queue/next", url_name="queue-next")
    def queue_next(self, request: AuthenticatedRequest, pk: str) -> Response:
        entry = services.queue_next(actor=request.user, room=self._room(pk))
        return Response(
            {
                "room": wire.room_payload(
                    selectors.room_get_for_user(request.user, entry.private_room_id)
                ),
                "user": wire.user_payload(entry.user),
            },
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        parameters=[ID_PATH],
        responses=wire.ThreadStateSerializer(many=True),
        summary="Threads of the room the user follows that have unread replies",
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def threads(self, request: AuthenticatedRequest, pk: str) -> Response:
        room = self._room(pk)
        states = selectors.unread_threads(request.user, room)
        return Response([wire.thread_state_payload(state) for state in states])

    @extend_schema(
        parameters=[ID_PATH],
        request=s.MarkReadSerializer,
        responses=wire.RoomReadSerializer,
        summary="Move the user's read marker forward",
    )
    @action(detail=True, methods=["post"])
    def read(self, request: AuthenticatedRequest, pk: str) -> Response:
        room = self._room(pk)
        data = parse(s.MarkReadSerializer, request.data)
        count = services.room_mark_read(
            actor=request.user, room=room, message_id=data["message_id"]
        )
        return Response({"room_id": room.pk, "unread_count": count})

    @extend_schema(
        parameters=[ID_PATH],
        request=s.RoomNotificationsSerializer,
        responses=wire.RoomNotificationsSerializer,
        summary="Mute or unmute the room's desktop notifications for the user (participants)",
    )
    @action(detail=True, methods=["put"])
    def notifications(self, request: AuthenticatedRequest, pk: str) -> Response:
        room = self._room(pk)
        data = parse(s.RoomNotificationsSerializer, request.data)
        muted = services.room_notifications_set(actor=request.user, room=room, muted=data["muted"])
        return Response(wire.room_notifications(room.pk, muted))

    @extend_schema(
        responses=wire.MutedRoomsSerializer,
        summary="Rooms whose desktop notifications the user muted",
    )
    @action(detail=False, methods=["get"], url_path="notifications", pagination_class=None)
    def muted(self, request: AuthenticatedRequest) -> Response:
        return Response({"muted_rooms": selectors.muted_room_ids(request.user)})

    @extend_schema(
        methods=["GET"],
        parameters=[ID_PATH, s.StaffQuestionsQuerySerializer],
        responses=wire.StaffQuestionSerializer(many=True),
        summary="Private questions to the room's staff, oldest first",
        description="The room's staff see every one (their queue); anyone else their own. "
        "`status=open`: not answered yet; `answered`: answered.",
    )
    @extend_schema(
        methods=["POST"],
        parameters=[ID_PATH],
        request=s.StaffQuestionAskSerializer,
        responses={201: wire.StaffQuestionSerializer},
        summary="Ask the course room's staff privately (members who may post; not its staff)",
        description="Other members never see it: it is not a message of the room.",
    )
    @action(detail=True, methods=["get", "post"], url_path="staff-questions")
    def staff_questions(self, request: AuthenticatedRequest, pk: str) -> Response:
        room = self._room(pk)
        if request.method == "POST":
            data = parse(s.StaffQuestionAskSerializer, request.data)
            asked = services.staff_question_ask(
                actor=request.user, room=room, content=data["content"]
            )
            return Response(wire.staff_question_payload(asked), status=status.HTTP_201_CREATED)
        query = parse(s.StaffQuestionsQuerySerializer, request.query_params)
        questions = selectors.room_staff_questions(request.user, room, status=query.get("status"))
        page = self.paginate_queryset(questions) or []  # None only without a paginator
        return self.get_paginated_response([wire.staff_question_payload(q) for q in page])


class StaffQuestionViewSet(ChatViewSet):
    """Private questions to a course room's staff, for their asker and the staff."""

    request_serializers = {"answer": s.StaffQuestionAnswerSerializer}

    def fetch_object(self, pk: str) -> StaffQuestion:
        return selectors.staff_question_get_for_user(self.request.user, pk)

    @extend_schema(
        parameters=[ID_PATH],
        responses=wire.StaffQuestionSerializer,
        summary="A private question to staff (its asker and the room's staff)",
    )
    def retrieve(self, request: AuthenticatedRequest, pk: str) -> Response:
        return Response(wire.staff_question_payload(self.fetch_object(pk)))

    @extend_schema(
        parameters=[ID_PATH],
        request=s.StaffQuestionAnswerSerializer,
        responses=wire.StaffQuestionSerializer,
        summary="Answer it (the room's moderators, instructors and staff); again replaces it",
    )
    @action(detail=True, methods=["post"])
    def answer(self, request: AuthenticatedRequest, pk: str) -> Response:
        question = self.fetch_object(pk)
        data = parse(s.StaffQuestionAnswerSerializer, request.data)
        answered = services.staff_question_answer(
            actor=request.user, question=question, content=data["content"]
        )
        return Response(wire.staff_question_payload(answered))


def _single_upload(request: Request, data: dict[str, Any]) -> Any:
    """The message's one ``file``; 400 for a form with several, rather than keeping
    only the last of them."""
    if len(request.FILES.getlist("file")) > 1:
        raise errors.ValidationFailed(
            gettext_lazy("One file per message."),
            fields={"file": [gettext_lazy("Send each file as a message of its own.")]},
        )
    return data.get("file")


def _reject_oversized_body(request: Request) -> None:
    """413 from the declared length alone, before a byte of a multipart body is parsed."""
    if not request.content_type.startswith("multipart/"):
        return
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise errors.BadRequest(gettext_lazy("Invalid Content-Length.")) from None
    if length > settings.CHAT_FILE_UPLOAD_LIMIT + MULTIPART_OVERHEAD:
        raise errors.UploadTooLarge(
            lazy_interpolate(
                gettext_lazy("The upload is too large (at most %(chat_file_upload_limit)s bytes)."),
                {"chat_file_upload_limit": settings.CHAT_FILE_UPLOAD_LIMIT},
            )
        )


def _serve_attachment(message: ChatMessage, *, thumbnail: bool) -> HttpResponseBase:
    """The file once access is checked: streamed by Django, or, with
    ``CHAT_X_ACCEL_REDIRECT_PREFIX`` set, handed to nginx's internal location of that
    prefix (``X-Accel-Redirect``) with the same headers, so no Python process streams it."""
    name = (message.thumbnail if thumbnail else message.file).name
    if message.is_deleted or not name:
        raise errors.NotFound(gettext_lazy("No such file."))
    is_image = message.message_type == ChatMessage.MessageType.IMAGE
    content_type = message.file_content_type or "application/octet-stream"
    if thumbnail:
        content_type = mimetypes.guess_type(name)[0] or "image/jpeg"
    elif not is_image and any(marker in content_type for marker in ACTIVE_CONTENT_MARKERS):
        content_type = "application/octet-stream"
    as_attachment = not (is_image or thumbnail)
    # Files stored before names followed the sniffed type get its extension here too.
    filename = name_for_type(message.file_name or "file", message.file_content_type)
    response: HttpResponseBase
    if prefix := settings.CHAT_X_ACCEL_REDIRECT_PREFIX:
        if not default_storage.exists(name):
            raise errors.NotFound(gettext_lazy("No such file."))
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = f"{prefix.rstrip('/')}/{quote(name)}"
        if disposition := content_disposition_header(as_attachment, filename):
            response["Content-Disposition"] = disposition
    else:
        try:
            handle = default_storage.open(name, "rb")
        except FileNotFoundError:
            raise errors.NotFound(gettext_lazy("No such file.")) from None
        response = FileResponse(
            handle, as_attachment=as_attachment, filename=filename, content_type=content_type
        )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = f"private, max-age={FILE_CACHE_SECONDS}"
    response["Content-Security-Policy"] = "sandbox"
    return response


class MessageViewSet(ChatViewSet):
    """Messages of rooms the user may see: search, send, edit, delete, react, reply, files."""

    pagination_class = ChatPagination
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    request_serializers = {
        "create": s.MessageCreateSerializer,
        "update": s.MessageEditSerializer,
        "partial_update": s.MessageEditSerializer,
        "react": s.ReactionSerializer,
        "reply": s.MessageReplySerializer,
        "report": s.ReportCreateSerializer,
        "thread_read": s.MarkReadSerializer,
    }
    read_throttled = frozenset({"list", "search", "thread"})

    def _message(self, pk: object) -> ChatMessage:
        return selectors.message_get_for_user(self.request.user, pk)

    def fetch_object(self, pk: str) -> ChatMessage:
        return self._message(pk)

    def _sent(self, result: services.SendResult) -> Response:
        code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        return Response(wire.message_payload_for(self.request.user, result.message), status=code)

    @extend_schema(
        parameters=[s.MessageSearchQuerySerializer],
        responses=wire.MessageSerializer(many=True),
        summary="Search messages of the rooms the user may see, newest first",
        description="`q` is full-text on PostgreSQL and a substring match on SQLite.",
    )
    def list(self, request: AuthenticatedRequest) -> Response:
        query = parse(s.MessageSearchQuerySerializer, request.query_params)
        messages = selectors.message_search(
            request.user,
            q=query.get("q"),
            room_id=query.get("room"),
            sender_id=query.get("sender"),
            message_type=query.get("message_type"),
            has_file=query.get("has_file"),
            date_from=query.get("date_from"),
            date_to=query.get("date_to"),
        )
        page = selectors.load_message_relations(list(self.paginate_queryset(messages) or []))
        return self.get_paginated_response(wire.messages_payload_for(request.user, page))

    @extend_schema(
        parameters=[s.MessageRankedSearchQuerySerializer],
        responses=wire.SearchHitSerializer(many=True),
        summary="Search for people: ranked hits with their room and a highlighted snippet",
        description=(
            "The newest 1000 matches of `q` in the rooms the user may see, best first "
            "(`ts_rank` of PostgreSQL full-text search, websearch syntax; on SQLite a "
            "substring match, newest first), in messages' text and files' names (whole "
            "or by their parts). Deleted messages are never found. "
            "Open a hit with `GET /chat/rooms/{room}/messages/?around={message id}`."
        ),
    )
    @action(detail=False, methods=["get"])
    def search(self, request: AuthenticatedRequest) -> Response:
        query = parse(s.MessageRankedSearchQuerySerializer, request.query_params)
        filters = search.SearchFilters(
            room_id=query.get("room"),
            sender_id=query.get("sender"),
            has_file=query.get("has_file"),
            date_from=query.get("date_from"),
            date_to=query.get("date_to"),
        )
        hits = search.message_search_ranked(request.user, q=query["q"], filters=filters)
        page = selectors.load_message_relations(list(self.paginate_queryset(hits) or []))
        q = query["q"]
        return self.get_paginated_response(
            wire.search_hits_payload_for(
                request.user, page, [search.snippet(hit, q) for hit in page]
            )
        )

    @extend_schema(
        request={
            "application/json": s.MessageCreateSerializer,
            "multipart/form-data": s.MessageUploadSerializer,
        },
        responses={201: wire.MessageSerializer, 200: wire.MessageSerializer},
        summary="Send a message (JSON) or a file (multipart with `file`)",
        description=(
            "201 with the new message. The same `client_id` from the same sender again "
            "answers 200 with the first message. 413 when the upload exceeds "
            "CHAT_FILE_UPLOAD_LIMIT, 415 for refused file types, 429 "
            "`upload_quota_exceeded` past CHAT_UPLOAD_DAILY_QUOTA bytes in a UTC day."
        ),
    )
    def create(self, request: AuthenticatedRequest) -> Response:
        _reject_oversized_body(request)
        multipart = request.content_type.startswith("multipart/")
        data = parse(
            s.MessageUploadSerializer if multipart else s.MessageCreateSerializer, request.data
        )
        room = selectors.room_get_for_user(request.user, data["room"])
        return self._send(room, data, reply_to=data.get("reply_to"))

    def _send(self, room: ChatRoom, data: dict[str, Any], *, reply_to: object) -> Response:
        """``create`` and ``reply``: a text, or a file with an optional caption."""
        upload = _single_upload(self.request, data)
        size = (upload.size or 0) if upload is not None else 0
        with services.upload_quota(actor=self.request.user, size=size) as quota:
            result = services.message_send(
                actor=self.request.user,
                room=room,
                content=data.get("content", ""),
                client_id=data.get("client_id"),
                reply_to=reply_to,
                upload=upload,
                is_question=data.get("is_question", False),
                anonymous=data.get("anonymous", False),
            )
            if not result.created:
                quota.refund()  # a resent client_id stores nothing
        return self._sent(result)

    @extend_schema(parameters=[ID_PATH], responses=wire.MessageSerializer, summary="One message")
    def retrieve(self, request: AuthenticatedRequest, pk: str) -> Response:
        return Response(wire.message_payload_for(request.user, self._message(pk)))

    @extend_schema(
        parameters=[ID_PATH],
        request=s.MessageEditSerializer,
        responses=wire.MessageSerializer,
        summary="Edit (the sender, within CHAT_MESSAGE_EDIT_TIMEOUT)",
    )
    def update(self, request: AuthenticatedRequest, pk: str) -> Response:
        return self._edit(request, pk, partial=False)

    def _edit(self, request: AuthenticatedRequest, pk: str, *, partial: bool) -> Response:
        message = self._message(pk)
        data = parse(s.MessageEditSerializer, request.data, partial=partial)
        if "content" not in data:  # a PATCH that changes nothing
            return Response(wire.message_payload_for(request.user, message))
        edited = services.message_edit(actor=request.user, message=message, content=data["content"])
        return Response(wire.message_payload_for(request.user, edited))

    @extend_schema(
        parameters=[ID_PATH],
        request=s.MessageEditSerializer,
        responses=wire.MessageSerializer,
        summary="Edit (the sender, within CHAT_MESSAGE_EDIT_TIMEOUT)",
    )
    def partial_update(self, request: AuthenticatedRequest, pk: str) -> Response:
        return self._edit(request, pk, partial=True)

    @extend_schema(
        parameters=[ID_PATH],
        responses={204: NO_CONTENT},
        summary="Delete (the sender within CHAT_MESSAGE_DELETE_TIMEOUT, moderators always)",
    )
    def destroy(self, request: AuthenticatedRequest, pk: str) -> Response:
        services.message_delete(actor=request.user, message=self._message(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        methods=["POST"],
        parameters=[ID_PATH],
        request=s.ReactionSerializer,
        responses={201: wire.MessageSerializer, 200: wire.MessageSerializer},
        summary="Add the user's reaction: 201 with the message, 200 if it was already there",
    )
    @extend_schema(
        methods=["DELETE"],
        parameters=[ID_PATH, s.ReactionSerializer],
        request=s.ReactionSerializer,
        responses={204: NO_CONTENT},
        summary="Remove the user's reaction (`emoji` in the body or the query string)",
    )
    @action(detail=True, methods=["post", "delete"])
    def react(self, request: AuthenticatedRequest, pk: str) -> Response:
        message = self._message(pk)
        if request.method == "DELETE":
            in_body = isinstance(request.data, dict) and "emoji" in request.data
            body = request.data if in_body else request.query_params
            data = parse(s.ReactionSerializer, body)
            services.reaction_remove(actor=request.user, message=message, emoji=data["emoji"])
            return Response(status=status.HTTP_204_NO_CONTENT)
        data = parse(s.ReactionSerializer, request.data)
        created = services.reaction_add(actor=request.user, message=message, emoji=data["emoji"])
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(wire.message_payload_for(request.user, self._message(pk)), status=code)

    @extend_schema(
        parameters=[ID_PATH],
        responses=wire.ReactionUsersSerializer(many=True),
        summary="Who reacted with what",
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def reactions(self, request: AuthenticatedRequest, pk: str) -> Response:
        summary = selectors.message_reactions(self._message(pk))
        return Response(wire.ReactionUsersSerializer(summary, many=True).data)

    @extend_schema(
        parameters=[ID_PATH],
        request={
            "application/json": s.MessageReplySerializer,
            "multipart/form-data": s.MessageReplyUploadSerializer,
        },
        responses={201: wire.MessageSerializer, 200: wire.MessageSerializer},
        summary="Reply in the message's room (JSON, or multipart with `file`)",
        description=(
            "`POST /chat/messages/` with `reply_to` set to this message: the same fields "
            "(but `room`), the same rules and answers."
        ),
    )
    @action(detail=True, methods=["post"])
    def reply(self, request: AuthenticatedRequest, pk: str) -> Response:
        parent = self._message(pk)
        _reject_oversized_body(request)
        multipart = request.content_type.startswith("multipart/")
        data = parse(
            s.MessageReplyUploadSerializer if multipart else s.MessageReplySerializer,
            request.data,
        )
        return self._send(parent.room, data, reply_to=parent.pk)

    @extend_schema(
        methods=["POST"],
        parameters=[ID_PATH],
        request=None,
        responses=wire.MessageSerializer,
        summary="Mark the message a question (its sender, or the room's staff)",
    )
    @extend_schema(
        methods=["DELETE"],
        parameters=[ID_PATH],
        responses={200: wire.MessageSerializer},  # not the 204 a DELETE is taken to give
        summary="No longer a question (its endorsed answer, if any, is withdrawn)",
    )
    @action(detail=True, methods=["post", "delete"])
    def question(self, request: AuthenticatedRequest, pk: str) -> Response:
        marked = services.question_mark(
            actor=request.user, message=self._message(pk), is_question=request.method == "POST"
        )
        return Response(wire.message_payload_for(request.user, marked))

    @extend_schema(
        methods=["POST"],
        parameters=[ID_PATH],
        request=None,
        responses=wire.MessageSerializer,
        summary="Endorse this reply as its question's answer (moderators, instructors, staff)",
    )
    @extend_schema(
        methods=["DELETE"],
        parameters=[ID_PATH],
        responses={204: NO_CONTENT},
        summary="Withdraw the endorsement of this reply",
    )
    @action(detail=True, methods=["post", "delete"])
    def endorse(self, request: AuthenticatedRequest, pk: str) -> Response:
        answer = self._message(pk)
        if request.method == "DELETE":
            services.answer_withdraw(actor=request.user, answer=answer)
            return Response(status=status.HTTP_204_NO_CONTENT)
        endorsed = services.answer_endorse(actor=request.user, answer=answer)
        return Response(wire.message_payload_for(request.user, endorsed))

    @extend_schema(
        methods=["POST"],
        parameters=[ID_PATH],
        request=None,
        responses={201: wire.PinSerializer, 200: wire.PinSerializer},
        summary="Pin the message to its room (room staff): 201, or 200 if it was pinned",
    )
    @extend_schema(
        methods=["DELETE"],
        parameters=[ID_PATH],
        responses={204: NO_CONTENT},
        summary="Unpin the message (room staff)",
    )
    @action(detail=True, methods=["post", "delete"])
    def pin(self, request: AuthenticatedRequest, pk: str) -> Response:
        message = self._message(pk)
        if request.method == "DELETE":
            services.message_unpin(actor=request.user, message=message)
            return Response(status=status.HTTP_204_NO_CONTENT)
        pin, created = services.message_pin(actor=request.user, message=message)
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(wire.pin_payload(pin, request.user), status=code)

    @extend_schema(
        parameters=[ID_PATH],
        request=s.ReportCreateSerializer,
        responses={201: wire.ReportSerializer, 200: wire.ReportSerializer},
        summary="Report the message to the room's moderators (201; 200 with the "
        "reporter's open report of it)",
        description="The reporter is never shown to the message's author or to other "
        "members: only the room's moderators and staff see reports.",
    )
    @action(detail=True, methods=["post"])
    def report(self, request: AuthenticatedRequest, pk: str) -> Response:
        data = parse(s.ReportCreateSerializer, request.data)
        report, created = services.report_create(
            actor=request.user,
            message=self._message(pk),
            reason=data["reason"],
            note=data.get("note", ""),
        )
        answer = selectors.with_report_relations(MessageReport.objects.filter(pk=report.pk)).get()
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(wire.report_payload(answer, request.user), status=code)

    @extend_schema(
        parameters=[ID_PATH, s.ThreadQuerySerializer],
        responses=wire.ThreadPageSerializer,
        summary="The message's thread: it, a page of its replies, the viewer's unread count",
        description=(
            "Replies oldest first, by keyset as room history: no anchor is the newest page, "
            "`before`/`after` the pages below/above a reply id; `older`/`newer` link them."
        ),
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def thread(self, request: AuthenticatedRequest, pk: str) -> Response:
        parent = self._message(pk)
        query = parse(s.ThreadQuerySerializer, request.query_params)
        limit = min(query.get("limit", 50), settings.CHAT_MESSAGE_HISTORY_LIMIT)
        page = selectors.thread_history(
            parent, before=query.get("before"), after=query.get("after"), limit=limit
        )
        state = selectors.thread_state(request.user, parent)
        base = request.build_absolute_uri(request.path)
        older = newer = None
        if page.has_older:
            older = f"{base}?before={page.messages[0].pk}&limit={limit}"
        if page.has_newer:
            newer = f"{base}?after={page.messages[-1].pk}&limit={limit}"
        return Response(
            {
                "parent": wire.message_payload_for(request.user, parent),
                "results": wire.messages_payload_for(request.user, page.messages),
                "older": older,
                "newer": newer,
                "unread_count": state.unread_count,
                "last_read_id": state.last_read_id,
            }
        )

    @extend_schema(
        parameters=[ID_PATH],
        request=s.MarkReadSerializer,
        responses=wire.ThreadStateSerializer,
        summary="Move the viewer's read marker in the message's thread forward to a reply",
    )
    @action(detail=True, methods=["post"], url_path="thread/read", url_name="thread-read")
    def thread_read(self, request: AuthenticatedRequest, pk: str) -> Response:
        parent = self._message(pk)
        data = parse(s.MarkReadSerializer, request.data)
        state = services.thread_mark_read(
            actor=request.user, parent=parent, reply_id=data["message_id"]
        )
        return Response(wire.thread_state_payload(state))

    @extend_schema(
        parameters=[ID_PATH],
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
        summary="The attachment (inline for images, else a download)",
    )
    @action(detail=True, methods=["get"], url_name="file")
    def file(self, request: AuthenticatedRequest, pk: str) -> HttpResponseBase:
        return _serve_attachment(self._message(pk), thumbnail=False)

    @extend_schema(
        parameters=[ID_PATH],
        responses={(200, "image/*"): OpenApiTypes.BINARY},
        summary="The image's thumbnail",
    )
    @action(detail=True, methods=["get"], url_name="thumbnail")
    def thumbnail(self, request: AuthenticatedRequest, pk: str) -> HttpResponseBase:
        return _serve_attachment(self._message(pk), thumbnail=True)


class PollViewSet(ChatViewSet):
    """Polls of rooms the user may see: create, read, vote, close. A poll's id is
    its message's."""

    request_serializers = {"create": s.PollCreateSerializer, "vote": s.PollVoteSerializer}

    def _poll(self, pk: object) -> Poll:
        return selectors.poll_get_for_user(self.request.user, pk)

    def fetch_object(self, pk: str) -> Poll:
        return self._poll(pk)

    def _answer(self, poll: Poll) -> Response:
        my_votes = selectors.poll_my_votes(poll, self.request.user)
        return Response(wire.poll_payload(poll, my_votes=my_votes))

    @extend_schema(
        request=s.PollCreateSerializer,
        responses={201: wire.MessageSerializer, 200: wire.MessageSerializer},
        summary="Post a poll: a `poll` message carrying it",
        description=(
            "Whoever may post in the room, except in course rooms, where its staff do. "
            "201 with the message; the same `client_id` again answers 200 with the first."
        ),
    )
    def create(self, request: AuthenticatedRequest) -> Response:
        data = parse(s.PollCreateSerializer, request.data)
        room = selectors.room_get_for_user(request.user, data["room"])
        result = services.poll_create(
            actor=request.user,
            room=room,
            question=data["question"],
            options=data["options"],
            allows_multiple=data["allows_multiple"],
            is_anonymous=data["is_anonymous"],
            closes_at=data.get("closes_at"),
            client_id=data.get("client_id"),
        )
        code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        return Response(wire.message_payload(result.message), status=code)

    @extend_schema(
        parameters=[ID_PATH],
        responses=wire.PollSerializer,
        summary="The poll, with the viewer's own votes",
    )
    def retrieve(self, request: AuthenticatedRequest, pk: str) -> Response:
        return self._answer(self._poll(pk))

    @extend_schema(
        parameters=[ID_PATH],
        request=s.PollVoteSerializer,
        responses=wire.PollSerializer,
        summary="Vote, change or take back one's vote (an empty list)",
    )
    @action(detail=True, methods=["post"])
    def vote(self, request: AuthenticatedRequest, pk: str) -> Response:
        poll = self._poll(pk)
        data = parse(s.PollVoteSerializer, request.data)
        poll = services.poll_vote(actor=request.user, poll=poll, option_ids=data["option_ids"])
        return self._answer(poll)

    @extend_schema(
        parameters=[ID_PATH],
        request=None,
        responses=wire.PollSerializer,
        summary="Close the poll (its creator or the room's staff)",
    )
    @action(detail=True, methods=["post"])
    def close(self, request: AuthenticatedRequest, pk: str) -> Response:
        poll = services.poll_close(actor=request.user, poll=self._poll(pk))
        return self._answer(poll)


class ReportViewSet(ChatViewSet):
    """Reports, for those who review them: the room's moderators and staff."""

    request_serializers = {"resolve": s.ReportResolveSerializer}

    def fetch_object(self, pk: str) -> MessageReport:
        return selectors.report_get_for_reviewer(self.request.user, pk)

    def _answer(self, report_id: int) -> Response:
        return Response(wire.report_payload(self.fetch_object(str(report_id)), self.request.user))

    @extend_schema(parameters=[ID_PATH], responses=wire.ReportSerializer, summary="One report")
    def retrieve(self, request: AuthenticatedRequest, pk: str) -> Response:
        return Response(wire.report_payload(self.fetch_object(pk), request.user))

    @extend_schema(
        parameters=[ID_PATH],
        request=s.ReportResolveSerializer,
        responses=wire.ReportSerializer,
        summary="Resolve a report: dismiss it, hide the message or mute its author "
        "(every open report of that message is resolved with it)",
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request: AuthenticatedRequest, pk: str) -> Response:
        data = parse(s.ReportResolveSerializer, request.data)
        report = services.report_resolve(
            actor=request.user,
            report=self.fetch_object(pk),
            action=data["action"],
            note=data.get("note", ""),
        )
        return self._answer(report.pk)


class PresenceView(APIView):
    throttle_classes = [ChatWriteThrottle]

    @extend_schema(
        parameters=[s.PresenceQuerySerializer],
        responses=wire.PresenceSerializer,
        summary="Own presence, or (`?user=`) that of a user who shares a room",
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        query = parse(s.PresenceQuerySerializer, request.query_params)
        user = request.user
        if query.get("user") is not None and query["user"] != user.pk:
            user = selectors.co_member_get(user, query["user"])
        presence = services.presence_get(user)
        return Response(wire.presence_payload(presence, viewer=request.user))

    @extend_schema(
        request=s.PresenceUpdateSerializer,
        responses=wire.PresenceSerializer,
        summary="Set own status; broadcast to the rooms the user is in",
    )
    def put(self, request: AuthenticatedRequest) -> Response:
        data = parse(s.PresenceUpdateSerializer, request.data)
        presence = services.presence_set(actor=request.user, status=data["status"])
        return Response(wire.presence_payload(presence, viewer=request.user))


class EmailNotificationsView(APIView):
    """The signed-in user's offline email notifications (``chat.services.email_notifications``)."""

    throttle_classes = [ChatWriteThrottle]

    @extend_schema(
        responses=wire.EmailNotificationsSerializer,
        summary="Own choice of email about mentions and answers missed while offline",
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        mode = email_notifications.email_mode(request.user)
        return Response(wire.email_notifications(request.user, mode))

    @extend_schema(
        request=s.EmailNotificationsSerializer,
        responses=wire.EmailNotificationsSerializer,
        summary="Choose never, batched or immediately for offline email notifications",
        description=(
            "`never` also drops what is waiting to be sent. Anything but the three "
            "choices is a 400."
        ),
    )
    def put(self, request: AuthenticatedRequest) -> Response:
        data = parse(s.EmailNotificationsSerializer, request.data)
        mode = email_notifications.email_notifications_set(
            actor=request.user, mode=data["email_notifications"]
        )
        return Response(wire.email_notifications(request.user, mode))


class PresenceOnlineView(APIView):
    @extend_schema(
        parameters=[s.RoomQuerySerializer],
        responses=wire.PresenceSerializer(many=True),
        summary="Participants of the room who are not offline",
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        query = parse(s.RoomQuerySerializer, request.query_params)
        room = selectors.room_get_for_user(request.user, query["room"])
        online = selectors.online_in_room(room)
        return Response(wire.presences_payload(online, viewer=request.user))


class PresenceTypingView(APIView):
    @extend_schema(
        parameters=[s.RoomQuerySerializer],
        responses=wire.PresenceSerializer(many=True),
        summary="Participants typing in the room now",
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        query = parse(s.RoomQuerySerializer, request.query_params)
        room = selectors.room_get_for_user(request.user, query["room"])
        typing = selectors.typing_in_room(room)
        return Response(wire.presences_payload(typing, viewer=request.user))


class RenderView(APIView):
    """The composer's Markdown preview, by the renderer that stores messages."""

    throttle_classes = [ChatPreviewThrottle]

    @extend_schema(
        request=s.RenderSerializer,
        responses=wire.RenderedSerializer,
        summary="Preview: `content_html` as sending `content` to `room` would store it",
        description="Nothing is stored or sent. Mentions resolve as in the room; the "
        "content is checked as a message's is (length, `@all` for moderators).",
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        data = parse(s.RenderSerializer, request.data)
        room = selectors.room_get_for_user(request.user, data["room"])
        html = services.message_preview(actor=request.user, room=room, content=data["content"])
        return Response({"content_html": html})


class EmojiView(APIView):
    """The emoji picker's catalogue: the same data the renderer's shortcodes come from."""

    CACHE_SECONDS = 86400

    @extend_schema(
        responses=wire.EmojiSerializer(many=True),
        summary="Every emoji the picker offers, with its name and shortcode aliases",
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        response = Response(wire.emoji_catalogue_payload(rendering.emoji_catalogue()))
        response["Cache-Control"] = f"private, max-age={self.CACHE_SECONDS}"
        return response


class SystemAlertView(APIView):
    throttle_classes = [ChatWriteThrottle]

    @extend_schema(
        request=s.SystemAlertSerializer,
        responses={201: wire.SystemAlertResultSerializer},
        summary="Staff: post a system alert to one room, or to every active room",
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        data = parse(s.SystemAlertSerializer, request.data)
        room = None
        if data.get("room") is not None:
            room = selectors.room_get_for_user(request.user, data["room"])
        sent = services.system_alert(actor=request.user, content=data["content"], room=room)
        # A site-wide alert reaches rooms the sender may not see (private rooms): they
        # are counted, never named.
        seen = selectors.visible_room_ids(request.user, {message.room_id for message in sent})
        shown = [message for message in sent if message.room_id in seen]
        return Response(
            {
                "messages": wire.messages_payload(selectors.messages_loaded(shown)),
                "room_count": len(sent),
            },
            status=status.HTTP_201_CREATED,
        )


class AsyncApiView(APIView):
    """The sockets' contract as an AsyncAPI 3.0 document (chat.asyncapi); public, as
    the OpenAPI schema is."""

    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer]

    @extend_schema(exclude=True)
    def get(self, request: AuthenticatedRequest) -> Response:
        return Response(asyncapi.document(host=request.get_host(), secure=request.is_secure()))
