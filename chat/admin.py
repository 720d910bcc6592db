"""The moderators' admin. Every change made here goes through chat.services.

Rooms are created and edited through ``room_create``/``room_update`` (the form
rehearses the service in a rolled-back savepoint so its refusals show up as form
errors), archived with an action that calls ``room_archive``. Messages,
participants and presence are read-only tables; their actions (soft-delete,
mute, unmute, change role) call the services, which apply the same policy as
REST and WebSocket and publish the same events. A refused row is reported, the
others proceed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from accounts.models import User
from accounts.requests import signed_in_user
from chat import errors, limits, policy, selectors, services
from chat.models import (
    AuditEntry,
    ChatMessage,
    ChatParticipant,
    ChatRoom,
    EmailNotification,
    EmailPreference,
    MessageReport,
    PinnedMessage,
    Poll,
    PollOption,
    QueueEntry,
    RoomBan,
    RoomEvent,
    StaffQuestion,
    UserPresence,
)
from chat.services import audit


class _Rehearsal(Exception):
    """Raised to roll back a rehearsed service call."""


def rehearse(action: Callable[[], object]) -> None:
    """Run ``action`` in a savepoint that is always rolled back.

    Its on-commit callbacks are discarded with the savepoint, so nothing is
    published; a domain error becomes a form ValidationError.
    """
    try:
        with transaction.atomic():
            action()
            raise _Rehearsal
    except _Rehearsal:
        pass
    except errors.ChatError as exc:
        raise ValidationError(exc.detail, code=exc.code) from None


T = TypeVar("T")


def apply_to_each(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    rows: Iterable[T],
    act: Callable[[T], object],
    refused: Callable[[T, errors.ChatError], str],
    verb: str,
) -> None:
    """An admin action: ``act`` (a service call) on each row, then tell the moderator
    how many rows it changed (``verb``) and, for each refusal, why (``refused``)."""
    done, failures = 0, []
    for row in rows:
        try:
            act(row)
        except errors.ChatError as exc:
            failures.append(refused(row, exc))
        else:
            done += 1
    if done:
        modeladmin.message_user(request, f"{done} {verb}.", messages.SUCCESS)
    for failure in failures:
        modeladmin.message_user(request, failure, messages.ERROR)


class AuditedAdmin(admin.ModelAdmin):
    """Its actions and forms are audited as made through the ``admin``."""

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        with audit.via(audit.Via.ADMIN):
            return super().changelist_view(request, extra_context)

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: Any = None,
    ) -> Any:
        with audit.via(audit.Via.ADMIN):
            return super().changeform_view(request, object_id, form_url, extra_context)


class ReadOnlyAdmin(AuditedAdmin):
    """A table moderators look at; its actions call services."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_moderate_permission(self, request: HttpRequest) -> bool:
        """May try the actions; the service's policy decides row by row."""
        return self.has_view_permission(request)


# --- Rooms ------------------------------------------------------------------------------


class RoomForm(forms.ModelForm):
    """Validates by rehearsing the service that ``apply`` will run for real."""

    actor: Any = None  # the signed-in user, set on the class by RoomAdmin.get_form
    # Left empty: unchanged (the service keeps the room's value).
    slow_mode_seconds = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=limits.SLOW_MODE_MAX_SECONDS,
        help_text="Seconds a member waits between messages; 0 = off. Moderators and "
        "staff are exempt.",
    )

    class Meta:
        model = ChatRoom
        fields = (
            "name",
            "description",
            "chat_type",
            "course",
            "max_participants",
            "slow_mode_seconds",
        )

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        if not self.errors:
            rehearse(lambda: self.apply(self.actor))
        return cleaned

    def apply(self, actor: User) -> ChatRoom:
        data = self.cleaned_data
        if self.instance.pk is None:
            return services.room_create(
                actor=actor,
                name=data["name"],
                chat_type=data["chat_type"],
                description=data.get("description", ""),
                course=data.get("course"),
                max_participants=data.get("max_participants"),
            )
        return services.room_update(
            actor=actor,
            room=self.instance,
            name=data["name"],
            description=data.get("description", ""),
            max_participants=data.get("max_participants"),
            slow_mode_seconds=data.get("slow_mode_seconds"),
        )


