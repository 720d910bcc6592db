"""The request of a view behind ``IsAuthenticated``, as the type checker sees it.

Every API view requires a signed-in user (``DEFAULT_PERMISSION_CLASSES``), so by
the time a handler runs ``request.user`` is a ``User``, never ``AnonymousUser``.
Handlers annotate their request with ``AuthenticatedRequest`` to say so; at run
time it is DRF's ``Request``.
"""

from __future__ import annotations

from rest_framework.request import Request

from accounts.models import User


class AuthenticatedRequest(Request):
    user: User
