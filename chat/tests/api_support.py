"""Shared pieces of the REST tests: clients and the contract's exact key sets."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

USER_KEYS = {"id", "username", "display_name"}
ROOM_KEYS = {
    "id",
    "slow_mode_seconds",
    "name",
    "description",
    "chat_type",
    "course",
    "created_by",
    "is_active",
    "max_participants",
    "participant_count",
    "last_seq",
    "my_role",
    "unread_count",
    "created_at",
    "updated_at",
}
PARTICIPANT_KEYS = {"user", "role", "joined_at", "is_active", "is_muted"}
MESSAGE_KEYS = {
    "id",
    "room_id",
    "sender",
    "message_type",
    "content",
    "content_html",
    "mentions",
    "reply_to",
    "client_id",
    "file",
    "reactions",
    "poll",
    "is_edited",
    "is_deleted",
    "is_question",
    "endorsed_answer_id",
    "is_endorsed",
    "reply_count",
    "last_reply_at",
    "is_anonymous",
    "anonymous_author",
    "created_at",
    "updated_at",
}
FILE_KEYS = {
    "url",
    "name",
    "size",
    "content_type",
    "thumbnail_url",
    "width",
    "height",
    "preview",
}
PRESENCE_KEYS = {"user", "status", "last_seen", "is_typing", "current_room"}
REACTION_KEYS = {"emoji", "count", "user_ids"}
PAGE_KEYS = {"count", "next", "previous", "results"}
HISTORY_KEYS = {"results", "older", "newer"}
COURSE_KEYS = {"id", "title", "code", "is_active"}


def client_for(user: Any | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def assert_message_shape(message: dict[str, Any]) -> None:
    assert set(message) == MESSAGE_KEYS
    assert set(message["sender"]) == USER_KEYS
    for reaction in message["reactions"]:
        assert set(reaction) == REACTION_KEYS
    if message["file"] is not None:
        assert set(message["file"]) == FILE_KEYS


def assert_room_shape(room: dict[str, Any]) -> None:
    assert set(room) == ROOM_KEYS
    assert set(room["created_by"]) == USER_KEYS


def assert_participant_shape(participant: dict[str, Any]) -> None:
    assert set(participant) == PARTICIPANT_KEYS
    assert set(participant["user"]) == USER_KEYS
