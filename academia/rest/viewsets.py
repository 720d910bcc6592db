"""The base of every REST viewset: the input serializer of each action, for DRF's metadata.

The viewsets never call ``get_serializer()`` themselves (input serializers
validate, ``chat.payloads`` shapes the output), so they had no serializer class,
and DRF's ``OPTIONS`` answer, which asks ``get_serializer()`` to describe what
``POST`` and ``PUT`` take, failed. Each viewset names the serializer of the body
each action takes in ``request_serializers``; actions without a body describe
an empty one. Before describing ``PUT`` DRF also asks for the object
(``get_object()``): it is fetched through the user by ``fetch_object``, as
every view does, so an object the user may not see gets no description.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.http import Http404
from rest_framework import serializers, viewsets

from academia.rest.request import AuthenticatedRequest
from academia.rest.throttles import ChatReadThrottle
from chat import errors
from chat.services import audit


class NoBody(serializers.Serializer):
    """The body of an action that takes none."""


class ApiViewSet(viewsets.GenericViewSet):
    request: AuthenticatedRequest
    lookup_value_regex = "[0-9]+"
    # action name → the serializer that validates that action's request body
    request_serializers: ClassVar[dict[str, type[serializers.Serializer]]] = {}
    # actions whose reads are expensive (search, history): also counted by ChatReadThrottle
    read_throttled: ClassVar[frozenset[str]] = frozenset()

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        """Moderation actions of a REST request are audited as made over ``rest``."""
        with audit.via(audit.Via.REST):
            return super().dispatch(request, *args, **kwargs)

    def get_throttles(self) -> list[Any]:
        throttles = list(super().get_throttles())
        if self.action in self.read_throttled:
            throttles.append(ChatReadThrottle())
        return throttles

    def get_serializer_class(self) -> type[serializers.Serializer]:
        action: str | None = self.action
        if action == "metadata":
            # OPTIONS: DRF asks once per method, with the request cloned to that method.
            action = self.action_map.get((self.request.method or "").lower())
        return self.request_serializers.get(action or "", NoBody)

    def get_object(self) -> Any:
        try:
            return self.fetch_object(self.kwargs[self.lookup_url_kwarg or self.lookup_field])
        except errors.NotFound:
            raise Http404 from None

    def fetch_object(self, pk: str) -> Any:
        """The object of a detail route as the user may see it (NotFound otherwise)."""
        raise errors.NotFound()