class AlertForm(forms.Form):
    content = forms.CharField(
        label="Alert", widget=forms.Textarea(attrs={"rows": 3}), max_length=10_000
    )


class ParticipantInline(admin.TabularInline):
    """Who is in the room. Moderate them from the participants table."""

    model = ChatParticipant
    fields = ("user", "role", "is_active", "is_muted", "joined_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[ChatParticipant]:
        return super().get_queryset(request).select_related("user")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ChatRoom)
class ChatRoomAdmin(AuditedAdmin):
    form = RoomForm
    list_display = (
        "name",
        "chat_type",
        "course",
        "created_by",
        "is_active",
        "participants",
        "last_seq",
        "created_at",
    )
    list_filter = ("chat_type", "course", "is_active")
    list_select_related = ("course", "created_by")
    search_fields = ("name", "description")
    date_hierarchy = "created_at"
    raw_id_fields = ("course",)
    inlines = (ParticipantInline,)
    actions = ("archive", "post_alert")

    def get_queryset(self, request: HttpRequest) -> QuerySet[ChatRoom]:
        return selectors.with_participant_count(super().get_queryset(request))

    @admin.display(description="participants", ordering="participant_count")
    def participants(self, room: ChatRoom) -> int:
        return room.participant_count  # type: ignore[attr-defined]

    def get_fields(self, request: HttpRequest, obj: ChatRoom | None = None) -> tuple[str, ...]:
        if obj is None:
            return tuple(f for f in RoomForm.Meta.fields if f != "slow_mode_seconds")
        return (
            "name",
            "description",
            "max_participants",
            "slow_mode_seconds",
            "chat_type",
            "course",
            "created_by",
            "is_active",
            "last_seq",
            "created_at",
            "updated_at",
        )

    def get_readonly_fields(
        self, request: HttpRequest, obj: ChatRoom | None = None
    ) -> tuple[str, ...]:
        if obj is None:
            return ()
        return (
            "chat_type",
            "course",
            "created_by",
            "is_active",
            "last_seq",
            "created_at",
            "updated_at",
        )

    def get_form(
        self,
        request: HttpRequest,
        obj: ChatRoom | None = None,
        change: bool = False,
        **kwargs: Any,
    ) -> type[forms.ModelForm]:
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = signed_in_user(request)  # type: ignore[attr-defined]
        return form

    def save_model(self, request: HttpRequest, obj: ChatRoom, form: RoomForm, change: bool) -> None:
        room = form.apply(signed_in_user(request))
        obj.pk = room.pk
        obj.refresh_from_db()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Archive the selected rooms", permissions=["change"])
    def archive(self, request: HttpRequest, queryset: QuerySet[ChatRoom]) -> None:
        apply_to_each(
            self,
            request,
            queryset.filter(is_active=True),
            lambda room: services.room_archive(actor=signed_in_user(request), room=room),
            lambda room, exc: f"“{room.name}” was not archived: {exc.detail}",
            "room(s) archived",
        )

    @admin.action(description="Post a system alert to the selected rooms", permissions=["change"])
    def post_alert(
        self, request: HttpRequest, queryset: QuerySet[ChatRoom]
    ) -> TemplateResponse | None:
        """Ask for the alert's text on an intermediate page, then post it to each room."""
        form = AlertForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            context = {
                **self.admin_site.each_context(request),
                "title": "Post a system alert",
                "form": form,
                "rooms": queryset,
                "opts": self.model._meta,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/chat/chatroom/post_alert.html", context)
        apply_to_each(
            self,
            request,
            queryset.filter(is_active=True),
            lambda room: services.system_alert(
                actor=signed_in_user(request), content=form.cleaned_data["content"], room=room
            ),
            lambda room, exc: f"“{room.name}” got no alert: {exc.detail}",
            "room(s) alerted",
        )
        return None


# --- Messages ---------------------------------------------------------------------------


@admin.register(ChatMessage)
class ChatMessageAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "room",
        "sender",
        "message_type",
        "excerpt",
        "reply_to",
        "reply_count",
        "is_edited",
        "is_deleted",
        "is_question",
        "is_endorsed",
        "is_anonymous",
        "created_at",
    )
    list_filter = (
        "message_type",
        "is_deleted",
        "is_edited",
        "is_question",
        "is_endorsed",
        "is_anonymous",
        "room__chat_type",
    )
    list_select_related = ("room", "sender")
    search_fields = ("content", "sender__username")
    date_hierarchy = "created_at"
    actions = ("soft_delete", "endorse", "withdraw_endorsement")

    @admin.display(description="content")
    def excerpt(self, message: ChatMessage) -> str:
        return message.content if len(message.content) <= 80 else message.content[:79] + "…"

    @admin.action(
        description="Delete the selected messages (keeps their place)", permissions=["moderate"]
    )
    def soft_delete(self, request: HttpRequest, queryset: QuerySet[ChatMessage]) -> None:
        apply_to_each(
            self,
            request,
            queryset.filter(is_deleted=False),
            lambda message: services.message_delete(actor=signed_in_user(request), message=message),
            lambda message, exc: f"Message #{message.pk} was not deleted: {exc.detail}",
            "message(s) deleted",
        )

    def _endorsement(
        self, request: HttpRequest, queryset: QuerySet[ChatMessage], *, endorse: bool
    ) -> None:
        service = services.answer_endorse if endorse else services.answer_withdraw
        verb = "answer(s) endorsed" if endorse else "endorsement(s) withdrawn"
        apply_to_each(
            self,
            request,
            queryset.select_related("room"),
            lambda message: service(actor=signed_in_user(request), answer=message),
            lambda message, exc: f"Message #{message.pk} was not changed: {exc.detail}",
            verb,
        )

    @admin.action(
        description="Endorse the selected replies as their question's answer",
        permissions=["moderate"],
    )
    def endorse(self, request: HttpRequest, queryset: QuerySet[ChatMessage]) -> None:
        self._endorsement(request, queryset, endorse=True)

    @admin.action(
        description="Withdraw the endorsement of the selected replies", permissions=["moderate"]
    )
    def withdraw_endorsement(self, request: HttpRequest, queryset: QuerySet[ChatMessage]) -> None:
        self._endorsement(request, queryset, endorse=False)


