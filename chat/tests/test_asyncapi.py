"""The sockets' contract, /api/asyncapi/: a valid AsyncAPI 3.0 document whose
examples match their schemas, and a true one: the sockets accept exactly the
client frames it lists, every frame type the code sends is in it, and real
frames of both sockets, from a session that does everything, match it."""

from __future__ import annotations

import ast
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from chat import errors, services, wire
from chat.tests import factories
from chat.tests.api_support import client_for
from chat.tests.frames import frame_problems, problems
from chat.tests.test_api_messages import png_bytes
from chat.tests.ws import (
    db,
    open_presence,
    open_room,
    socket_settings,  # noqa: F401
)

SPEC = Path(settings.BASE_DIR, "node_modules", "@asyncapi", "specs", "schemas", "3.0.0.json")
CONTRACT_CLOSE_CODES = {4401, 4403, 4404, 4408, 4413, 4429}
CONTRACT_ERROR_CODES = {
    "bad_request",
    "validation_error",
    "forbidden",
    "not_found",
    "edit_window_closed",
    "room_archived",
    "muted",
    "rate_limited",
}
# Strings the code uses as a ``type`` that never reach a client: channel-layer and
# hub messages (chat.events), control actions, ASGI messages, JSON Schema types.
NOT_FRAMES = {"room.event", "room.ephemeral", "user.event", "user.control", "room.revoked"}
ASGI_PREFIXES = ("websocket.", "http.", "lifespan.")
SCHEMA_TYPES = {"string", "object", "integer", "number", "boolean", "array", "null"}
# Where frames are built (other apps change things through chat.services), and where
# the server process closes sockets.
FRAME_SOURCES = ("chat",)
CLOSE_SOURCES = ("chat", "academia")
# A room event's type is its subject and what happened: message.created, room.updated.
EVENT_SUBJECTS = {"message", "reaction", "participant", "room", "poll", "queue"}
TYPE_LIKE = re.compile(r"^[a-z_]{2,30}(\.[a-z_]{2,30})?$")


# --- reading the document ------------------------------------------------------------------


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    response = Client().get("/api/asyncapi/")
    assert response.status_code == 200
    return response.json()


