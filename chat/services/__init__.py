"""Every write of the chat. Views and consumers call these and nothing else to change data."""

from chat.services.membership import (
    course_member_sync,
    participant_invite,
    participant_remove,
    participant_update,
    room_join,
    room_leave,
)
from chat.services.messages import (
    SendResult,
    clean_emoji,
    message_delete,
    message_edit,
    message_reply,
    message_send,
    reaction_add,
    reaction_remove,
    room_mark_read,
    system_alert,
)
from chat.services.presence import presence_get, presence_set, typing_set
from chat.services.questions import answer_endorse, answer_withdraw, question_mark
from chat.services.quota import upload_quota
from chat.services.retention import room_events_prune
from chat.services.rooms import (
    course_room_open,
    room_archive,
    room_create,
    room_update,
)
from chat.services.staff_questions import staff_question_answer, staff_question_ask

__all__ = [
    "SendResult",
    "answer_endorse",
    "answer_withdraw",
    "clean_emoji",
    "course_member_sync",
    "course_room_open",
    "message_delete",
    "message_edit",
    "message_reply",
    "message_send",
    "participant_invite",
    "participant_remove",
    "participant_update",
    "presence_get",
    "presence_set",
    "question_mark",
    "reaction_add",
    "reaction_remove",
    "room_archive",
    "room_create",
    "room_events_prune",
    "room_join",
    "room_leave",
    "room_mark_read",
    "room_update",
    "staff_question_answer",
    "staff_question_ask",
    "system_alert",
    "typing_set",
    "upload_quota",
]
