"""Input limits, declared once: the models, the REST serializers and the services
read them from here (settings-driven limits, such as the message length, live in
settings)."""

from __future__ import annotations

ROOM_NAME_MAX = 200  # characters
ROOM_DESCRIPTION_MAX = 2000
ROOM_MAX_PARTICIPANTS_CEILING = 100_000  # the highest max_participants a room may set
SLOW_MODE_MAX_SECONDS = 6 * 3600  # the longest slow mode a room may set
BAN_REASON_MAX = 500
REPORT_NOTE_MAX = 1000  # a reporter's or a moderator's note on a report
CLIENT_ID_MAX = 64  # letters, digits, '-', '_', '.' or ':'
EMOJI_MAX = 64  # one emoji as Unicode, or the :shortcode: of one (all but a few of the longest)
MENTIONS_MAX = 50  # distinct @usernames in one message
SEARCH_QUERY_MAX = 200
SEARCH_RANK_WINDOW = 1000  # the newest matches a ranked search orders by relevance
ID_MAX = 2**63 - 1  # ids are 64-bit: a larger one is a 400, not a database error
PINS_MAX = 20  # pinned messages per room
POLL_QUESTION_MAX = 300
POLL_OPTION_MAX = 200
POLL_OPTIONS_MIN = 2
POLL_OPTIONS_MAX = 10