def resolve(document: dict[str, Any], pointer: str) -> Any:
    assert pointer.startswith("#/"), pointer
    node: Any = document
    for part in pointer[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def frame_type(message: dict[str, Any]) -> str:
    return message["payload"]["properties"]["type"]["const"]


def frames(document: dict[str, Any], channel: str, *, client: bool) -> dict[str, str]:
    """Frame type → the pointer of its message in ``channel``: what clients send
    (operations the server receives) or what the server sends (its send
    operations and the replies)."""
    here = {"$ref": f"#/channels/{channel}"}
    pointers: list[str] = []
    for operation in document["operations"].values():
        parts = [operation] if (operation["action"] == "receive") == client else []
        if not client and operation.get("reply"):
            parts.append(operation["reply"])
        for part in parts:
            if part["channel"] == here:
                pointers += [item["$ref"] for item in part["messages"]]
    found: dict[str, str] = {}
    for pointer in pointers:
        kind = frame_type(resolve(document, resolve(document, pointer)["$ref"]))
        found[kind] = resolve(document, pointer)["$ref"]
    return found


def references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from references(value)
    elif isinstance(node, list):
        for item in node:
            yield from references(item)


# --- the document ----------------------------------------------------------------------------


def test_the_document_is_public_json_describing_both_sockets() -> None:
    response = Client().get("/api/asyncapi/", secure=True)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    data = response.json()
    assert data["asyncapi"] == "3.0.0"
    server = data["servers"]["chat"]
    assert (server["host"], server["protocol"]) == ("testserver", "wss")
    schemes = {item["$ref"].rsplit("/", 1)[1] for item in server["security"]}
    assert schemes == {"token", "session", "ticket"}
    addresses = {channel["address"] for channel in data["channels"].values()}
    assert addresses == {"/ws/chat/{room_id}/", "/ws/presence/"}


def test_the_document_is_valid_asyncapi_3(document: dict[str, Any]) -> None:
    """Against the official JSON schema (npm @asyncapi/specs, installed by npm ci)."""
    if not SPEC.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{SPEC.relative_to(settings.BASE_DIR)} is missing: run npm ci")
        pytest.skip("the AsyncAPI JSON schemas are not installed: run npm ci")
    spec = json.loads(SPEC.read_text())

    errors = jsonschema.Draft7Validator(spec).iter_errors(document)

    assert [f"{list(e.absolute_path)}: {e.message[:200]}" for e in errors] == []


def test_every_reference_resolves_and_operations_use_their_channels_messages(
    document: dict[str, Any],
) -> None:
    """What the JSON schema cannot check."""
    for pointer in references(document):
        resolve(document, pointer)
    for name, operation in document["operations"].items():
        channel = operation["channel"]["$ref"]
        for item in operation["messages"]:
            assert item["$ref"].startswith(f"{channel}/messages/"), name
        reply = operation.get("reply")
        for item in reply["messages"] if reply else ():
            assert item["$ref"].startswith(f"{reply['channel']['$ref']}/messages/"), name
    for name, channel in document["channels"].items():
        used = {
            item["$ref"]
            for operation in document["operations"].values()
            for part in (operation, operation.get("reply") or {"messages": []})
            for item in part["messages"]
        }
        listed = {f"#/channels/{name}/messages/{key}" for key in channel["messages"]}
        assert listed == used & listed, f"messages of {name} that no operation uses"


def test_every_example_matches_its_payload_schema(document: dict[str, Any]) -> None:
    for name, message in document["components"]["messages"].items():
        assert message["examples"], name
        for example in message["examples"]:
            assert example["payload"]["type"] == frame_type(message), name
            pointer = f"#/components/messages/{name}/payload"
            assert problems(document, pointer, example["payload"]) == [], example["name"]


def test_a_wrong_frame_fails_its_schema(document: dict[str, Any]) -> None:
    """The check above can fail: a missing field, a wrong type, an extra field."""
    pointer = frames(document, "room", client=False)["message.created"] + "/payload"
    example = resolve(document, pointer.removesuffix("/payload"))["examples"][0]["payload"]

    assert problems(document, pointer, example) == []
    assert problems(document, pointer, {**example, "seq": "1"})
    assert problems(document, pointer, {**example, "surprise": 1})
    message = {key: value for key, value in example["message"].items() if key != "sender"}
    assert problems(document, pointer, {**example, "message": message})


def test_each_channel_names_each_frame_type_once_per_direction(document: dict[str, Any]) -> None:
    for channel in document["channels"]:
        for client in (True, False):
            pointers = [
                item["$ref"]
                for operation in document["operations"].values()
                if (operation["action"] == "receive") == client
                and operation["channel"]["$ref"] == f"#/channels/{channel}"
                for item in operation["messages"]
            ]
            types = {frame_type(resolve(document, resolve(document, p)["$ref"])) for p in pointers}
            assert len(types) == len({resolve(document, p)["$ref"] for p in pointers})


def test_the_contracts_frames_and_close_codes_are_documented(document: dict[str, Any]) -> None:
    """The wire contract's frames (docs: protocol) on the socket it names them for."""
    room_client = set(frames(document, "room", client=True))
    room_server = set(frames(document, "room", client=False))
    presence_client = set(frames(document, "presence", client=True))
    presence_server = set(frames(document, "presence", client=False))

    assert room_client >= {
        "message.send",
        "message.edit",
        "message.delete",
        "reaction.add",
        "reaction.remove",
        "question.mark",
        "answer.endorse",
        "answer.withdraw",
        "typing",
        "read",
        "ping",
    }
    assert room_server >= {
        "connection.ready",
        "resync.required",
        "message.created",
        "message.updated",
        "message.deleted",
        "reaction.added",
        "reaction.removed",
        "participant.joined",
        "participant.left",
        "participant.updated",
        "room.updated",
        "typing",
        "presence",
        "pong",
        "error",
    }
    assert presence_client == {"presence.set", "ping"}
    assert presence_server >= {"presence.snapshot", "presence", "notification", "unread"}
    room_codes = {item["code"] for item in document["channels"]["room"]["x-close-codes"]}
    assert room_codes >= CONTRACT_CLOSE_CODES


def test_the_error_codes_are_those_of_the_error_family(document: dict[str, Any]) -> None:
    codes = set(document["components"]["schemas"]["ErrorCode"]["enum"])
    family = {
        cls.code
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.ChatError)
    }

    assert codes <= family
    assert codes >= CONTRACT_ERROR_CODES


