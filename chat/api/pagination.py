"""Page-number pagination for lists: ``{"count", "next", "previous", "results"}``."""

from __future__ import annotations

from rest_framework.pagination import PageNumberPagination


class ChatPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