# --- Participants -----------------------------------------------------------------------


@admin.register(ChatParticipant)
class ChatParticipantAdmin(ReadOnlyAdmin):
    # notifications_muted is the participant's own choice: shown, never changed here.
    list_display = (
        "user",
        "room",
        "role",
        "is_active",
        "is_muted",
        "notifications_muted",
        "joined_at",
    )
    list_filter = ("role", "is_active", "is_muted", "notifications_muted", "room__chat_type")
    list_select_related = ("user", "room")
    search_fields = ("user__username", "user__display_name", "room__name")
    actions = ("mute", "unmute", "make_member", "make_moderator", "make_admin")

    def _update(
        self,
        request: HttpRequest,
        queryset: QuerySet[ChatParticipant],
        verb: str,
        **changes: Any,
    ) -> None:
        apply_to_each(
            self,
            request,
            queryset.filter(is_active=True),
            lambda participant: services.participant_update(
                actor=signed_in_user(request),
                room=participant.room,
                user_id=participant.user_id,
                **changes,
            ),
            lambda participant, exc: f"{participant.user} in “{participant.room}”: {exc.detail}",
            verb,
        )

    @admin.action(description="Mute the selected participants", permissions=["moderate"])
    def mute(self, request: HttpRequest, queryset: QuerySet[ChatParticipant]) -> None:
        self._update(request, queryset, "participant(s) muted", is_muted=True)

    @admin.action(description="Unmute the selected participants", permissions=["moderate"])
    def unmute(self, request: HttpRequest, queryset: QuerySet[ChatParticipant]) -> None:
        self._update(request, queryset, "participant(s) unmuted", is_muted=False)

    @admin.action(description="Make the selected participants members", permissions=["moderate"])
    def make_member(self, request: HttpRequest, queryset: QuerySet[ChatParticipant]) -> None:
        self._update(
            request, queryset, "participant(s) made members", role=ChatParticipant.Role.MEMBER
        )

    @admin.action(description="Make the selected participants moderators", permissions=["moderate"])
    def make_moderator(self, request: HttpRequest, queryset: QuerySet[ChatParticipant]) -> None:
        self._update(
            request, queryset, "participant(s) made moderators", role=ChatParticipant.Role.MODERATOR
        )

    @admin.action(description="Make the selected participants admins", permissions=["moderate"])
    def make_admin(self, request: HttpRequest, queryset: QuerySet[ChatParticipant]) -> None:
        self._update(
            request, queryset, "participant(s) made admins", role=ChatParticipant.Role.ADMIN
        )


