"""Django's makemessages, also collecting the page's ``t()`` and ``tn()`` calls.

``static/chat/i18n.js`` wraps the JavaScript catalogue's ``gettext`` and
``ngettext`` as ``t`` and ``tn``; xgettext only knows the original names.
"""

from __future__ import annotations

from django.core.management.commands import makemessages


class Command(makemessages.Command):
    xgettext_options = [*makemessages.Command.xgettext_options, "--keyword=t", "--keyword=tn:1,2"]