# --- the code --------------------------------------------------------------------------------


def python_sources(packages: tuple[str, ...]) -> Iterator[tuple[Path, ast.Module]]:
    base = Path(settings.BASE_DIR)
    for package in packages:
        for path in sorted((base / package).rglob("*.py")):
            parts = set(path.relative_to(base).parts)
            if parts & {"tests", "migrations"} or path == base / "chat" / "asyncapi.py":
                continue
            yield path, ast.parse(path.read_text(), filename=str(path))


def close_codes_in_code() -> dict[int, str]:
    """Every close code the server uses: constants named CLOSE_* or GOING_AWAY, and
    literal ``code=`` arguments."""
    found: dict[int, str] = {}
    for path, tree in python_sources(CLOSE_SOURCES):
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                names = [target.id for target in node.targets if isinstance(target, ast.Name)]
                if any(name.startswith("CLOSE_") or name == "GOING_AWAY" for name in names):
                    found[int(str(node.value.value))] = f"{path.name}: {names[0]}"
            for keyword in node.keywords if isinstance(node, ast.Call) else ():
                value = keyword.value
                code = keyword.arg == "code"
                if code and isinstance(value, ast.Constant) and type(value.value) is int:
                    found[value.value] = f"{path.name}: code="
    return found


def frame_types_in_code() -> dict[str, str]:
    """Every string the code uses as a frame or event type: the value of a ``"type"``
    key, a JSON text's ``type``, and room event names (``message.created``, …)."""
    found: dict[str, str] = {}

    def note(kind: object, where: str) -> None:
        if kind in SCHEMA_TYPES or not isinstance(kind, str) or kind.startswith(ASGI_PREFIXES):
            return
        found.setdefault(kind, where)

    for path, tree in python_sources(FRAME_SOURCES):
        for node in ast.walk(tree):
            if isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    is_type = isinstance(key, ast.Constant) and key.value == "type"
                    if is_type and isinstance(value, ast.Constant):
                        note(value.value, path.name)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
                if text.startswith('{"type":') and text.endswith("}"):
                    note(json.loads(text)["type"], path.name)
                head, _, tail = text.partition(".")
                if head in EVENT_SUBJECTS and tail.isalpha():
                    note(text, path.name)
    return found


def test_every_close_code_of_the_server_is_documented(document: dict[str, Any]) -> None:
    documented = {
        item["code"]
        for channel in document["channels"].values()
        for item in channel["x-close-codes"]
    }
    used = close_codes_in_code()

    assert set(used) >= CONTRACT_CLOSE_CODES | {1001, 1008}
    assert {code: where for code, where in used.items() if code not in documented} == {}


def test_every_frame_type_in_the_code_is_documented(document: dict[str, Any]) -> None:
    documented = {
        kind
        for channel in document["channels"]
        for client in (True, False)
        for kind in frames(document, channel, client=client)
    }
    used = frame_types_in_code()

    assert set(used) >= {"message.created", "participant.joined", "resync.required", "pong"}
    undocumented = {kind: where for kind, where in used.items() if kind not in documented}
    assert {k: v for k, v in undocumented.items() if k not in NOT_FRAMES} == {}


# --- the sockets ---------------------------------------------------------------------------


@pytest.fixture
def generous_rates(settings: Any) -> None:
    """Rates no test here reaches: the refusal test alone sends two frames for each
    type-like string of the code, some thousand of them."""
    settings.CHAT_WS_FRAME_RATE = "100000/10s"
    settings.CHAT_WS_SEND_RATE = "100000/10s"


