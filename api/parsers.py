"""The API's JSON parser: DRF's, with a bound on how deeply a body may nest."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

# No request of the API nests deeper than a few levels; 32 leaves room for any client.
MAX_DEPTH = 32


def _depth(data) -> int:
    """How deeply ``data`` nests (a scalar is 0; counting stops past ``MAX_DEPTH``), walked
    without recursion."""
    deepest, stack = 0, [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        deepest = max(deepest, depth + 1)
        if deepest > MAX_DEPTH:
            break
        stack.extend((child, depth + 1) for child in children)
    return deepest


class JSONParser(parsers.JSONParser):
    """A body nested beyond ``MAX_DEPTH`` is refused with 400 in the API's error format, not a
    500: Python's JSON decoder gives up with a RecursionError near 1,000 levels (a 4 KB body),
    which DRF does not catch (issue 16)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
            if _depth(data) <= MAX_DEPTH:
                return data
        except RecursionError:
            pass
        raise ParseError(
            _("The JSON body nests deeper than %(depth)s levels.") % {"depth": MAX_DEPTH}
        )
