"""``queue.updated`` events name nobody: each waiting place is marked by a key
(chat.wire.queue_key) instead of the user's id, which any member could read a name
for. The events already in the log, which replays send again, are rewritten so."""

from django.db import migrations
from django.utils.crypto import salted_hmac

BATCH = 500


def queue_key(room_id, user_id):
    # As chat.wire.queue_key (a migration keeps its own copy of what it did).
    return salted_hmac("chat.queue", f"{room_id}:{user_id}").hexdigest()[:16]


def keyed(payload):
    queue = payload.get("queue") or {}
    entries = queue.get("entries") or []
    if all("key" in entry for entry in entries) and "length" in queue:
        return None
    room_id = payload.get("room_id")
    payload["queue"] = {
        "is_open": queue.get("is_open", False),
        "length": len(entries),
        "entries": [
            {
                "key": entry.get("key") or queue_key(room_id, entry.get("user_id")),
                "position": entry.get("position"),
            }
            for entry in entries
        ],
    }
    return payload


def forwards(apps, schema_editor):
    RoomEvent = apps.get_model("chat", "RoomEvent")
    changed = []
    for event in RoomEvent.objects.filter(type="queue.updated").iterator(chunk_size=BATCH):
        payload = keyed(dict(event.payload, room_id=event.payload.get("room_id", event.room_id)))
        if payload is not None:
            event.payload = payload
            changed.append(event)
        if len(changed) >= BATCH:
            RoomEvent.objects.bulk_update(changed, ["payload"])
            changed = []
    if changed:
        RoomEvent.objects.bulk_update(changed, ["payload"])


class Migration(migrations.Migration):

    dependencies = [
        ("chat", "0016_message_search_file_names"),
    ]

    operations = [
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