@pytest.fixture
def room(alice: Any, bob: Any) -> Any:
    """A private room: alice is its admin, bob a member."""
    return factories.make_room(alice, chat_type="private", name="Study group", members=[bob])


async def answers(socket: Any, sent: dict[str, Any]) -> list[dict[str, Any]]:
    """What the socket answers before its ``pong`` to a ping sent after ``sent``:
    a refusal of the frame as such (unknown type, missing field) comes before."""
    await socket.send(sent)
    await socket.send({"type": "ping"})
    pongs = 2 if sent["type"] == "ping" else 1
    received = []
    while pongs:
        frame = await socket.receive()
        if frame["type"] == "pong":
            pongs -= 1
        else:
            received.append(frame)
    return received


def refusals(received: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in received if f["type"] == "error" and f["code"] == "bad_request"]


def type_like_strings() -> set[str]:
    """Every string of the chat app's code that could name a frame type (whatever
    table the consumers dispatch through), and an invented one."""
    found = {"message.explode"}
    for _, tree in python_sources(FRAME_SOURCES):
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and TYPE_LIKE.match(str(node.value)):
                found.add(str(node.value))
    return found


async def open_channel(channel: str, user: Any, room: Any) -> Any:
    return await (open_room(user, room) if channel == "room" else open_presence(user))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("channel", ["room", "presence"])
async def test_the_socket_accepts_the_documented_client_frames_and_no_others(
    document: dict[str, Any], generous_rates: None, alice: Any, room: Any, channel: str
) -> None:
    accepted = frames(document, channel, client=True)
    documented = {
        kind for name in document["channels"] for kind in frames(document, name, client=True)
    }
    socket = await open_channel(channel, alice, room)

    for kind, pointer in accepted.items():
        message = resolve(document, pointer)
        required = set(message["payload"]["required"])
        for example in message["examples"]:
            payload = example["payload"]
            assert refusals(await answers(socket, payload)) == [], (kind, payload)
            minimal = {key: value for key, value in payload.items() if key in required}
            assert refusals(await answers(socket, minimal)) == [], (kind, minimal)
            for field in required - {"type"}:
                without = {key: value for key, value in payload.items() if key != field}
                assert refusals(await answers(socket, without)), (kind, "without", field)
    # Every field some client frame has, so a type that is handled is not refused
    # for a missing field.
    fields = {
        key: value
        for name in document["channels"]
        for pointer in frames(document, name, client=True).values()
        for example in resolve(document, pointer)["examples"]
        for key, value in example["payload"].items()
    }
    for kind in sorted((type_like_strings() | documented) - set(accepted)):
        refused = refusals(await answers(socket, {**fields, "type": kind}))
        assert [frame["ref"] for frame in refused] == [fields["client_id"]], f"{kind} is handled"
    await socket.close()


class Recorder:
    """A socket whose every frame is kept."""

    def __init__(self, channel: str, socket: Any) -> None:
        self.channel = channel
        self.socket = socket
        self.frames = [getattr(socket, "ready", None) or socket.snapshot]

    async def until(self, kind: str) -> dict[str, Any]:
        """The next frame of type ``kind`` (those before it are kept too)."""
        while True:
            frame = await self.socket.receive()
            self.frames.append(frame)
            if frame["type"] == kind:
                return frame

    async def drain(self) -> None:
        while not await self.socket.nothing(timeout=0.3):
            self.frames.append(await self.socket.receive())
        await self.socket.close()


