"""WebSocket consumers: the room socket and the user's presence socket."""

from chat.consumers.presence import PresenceConsumer
from chat.consumers.room import ChatConsumer

__all__ = ["ChatConsumer", "PresenceConsumer"]
