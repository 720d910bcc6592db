"""Reports of messages to the room's moderators, and their resolution.

A report is seen only by the room's moderators and staff, never by the author of
the reported message (nor by other members): the frames announcing reports go
to each moderator's own stream (``events.publish_to_user``), not to the room.
Resolving hides the message (``message_delete``) or mutes its author
(``participant_update``) through those services, so their own events, policy
and audit entries apply; the resolution itself is audited too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from chat import errors, events, limits, policy, selectors, wire
from chat.errors import lazy_interpolate
from chat.models import ChatMessage, ChatParticipant, MessageReport
from chat.services import audit
from chat.services.membership import participant_update
from chat.services.messages import message_delete

if TYPE_CHECKING:
    from accounts.models import User

Resolution = MessageReport.Resolution


def _clean_note(note: object, field: str = "note") -> str:
    if not isinstance(note, str) or "\x00" in note:
        raise errors.ValidationFailed(
            gettext_lazy("Invalid note."), fields={field: [gettext_lazy("Invalid.")]}
        )
    note = note.strip()
    if len(note) > limits.REPORT_NOTE_MAX:
        raise errors.ValidationFailed(
            lazy_interpolate(
                gettext_lazy("A note is limited to %(report_note_max)s characters."),
                {"report_note_max": limits.REPORT_NOTE_MAX},
            ),
            fields={field: [gettext_lazy("Too long.")]},
        )
    return note


def _notify_moderators(report: MessageReport, frame_type: wire.Frame) -> None:
    """The report, after commit, on the streams of the room's moderators (not its
    message's author)."""
    report = selectors.with_report_relations(MessageReport.objects.filter(pk=report.pk)).get()
    frame = wire.report_frame(frame_type, wire.report_payload(report))
    for user_id in sorted(selectors.room_moderator_ids(report.room) - {report.message.sender_id}):
        events.publish_to_user(user_id, frame)


@transaction.atomic
def report_create(
    *, actor: User, message: ChatMessage, reason: object, note: object = ""
) -> tuple[MessageReport, bool]:
    """Report ``message`` (which ``actor`` may see) to its room's moderators; returns
    (report, created). The reporter's open report of the same message is returned
    again, unchanged. Moderators are told with a ``report.created`` frame each."""
    if reason not in MessageReport.Reason.values:
        raise errors.ValidationFailed(
            gettext_lazy("Unknown reason."),
            fields={
                "reason": [
                    lazy_interpolate(
                        gettext_lazy("Choose from %(values)s."),
                        {"values": MessageReport.Reason.values},
                    )
                ]
            },
        )
    note = _clean_note(note)
    room = selectors.lock_room(message.room_id)
    if not policy.can_see_room(actor, room):
        raise errors.NotFound(gettext_lazy("No such message."))
    message = ChatMessage.objects.get(pk=message.pk)
    denial = policy.report_denial(actor, message)
    if denial is not None:
        raise denial
    existing = MessageReport.objects.filter(
        message=message, reporter=actor, status=MessageReport.Status.OPEN
    ).first()
    if existing is not None:
        return existing, False
    report = MessageReport.objects.create(
        room=room, message=message, reporter=actor, reason=reason, note=note
    )
    _notify_moderators(report, wire.Frame.REPORT_CREATED)
    return report, True


@transaction.atomic
def report_resolve(
    *, actor: User, report: MessageReport, action: object, note: object = ""
) -> MessageReport:
    """Resolve an open report (the room's moderators, staff; never the message's
    author): ``dismiss``, ``hide`` the message or ``mute`` its author. Every open
    report of the same message is resolved with it. Moderators are told with
    ``report.resolved``."""
    if action not in Resolution.values:
        raise errors.ValidationFailed(
            gettext_lazy("Unknown action."),
            fields={
                "action": [
                    lazy_interpolate(
                        gettext_lazy("Choose from %(values)s."), {"values": Resolution.values}
                    )
                ]
            },
        )
    note = _clean_note(note)
    room = selectors.lock_room(report.room_id)
    report = MessageReport.objects.select_related("message").get(pk=report.pk)
    message = report.message
    if not policy.can_review_reports(actor, room) or message.sender_id == actor.pk:
        raise errors.NotFound(gettext_lazy("No such report."))
    if report.status != MessageReport.Status.OPEN:
        raise errors.ValidationFailed(
            gettext_lazy("This report is already resolved."),
            fields={"report": [gettext_lazy("Already resolved.")]},
        )
    if action == Resolution.HIDE and not message.is_deleted:
        message_delete(actor=actor, message=message)
    elif action == Resolution.MUTE:
        if message.is_anonymous:
            # The mute is announced to the room (a system message, participant.updated)
            # right after the report: it would name the post's author to everyone.
            raise errors.ValidationFailed(
                gettext_lazy(
                    "Muting the author of an anonymous post would name them to the room: "
                    "hide the post instead (the participants panel can still mute them)."
                ),
                fields={"action": [gettext_lazy("Not for an anonymous post.")]},
            )
        author = ChatParticipant.objects.filter(
            room=room, user_id=message.sender_id, is_active=True
        ).first()
        if author is None:
            raise errors.ValidationFailed(
                gettext_lazy("The author is no longer in the room."),
                fields={"action": [gettext_lazy("Not a participant.")]},
            )
        participant_update(actor=actor, room=room, user_id=message.sender_id, is_muted=True)
    now = timezone.now()
    resolved = MessageReport.objects.filter(message=message, status=MessageReport.Status.OPEN)
    count = resolved.update(
        status=MessageReport.Status.RESOLVED,
        resolution=action,
        resolved_by=actor,
        resolution_note=note,
        resolved_at=now,
    )
    audit.record(
        actor,
        room,
        audit.Action.REPORT_RESOLVE,
        target_user=message.sender,
        message=message,
        details={
            "report_id": report.pk,
            "action": action,
            "reports": count,
            "reason": report.reason,
        },
    )
    report.refresh_from_db()
    _notify_moderators(report, wire.Frame.REPORT_RESOLVED)
    return report
