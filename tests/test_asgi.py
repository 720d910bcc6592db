"""academia.asgi: HTTP runs the middleware chain and the view as one synchronous
call (one hop from the event loop per request), and answers as before."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.testing import HttpCommunicator

from academia.asgi import application, django_asgi_app


def test_the_middleware_chain_is_loaded_synchronous() -> None:
    # Django's own ASGI handler would adapt it to a coroutine for the event loop.
    handler: Any = django_asgi_app
    assert not asyncio.iscoroutinefunction(handler._middleware_chain)


@pytest.mark.django_db(transaction=True)
async def test_requests_are_answered_through_the_synchronous_chain() -> None:
    host = [(b"host", b"testserver")]
    response = await HttpCommunicator(application, "GET", "/healthz", headers=host).get_response()
    missing = await HttpCommunicator(
        application, "GET", "/no-such-page", headers=host
    ).get_response()

    assert (response["status"], response["body"]) == (200, b'{"status": "ok"}')
    assert missing["status"] == 404
