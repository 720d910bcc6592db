"""Property-based fuzz of room-socket frames: whatever a client sends, the socket
answers (events or ``error`` frames), never closes with 1011 and stays healthy."""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from chat.tests import factories
from chat.tests.ws import open_room, socket_settings  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

FRAME_TYPES = [
    "message.send",
    "message.edit",
    "message.delete",
    "reaction.add",
    "reaction.remove",
    "typing",
    "read",
    "ping",
    "presence.set",
    "nope",
    "",
]
FIELDS = ["type", "content", "client_id", "reply_to", "message_id", "emoji", "is_typing", "status"]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
frames = st.one_of(
    st.fixed_dictionaries(
        {"type": st.sampled_from(FRAME_TYPES)},
        optional={field: json_values for field in FIELDS if field != "type"},
    ).map(json.dumps),
    st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=5).map(json.dumps),
    st.text(max_size=200),
    json_values.map(json.dumps),
)


@pytest.fixture
def room(alice: Any, bob: Any) -> Any:
    return factories.make_room(alice, name="Fuzz", members=[bob])


def test_no_frame_breaks_the_socket(settings: Any, bob: Any, room: Any) -> None:
    settings.CHAT_WS_FRAME_RATE = "100000/1s"
    settings.CHAT_WS_SEND_RATE = "100000/1s"

    @hypothesis_settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(batch=st.lists(frames, min_size=1, max_size=8))
    def check(batch: list[str]) -> None:
        async def run() -> None:
            socket = await open_room(bob, room)
            for text in batch:
                await socket.communicator.send_input({"type": "websocket.receive", "text": text})
            await socket.send({"type": "ping"})
            while True:
                output = await socket.communicator.receive_output(timeout=10)
                assert output["type"] != "websocket.close", (batch, output)
                frame = json.loads(output["text"])
                if frame["type"] == "error":
                    assert frame["code"] != "internal_error", (batch, frame)
                if frame == {"type": "pong"}:
                    break
            await socket.close()

        async_to_sync(run)()

    check()
