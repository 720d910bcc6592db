"""Channel-layer failures: sockets survive, sends are persisted and acknowledged,
and everyone catches up by seq once the layer is back."""

from __future__ import annotations

from typing import Any

import pytest
from channels.layers import channel_layers, get_channel_layer

from chat.models import ChatMessage
from chat.tests import factories
from chat.tests.ws import db, open_room, socket_settings  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

DEAD_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture
def room(alice: Any, bob: Any) -> Any:
    return factories.make_room(alice, chat_type="private", name="Ops", members=[bob])


async def test_send_during_a_layer_outage_is_persisted_acknowledged_and_delivered_locally(
    monkeypatch: pytest.MonkeyPatch, alice: Any, bob: Any, room: Any
) -> None:
    """The process hub hands an event to its own sockets before the layer carries
    it to the other processes, so a layer outage does not hold back the sockets
    of the sending process (the other processes catch up from the log: see
    test_multiprocess)."""
    a = await open_room(alice, room)
    b = await open_room(bob, room)
    start = a.ready["last_seq"]
    layer = get_channel_layer()
    attempts: list[str] = []

    async def broken_group_send(group: str, message: dict[str, Any]) -> None:
        attempts.append(group)
        raise ConnectionError("redis is down")

    with monkeypatch.context() as patch:
        patch.setattr(layer, "group_send", broken_group_send)
        await a.send({"type": "message.send", "client_id": "during", "content": "during"})
        ack = await a.receive_type("message.created")
        assert (ack["seq"], ack["message"]["client_id"]) == (start + 1, "during")
        live = await b.receive_type("message.created")
        assert (live["seq"], live["message"]["content"]) == (start + 1, "during")
        assert await db(ChatMessage.objects.filter(client_id="during").count)() == 1
        assert f"room.{room.pk}" in attempts
    await a.send({"type": "message.send", "client_id": "after", "content": "after"})
    assert (await a.receive_type("message.created"))["seq"] == start + 2
    second = await b.receive_type("message.created")
    assert (second["seq"], second["message"]["content"]) == (start + 2, "after")
    assert await b.no_more_events()
    await a.close()
    await b.close()


async def test_periodic_check_catches_up_without_new_traffic(
    monkeypatch: pytest.MonkeyPatch, settings: Any, alice: Any, bob: Any, room: Any
) -> None:
    settings.CHAT_WS_TICK_SECONDS = 0.1
    settings.CHAT_WS_REVALIDATE_SECONDS = 0.2
    b = await open_room(bob, room)
    monkeypatch.setattr("chat.events.send", lambda group, message: None)
    await db(factories.make_message)(alice, room, "lost broadcast")
    event = await b.receive_type("message.created")
    assert (event["seq"], event["message"]["content"]) == (
        b.ready["last_seq"] + 1,
        "lost broadcast",
    )
    await b.close()


@pytest.mark.parametrize(
    "backend",
    ["channels_redis.pubsub.RedisPubSubChannelLayer", "channels_redis.core.RedisChannelLayer"],
)
async def test_unreachable_redis_neither_crashes_sockets_nor_loses_sends(
    settings: Any, alice: Any, room: Any, backend: str
) -> None:
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": backend, "CONFIG": {"hosts": [DEAD_REDIS]}}}
    channel_layers.backends.clear()
    a = await open_room(alice, room)
    await a.send({"type": "message.send", "client_id": "offline-1", "content": "still works"})
    ack = await a.receive_type("message.created")
    assert ack["message"]["client_id"] == "offline-1"
    await a.send({"type": "ping"})
    assert await a.receive_type("pong") == {"type": "pong"}
    await a.close()


async def test_sends_keep_working_while_the_cache_is_down(
    monkeypatch: pytest.MonkeyPatch, alice: Any, room: Any
) -> None:
    """The send rate lives in the cache (Redis); when it cannot be reached the
    socket's sends are still written and acknowledged, as REST writes are."""
    from django.core.cache import cache

    def down(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("redis is down")

    a = await open_room(alice, room)
    monkeypatch.setattr(cache, "add", down)
    monkeypatch.setattr(cache, "incr", down)
    await a.send({"type": "message.send", "client_id": "cache-down", "content": "still here"})
    ack = await a.receive_type("message.created", "error")
    assert (ack["type"], ack["message"]["client_id"]) == ("message.created", "cache-down")
    await a.close()
