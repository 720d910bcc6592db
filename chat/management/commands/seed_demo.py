"""Demo data: a course with an instructor and students, one room of each type, messages.

Everything goes through the services, so the rooms have their events and
system messages exactly as if people had used the app. Running the command
again changes nothing: users, the course and rooms are looked up first, and
messages carry fixed ``client_id``s, which the service treats as idempotent.

The demo users share a published password, so with DEBUG off (production) the
command refuses to run unless given ``--force``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from chat import policy, services
from chat.models import ChatRoom
from courses import services as course_services
from courses.models import Course

DEMO_PASSWORD = "academia-demo"
COURSE_CODE = "CS101"
COURSE_TITLE = "Intro to Computer Science"

# username, display name, role in the demo
DEMO_USERS = (
    ("admin", "Ada Admin", "staff and superuser: /admin/"),
    ("instructor", "Ines Instructor", "instructor of CS101, moderates its room"),
    ("alice", "Alice Student", "student of CS101"),
    ("bob", "Bob Student", "student of CS101"),
    ("carol", "Carol Student", "student of CS101"),
    ("support", "Sam Support", "support agent (the support group)"),
)


class Command(BaseCommand):
    help = "Create the demo users, course, rooms and messages (idempotent) and print the logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Only seed when the database has no users yet; print the logins either way.",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Seed even with DEBUG off (the demo users' password is published).",
        )

    def handle(
        self, *args: Any, if_empty: bool = False, force: bool = False, **options: Any
    ) -> None:
        if not settings.DEBUG and not force:
            raise CommandError(
                f"DEBUG is off: the demo users' password ({DEMO_PASSWORD!r}) is published, "
                "so seed_demo creates them only with --force."
            )
        user_model = get_user_model()
        if if_empty and user_model.objects.exists():
            if user_model.objects.filter(username="admin").exists():
                self.print_logins()
            else:
                self.stdout.write("The database already has users; demo data not loaded.")
            return
        with transaction.atomic():
            self.seed()
        self.print_logins()

    def seed(self) -> None:
        users = {username: self.user(username, name) for username, name, _ in DEMO_USERS}
        admin_user, instructor = users["admin"], users["instructor"]
        alice, bob, carol = users["alice"], users["bob"], users["carol"]
        support_group, _ = Group.objects.get_or_create(name=policy.SUPPORT_GROUP)
        users["support"].groups.add(support_group)

        course = Course.objects.filter(code=COURSE_CODE).first() or course_services.course_create(
            actor=admin_user, title=COURSE_TITLE, code=COURSE_CODE
        )
        course_services.enrollment_create(
            actor=admin_user, course=course, user=instructor, role="instructor"
        )
        for student in (alice, bob, carol):
            course_services.enrollment_create(
                actor=admin_user, course=course, user=student, role="student"
            )
        course_room = ChatRoom.objects.get(course=course, chat_type=ChatRoom.ChatType.COURSE)

        general = self.room(instructor, "General", "public", "Everyone at Academia: say hello!")
        for user in (alice, bob, carol):
            services.room_join(actor=user, room=general)
        study = self.room(alice, "Study group", "private", "Alice, Bob and Carol prepare CS101.")
        for user in (bob, carol):
            services.participant_invite(actor=alice, room=study, user=user)
        helpdesk = self.room(bob, "Help with login", "support", "Bob cannot sign in on his phone.")
        services.room_join(actor=users["support"], room=helpdesk)

        self.say(
            instructor,
            general,
            "general-1",
            "Welcome to **Academia Chat**! Use `Markdown`, mention people with @name.",
        )
        hello = self.say(alice, general, "general-2", "Hi everyone :wave:")
        self.say(bob, general, "general-3", "Hello @alice, nice to meet you!", reply_to=hello)
        services.reaction_add(actor=bob, message=hello, emoji="👍")

        task = self.say(
            instructor,
            course_room,
            "course-1",
            "Assignment 1 is out:\n\n1. read chapter 1\n2. solve *exercises 1-3*\n\n"
            "Energy: $E = mc^2$",
        )
        self.say(carol, course_room, "course-2", "Is exercise 3 about recursion?", reply_to=task)
        services.reaction_add(actor=alice, message=task, emoji="🎉")

        self.say(alice, study, "study-1", "Shall we meet on **Thursday** at 5pm, @bob @carol?")
        self.say(
            carol,
            study,
            "study-2",
            "```python\ndef fact(n):\n    return 1 if n < 2 else n * fact(n - 1)\n```",
        )

        self.say(bob, helpdesk, "help-1", "I can't sign in on my phone, it says *invalid token*.")
        self.say(
            users["support"],
            helpdesk,
            "help-2",
            "Hi @bob, please sign out everywhere and request a new token.",
        )

    def user(self, username: str, display_name: str) -> Any:
        user_model = get_user_model()
        user = user_model.objects.filter(username=username).first()
        if user is None:
            is_admin = username == "admin"
            user = user_model.objects.create_user(
                username=username,
                password=DEMO_PASSWORD,
                display_name=display_name,
                email=f"{username}@example.com",
                is_staff=is_admin,
                is_superuser=is_admin,
            )
        return user

    def room(self, owner: Any, name: str, chat_type: str, description: str) -> ChatRoom:
        room = ChatRoom.objects.filter(name=name, chat_type=chat_type, created_by=owner).first()
        return room or services.room_create(
            actor=owner, name=name, chat_type=chat_type, description=description
        )

    def say(self, sender: Any, room: ChatRoom, key: str, content: str, reply_to: Any = None) -> Any:
        return services.message_send(
            actor=sender,
            room=room,
            content=content,
            client_id=f"seed-demo-{key}",
            reply_to=reply_to.pk if reply_to is not None else None,
        ).message

    def print_logins(self) -> None:
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for username, name, role in DEMO_USERS:
            self.stdout.write(f"  {username:<11} {name:<16} {role}")
