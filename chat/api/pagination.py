"""Page-number pagination for lists: ``{"count", "next", "previous", "results"}``."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from rest_framework.pagination import PageNumberPagination


class FirstPagePaginator(Paginator):
    """Django's paginator, except that the first page is read first, one row more
    than it shows (``LIMIT per_page + 1``): when it holds every row they are
    counted as they come, without ``COUNT(*)`` over the whole filter (most room
    lists and searches fit one page); when not, ``COUNT(*)`` follows as usual."""

    def page(self, number: Any) -> Page:
        if number in (1, "1") and not self.orphans and "count" not in self.__dict__:
            rows = list(self.object_list[: self.per_page + 1])
            if len(rows) <= self.per_page:
                self.__dict__["count"] = len(rows)  # Paginator.count is a cached_property
            return Page(rows[: self.per_page], 1, self)
        return super().page(number)


class ChatPagination(PageNumberPagination):
    django_paginator_class = FirstPagePaginator
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