# --- Pins and polls ------------------------------------------------------------------------


@admin.register(PinnedMessage)
class PinnedMessageAdmin(ReadOnlyAdmin):
    list_display = ("message", "excerpt", "room", "pinned_by", "pinned_at")
    list_select_related = ("message", "room", "pinned_by")
    list_filter = ("room__chat_type",)
    search_fields = ("message__content", "room__name", "pinned_by__username")
    actions = ("unpin",)

    @admin.display(description="content")
    def excerpt(self, pin: PinnedMessage) -> str:
        content = pin.message.content
        return content if len(content) <= 80 else content[:79] + "…"

    @admin.action(description="Unpin the selected messages", permissions=["moderate"])
    def unpin(self, request: HttpRequest, queryset: QuerySet[PinnedMessage]) -> None:
        apply_to_each(
            self,
            request,
            queryset.select_related("message"),
            lambda pin: services.message_unpin(actor=signed_in_user(request), message=pin.message),
            lambda pin, exc: f"Message #{pin.message_id} was not unpinned: {exc.detail}",
            "message(s) unpinned",
        )


class PollOptionInline(admin.TabularInline):
    """Options and their counts; who voted what is not shown here (anonymous polls)."""

    model = PollOption
    fields = ("position", "text", "votes")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[PollOption]:
        return super().get_queryset(request).annotate(vote_total=Count("votes"))

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="votes")
    def votes(self, option: PollOption) -> int:
        return option.vote_total  # type: ignore[attr-defined]


@admin.register(Poll)
class PollAdmin(ReadOnlyAdmin):
    list_display = (
        "message_id",
        "question",
        "room",
        "creator",
        "allows_multiple",
        "is_anonymous",
        "voters",
        "closes_at",
        "closed_at",
    )
    list_select_related = ("message__room", "message__sender")
    list_filter = ("is_anonymous", "allows_multiple", "message__room__chat_type")
    search_fields = ("question", "message__room__name")
    inlines = (PollOptionInline,)
    actions = ("close",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Poll]:
        return (
            super().get_queryset(request).annotate(voter_total=Count("votes__user", distinct=True))
        )

    @admin.display(description="room")
    def room(self, poll: Poll) -> ChatRoom:
        return poll.message.room

    @admin.display(description="creator")
    def creator(self, poll: Poll) -> Any:
        return poll.message.sender

    @admin.display(description="voters")
    def voters(self, poll: Poll) -> int:
        return poll.voter_total  # type: ignore[attr-defined]

    @admin.action(description="Close the selected polls", permissions=["moderate"])
    def close(self, request: HttpRequest, queryset: QuerySet[Poll]) -> None:
        apply_to_each(
            self,
            request,
            queryset.filter(closed_at__isnull=True).select_related("message"),
            lambda poll: services.poll_close(actor=signed_in_user(request), poll=poll),
            lambda poll, exc: f"Poll #{poll.pk} was not closed: {exc.detail}",
            "poll(s) closed",
        )


# --- Office hours ---------------------------------------------------------------------------