@pytest.mark.django_db(transaction=True)
async def test_every_frame_of_a_full_session_matches_the_document(
    document: dict[str, Any],
    generous_rates: None,
    settings: Any,
    tmp_path: Path,
    alice: Any,
    bob: Any,
    charlie: Any,
    stella: Any,
    room: Any,
) -> None:
    """Both sockets of two users while every action happens, over the socket and over
    REST: each frame validates against the document's schema for its type and
    socket, and every server frame the document lists was seen."""
    settings.MEDIA_ROOT = tmp_path / "media"
    a = Recorder("room", await open_room(alice, room))
    b = Recorder("room", await open_room(bob, room))
    pa = Recorder("presence", await open_presence(alice))
    pb = Recorder("presence", await open_presence(bob))
    resync = Recorder("room", await open_room(bob, room, after_seq=10**6))
    await resync.until("resync.required")
    alice_api, bob_api = client_for(alice), client_for(bob)

    await a.socket.send({"type": "message.send", "client_id": "m-1", "content": "Hi @bob"})
    first = (await a.until("message.created"))["message"]
    await pb.until("notification")
    await a.socket.send(
        {"type": "message.send", "client_id": "m-2", "content": "Also", "reply_to": first["id"]}
    )
    reply = (await a.until("message.created"))["message"]
    await b.socket.send(
        {"type": "thread.read", "thread_id": first["id"], "message_id": reply["id"]}
    )
    await b.until("thread.read")
    await pb.until("thread.read")
    await a.socket.send({"type": "message.edit", "message_id": first["id"], "content": "Hi!"})
    await b.until("message.updated")
    await b.socket.send({"type": "reaction.add", "message_id": first["id"], "emoji": "👍"})
    await a.until("reaction.added")
    await b.socket.send({"type": "reaction.remove", "message_id": first["id"], "emoji": "👍"})
    await a.until("reaction.removed")
    await a.socket.send({"type": "typing", "is_typing": True})
    await b.until("typing")
    await b.socket.send({"type": "read", "message_id": first["id"]})
    await pb.until("unread")
    for recorder in (b, pb):
        await recorder.socket.send({"type": "ping"})
        await recorder.until("pong")
        await recorder.socket.send_text("not json")
        await recorder.until("error")
    await pb.socket.send({"type": "presence.set", "status": "away"})
    await pa.until("presence")
    await a.until("presence")

    image = SimpleUploadedFile("graph.png", png_bytes(), content_type="image/png")
    upload = {"room": room.pk, "file": image, "content": ""}
    uploaded = await db(lambda: bob_api.post("/chat/messages/", upload, format="multipart"))()
    await a.until("message.created")
    report_url = f"/chat/messages/{uploaded.data['id']}/report/"
    reported = await db(lambda: alice_api.post(report_url, {"reason": "spam"}, format="json"))()
    await pa.until("report.created")
    resolve_url = f"/chat/reports/{reported.data['id']}/resolve/"
    await db(lambda: alice_api.post(resolve_url, {"action": "dismiss"}, format="json"))()
    await pa.until("report.resolved")
    notifications = f"/chat/rooms/{room.pk}/notifications/"
    await db(lambda: bob_api.put(notifications, {"muted": True}, format="json"))()
    await pb.until("notifications.updated")
    # A site-wide alert: stella (site staff) may not see this private room alone.
    await db(lambda: services.system_alert(actor=stella, content="Fire drill"))()
    await a.until("message.created")
    participants = f"/chat/rooms/{room.pk}/participants/"
    await db(lambda: alice_api.post(participants, {"user": charlie.pk}, format="json"))()
    await a.until("participant.joined")
    mute = {"is_muted": True}
    await db(lambda: alice_api.patch(f"{participants}{charlie.pk}/", mute, format="json"))()
    await a.until("participant.updated")
    await db(lambda: alice_api.delete(f"{participants}{charlie.pk}/"))()
    await a.until("participant.left")
    await db(lambda: alice_api.patch(f"/chat/rooms/{room.pk}/", {"name": "Study"}, format="json"))()
    await a.until("room.updated")
    await a.socket.send({"type": "message.pin", "message_id": first["id"]})
    await a.until("message.pinned")
    await a.socket.send({"type": "message.unpin", "message_id": first["id"]})
    await a.until("message.unpinned")
    await a.socket.send(
        {"type": "poll.create", "client_id": "p-1", "question": "When?", "options": ["Mon", "Tue"]}
    )
    poll = (await a.until("message.created"))["message"]["poll"]
    vote = {"type": "poll.vote", "poll_id": poll["id"], "option_ids": [poll["options"][0]["id"]]}
    await b.socket.send(vote)
    await a.until("poll.updated")
    await a.socket.send({"type": "poll.close", "poll_id": poll["id"]})
    await a.until("poll.updated")
    support = await db(factories.make_room)(alice, chat_type="support", name="Help", members=[bob])
    queue = Recorder("room", await open_room(bob, support))
    hours = f"/chat/rooms/{support.pk}/office-hours/"
    await db(lambda: alice_api.post(hours, {"open": True}, format="json"))()
    await queue.until("queue.updated")
    await queue.socket.send({"type": "queue.join"})
    await queue.until("queue.updated")
    staff = Recorder("room", await open_room(alice, support))
    await staff.socket.send({"type": "queue.next"})
    await staff.until("queue.taken")
    await queue.until("queue.updated")
    await pb.until("queue.taken")
    await a.socket.send({"type": "message.delete", "message_id": first["id"]})
    await b.until("message.deleted")
    replay = Recorder("room", await open_room(bob, room, after_seq=0))
    await replay.until("message.deleted")
    await db(lambda: alice_api.delete(f"/chat/rooms/{room.pk}/"))()
    await b.until("room.updated")
    # A private question to staff: bob asks his course's staff (alice teaches it).
    course = await db(lambda: factories.make_course(stella, instructors=[alice], students=[bob]))()
    course_room = await db(lambda: factories.course_room(course))()
    staff_questions = f"/chat/rooms/{course_room.pk}/staff-questions/"
    asked = await db(lambda: bob_api.post(staff_questions, {"content": "Psst?"}, format="json"))()
    await pa.until("staff_question.asked")
    answer = f"/chat/staff-questions/{asked.data['id']}/answer/"
    await db(lambda: alice_api.post(answer, {"content": "Yes."}, format="json"))()
    await pb.until("staff_question.answered")
    # The same over the course room's sockets, and who wrote an anonymous post.
    ca = Recorder("room", await open_room(alice, course_room))
    cb = Recorder("room", await open_room(bob, course_room))
    await cb.socket.send({"type": "staff_question.ask", "content": "And the exam?"})
    asked_here = (await ca.until("staff_question.asked"))["question"]
    await cb.until("staff_question.asked")
    await ca.socket.send(
        {"type": "staff_question.answer", "question_id": asked_here["id"], "content": "Open."}
    )
    await cb.until("staff_question.answered")
    await cb.socket.send(
        {"type": "message.send", "client_id": "anon-1", "content": "Q?", "anonymous": True}
    )
    await ca.until("anonymous.author")
    await pa.until("anonymous.author")

    recorders = [a, b, pa, pb, resync, replay, queue, staff, ca, cb]
    for recorder in recorders:
        await recorder.drain()
    seen: dict[str, set[str]] = {"room": set(), "presence": set()}
    for recorder in recorders:
        schemas = frames(document, recorder.channel, client=False)
        for frame in recorder.frames:
            seen[recorder.channel].add(frame["type"])
            assert frame["type"] in schemas, (recorder.channel, frame)
            pointer = schemas[frame["type"]] + "/payload"
            assert problems(document, pointer, frame) == [], frame
    for channel, kinds in seen.items():
        assert set(frames(document, channel, client=False)) == kinds, channel


def test_the_wire_enum_names_exactly_the_documented_server_frames(
    document: dict[str, Any],
) -> None:
    documented: dict[str, str] = {}
    for channel in ("room", "presence"):
        documented |= frames(document, channel, client=False)
    assert {frame.value for frame in wire.Frame} == set(documented)
    # The room events are the frames that carry a seq (persisted, replayed).
    with_seq = {
        kind
        for kind, pointer in documented.items()
        if "seq" in resolve(document, pointer)["payload"].get("required", [])
    }
    assert with_seq == {frame.value for frame in wire.ROOM_EVENTS}


def test_a_published_frame_off_its_shape_fails_the_capture_check() -> None:
    good = wire.typing(1, {"id": 2, "username": "bob", "display_name": "Bob"}, True)
    assert frame_problems(good) == []
    assert frame_problems({**good, "extra": 1})
    assert frame_problems({**good, "is_typing": "yes"})
    assert frame_problems({"type": "no.such.frame"}) == ["undeclared frame type 'no.such.frame'"]
