"""Every write of the chat. Views and consumers call these and nothing else to change data."""

from chat.services.membership import (
    course_member_sync,
    participant_invite,
    participant_remove,
    participant_update,
    room_ban,
    room_join,
    room_leave,
    room_unban,
)
from chat.services.messages import (
    SendResult,
    clean_emoji,
    message_delete,
    message_edit,
    message_preview,
    message_send,
    reaction_add,
    reaction_remove,
    room_mark_read,
    system_alert,
)
from chat.services.notifications import room_notifications_set
from chat.services.office_hours import office_hours_set, queue_join, queue_leave, queue_next
from chat.services.pins import message_pin, message_unpin
from chat.services.polls import poll_close, poll_create, poll_vote, polls_close_due
from chat.services.presence import presence_get, presence_set, typing_set
from chat.services.questions import answer_endorse, answer_withdraw, question_mark
from chat.services.quota import upload_quota
from chat.services.reports import report_create, report_resolve
from chat.services.retention import room_events_prune
from chat.services.rooms import (
    course_room_open,
    room_archive,
    room_create,
    room_update,
)
from chat.services.staff_questions import staff_question_answer, staff_question_ask
from chat.services.threads import thread_mark_read

__all__ = [
    "SendResult",
    "answer_endorse",
    "answer_withdraw",
    "clean_emoji",
    "course_member_sync",
    "course_room_open",
    "message_delete",
    "message_edit",
    "message_pin",
    "message_preview",
    "message_send",
    "message_unpin",
    "office_hours_set",
    "participant_invite",
    "participant_remove",
    "participant_update",
    "poll_close",
    "poll_create",
    "poll_vote",
    "polls_close_due",
    "presence_get",
    "presence_set",
    "question_mark",
    "queue_join",
    "queue_leave",
    "queue_next",
    "reaction_add",
    "reaction_remove",
    "report_create",
    "report_resolve",
    "room_archive",
    "room_ban",
    "room_create",
    "room_events_prune",
    "room_join",
    "room_leave",
    "room_mark_read",
    "room_notifications_set",
    "room_unban",
    "room_update",
    "staff_question_answer",
    "staff_question_ask",
    "system_alert",
    "thread_mark_read",
    "typing_set",
    "upload_quota",
]
