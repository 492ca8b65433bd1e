from functools import partial

from rest_framework.pagination import PageNumberPagination

from complaints.paging import DeferredJoinPaginator


class Pagination(PageNumberPagination):
    """``?page=`` and ``?page_size=`` (at most 100): a list never returns an unbounded page."""

    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100


class DeferredJoinPagination(Pagination):
    """The same pages, each read with ``rows(primary keys)`` once found (``complaints.paging``):
    the case list."""

    def __init__(self, *, rows):
        self.django_paginator_class = partial(DeferredJoinPaginator, rows=rows)