@admin.register(QueueEntry)
class QueueEntryAdmin(ReadOnlyAdmin):
    """Office-hours queues, past and present: read only (the page and API change them)."""

    list_display = ("room", "user", "status", "joined_at", "taken_by", "private_room", "ended_at")
    list_filter = ("status", "room__chat_type")
    list_select_related = ("room", "user", "taken_by", "private_room")
    search_fields = ("room__name", "user__username", "user__display_name")
    date_hierarchy = "joined_at"


# --- Bans -------------------------------------------------------------------------------


class BanForm(forms.ModelForm):
    """A new ban, validated by rehearsing ``room_ban``."""

    actor: Any = None

    class Meta:
        model = RoomBan
        fields = ("room", "user", "reason")

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        if not self.errors:
            rehearse(lambda: self.apply(self.actor))
        return cleaned

    def validate_unique(self) -> None:
        """Banning again is the service's no-op, not a form error."""

    def apply(self, actor: Any) -> RoomBan:
        data = self.cleaned_data
        return services.room_ban(
            actor=actor, room=data["room"], user_id=data["user"].pk, reason=data["reason"]
        )


@admin.register(RoomBan)
class RoomBanAdmin(AuditedAdmin):
    """Bans from public and support rooms: added through ``room_ban``, lifted with an
    action that calls ``room_unban``; a ban is never edited."""

    form = BanForm
    list_display = ("user", "room", "banned_by", "reason", "created_at")
    list_filter = ("room__chat_type",)
    list_select_related = ("user", "room", "banned_by")
    search_fields = ("user__username", "room__name", "reason")
    raw_id_fields = ("room", "user")
    actions = ("unban",)

    def get_form(
        self, request: HttpRequest, obj: RoomBan | None = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm]:
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = request.user  # type: ignore[attr-defined]
        return form

    def save_model(self, request: HttpRequest, obj: RoomBan, form: BanForm, change: bool) -> None:
        ban = form.apply(signed_in_user(request))
        obj.pk = ban.pk
        obj.refresh_from_db()

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_moderate_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    @admin.action(description="Lift the selected bans", permissions=["moderate"])
    def unban(self, request: HttpRequest, queryset: QuerySet[RoomBan]) -> None:
        apply_to_each(
            self,
            request,
            queryset.select_related("room", "user"),
            lambda ban: services.room_unban(
                actor=signed_in_user(request), room=ban.room, user_id=ban.user_id
            ),
            lambda ban, exc: f"{ban.user} in “{ban.room}”: {exc.detail}",
            "ban(s) lifted",
        )


# --- Reports ----------------------------------------------------------------------------


@admin.register(MessageReport)
class MessageReportAdmin(ReadOnlyAdmin):
    """The moderation queue: reports are read here and resolved with actions that call
    ``report_resolve`` (dismiss, hide the message, mute its author)."""

    list_display = (
        "id",
        "room",
        "message_excerpt",
        "author",
        "reporter",
        "reason",
        "status",
        "resolution",
        "created_at",
    )
    list_filter = ("status", "reason", "resolution", "room__chat_type")
    list_select_related = ("room", "message", "message__sender", "reporter")
    search_fields = ("message__content", "reporter__username", "message__sender__username")
    date_hierarchy = "created_at"
    actions = ("dismiss", "hide_message", "mute_author")

    def get_queryset(self, request: HttpRequest) -> QuerySet[MessageReport]:
        """Never the reports on the viewer's own messages (``policy.reviewable_reports_q``,
        as over REST)."""
        return (
            super()
            .get_queryset(request)
            .filter(policy.reviewable_reports_q(signed_in_user(request)))
        )

    @admin.display(description="message")
    def message_excerpt(self, report: MessageReport) -> str:
        content = report.message.content
        return content if len(content) <= 80 else content[:79] + "…"

    @admin.display(description="author")
    def author(self, report: MessageReport) -> Any:
        return report.message.sender

    def _resolve(
        self, request: HttpRequest, queryset: QuerySet[MessageReport], action: str, verb: str
    ) -> None:
        apply_to_each(
            self,
            request,
            queryset.filter(status=MessageReport.Status.OPEN),
            lambda report_row: services.report_resolve(
                actor=signed_in_user(request), report=report_row, action=action
            ),
            lambda report_row, exc: f"Report #{report_row.pk}: {exc.detail}",
            verb,
        )

    @admin.action(description="Dismiss the selected reports", permissions=["moderate"])
    def dismiss(self, request: HttpRequest, queryset: QuerySet[MessageReport]) -> None:
        self._resolve(request, queryset, "dismiss", "report(s) dismissed")

    @admin.action(description="Hide the reported messages", permissions=["moderate"])
    def hide_message(self, request: HttpRequest, queryset: QuerySet[MessageReport]) -> None:
        self._resolve(request, queryset, "hide", "report(s) resolved by hiding the message")

    @admin.action(description="Mute the reported messages' authors", permissions=["moderate"])
    def mute_author(self, request: HttpRequest, queryset: QuerySet[MessageReport]) -> None:
        self._resolve(request, queryset, "mute", "report(s) resolved by muting the author")


