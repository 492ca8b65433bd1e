"""The knowledge base's refusals, as the domain's errors (the pages show their messages; the
API maps them to its one error format)."""

from django.utils.translation import gettext_lazy as _

from complaints.errors import CaseConflict


class ArticleConflict(CaseConflict):
    """Someone saved the article since the editor opened it."""

    default_message = _(
        "Someone else changed this article while you were editing it. "
        "See their change, then save yours again."
    )
