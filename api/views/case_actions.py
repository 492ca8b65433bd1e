"""The corrective and preventive actions of a case. Mixed into ``CaseViewSet`` (so it lives
under /api/v1/cases/{reference}/actions/)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action

from improvement import selectors

from ..serializers.improvement import ActionSummarySerializer


class CaseActions:
    """The actions a case is linked to, as its page's panel shows them (and in its order: open
    ones first, then by due date). Mixed into
    ``CaseViewSet`` (so it lives under /api/v1/cases/{reference}/)."""

    @extend_schema(
        summary="The corrective and preventive actions of a case",
        responses=ActionSummarySerializer(many=True),
        filters=False,
    )
    @action(detail=True, methods=["get"], url_path="actions", filter_backends=[])
    def actions(self, request, reference: str):
        case = self._case()
        qs = selectors.actions_of_case(user=request.user, case=case, with_cases=True)
        page = self.paginate_queryset(qs)
        data = ActionSummarySerializer(page, many=True, context={"request": request}).data
        return self.get_paginated_response(data)