# --- Private questions to staff -----------------------------------------------------------


@admin.register(StaffQuestion)
class StaffQuestionAdmin(ReadOnlyAdmin):
    """Private questions are for staff eyes only: ``is_staff`` users (the admin's
    own rule) with the view permission; answers are given in the page or REST."""

    list_display = ("room", "asker", "excerpt", "status", "answered_by", "created_at")
    list_filter = (("answered_at", admin.EmptyFieldListFilter), "room__chat_type")
    list_select_related = ("room", "asker", "answered_by")
    search_fields = ("content", "asker__username", "room__name")
    date_hierarchy = "created_at"

    @admin.display(description="question")
    def excerpt(self, question: StaffQuestion) -> str:
        return question.content[:80]


# --- Offline email notifications ------------------------------------------------------------


@admin.register(EmailPreference)
class EmailPreferenceAdmin(ReadOnlyAdmin):
    """Users' choices (set by themselves on the page, over REST or an unsubscribe link);
    no row means ``batched``."""

    list_display = ("user", "mode", "updated_at")
    list_filter = ("mode",)
    list_select_related = ("user",)
    search_fields = ("user__username", "user__email")


@admin.register(EmailNotification)
class EmailNotificationAdmin(ReadOnlyAdmin):
    """The queue of ``manage.py send_notification_emails``: what waits, what went, what
    was dropped at send time, and rows left ``claimed`` by a sender that died."""

    list_display = ("user", "kind", "room", "status", "created_at", "claimed_at", "sent_at")
    list_filter = ("status", "kind", "is_wildcard")
    list_select_related = ("user", "message__room", "staff_question__room")
    search_fields = ("user__username", "user__email")
    date_hierarchy = "created_at"

    @admin.display(description="room")
    def room(self, row: EmailNotification) -> str:
        if row.message is not None:
            return row.message.room.name
        return row.staff_question.room.name if row.staff_question is not None else ""


# --- Presence and the event log -----------------------------------------------------------


@admin.register(UserPresence)
class UserPresenceAdmin(ReadOnlyAdmin):
    list_display = ("user", "status", "is_typing", "current_room", "last_seen")
    list_filter = ("status", "is_typing")
    list_select_related = ("user", "current_room")
    search_fields = ("user__username", "user__display_name")


@admin.register(RoomEvent)
class RoomEventAdmin(ReadOnlyAdmin):
    list_display = ("room", "seq", "type", "created_at")
    list_filter = ("type",)
    list_select_related = ("room",)
    search_fields = ("room__name",)


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """The moderation audit log, read-only: what each moderator did, where, through what."""

    list_display = ("created_at", "room", "actor", "action", "target_user", "message", "via")
    list_filter = ("action", "via", "room__chat_type", "created_at")
    list_select_related = ("room", "actor", "target_user", "message")
    search_fields = ("room__name", "actor__username", "target_user__username")
    date_hierarchy = "created_at"
    raw_id_fields = ("room", "actor", "target_user", "message")
