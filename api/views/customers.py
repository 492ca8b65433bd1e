"""/api/v1/customers/: find, read and add customers, and list a customer's cases."""

from __future__ import annotations

from django.db import transaction
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from complaints import selectors, services
from complaints.models import Customer

from ..filters import CustomerFilter
from ..permissions import CustomerAccess
from ..serializers import CaseSummarySerializer, CustomerInputSerializer, CustomerSerializer


@extend_schema(tags=["customers"])
@extend_schema_view(
    list=extend_schema(summary="Find customers"), retrieve=extend_schema(summary="A customer")
)
class CustomerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [CustomerAccess]
    serializer_class = CustomerSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = CustomerFilter
    queryset = Customer.objects.order_by("name", "pk")

    @extend_schema(
        summary="Find a customer by phone or email, or add them",
        description="As the New complaint screen does: an existing customer with this phone "
        "or email is returned (200, and a contact detail they lacked is added); otherwise "
        "they are added (201).",
        request=CustomerInputSerializer,
        responses={200: CustomerSerializer, 201: CustomerSerializer},
    )
    def create(self, request):
        serializer = CustomerInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with transaction.atomic():
            existing = services.customer_find(phone=data["phone"], email=data["email"])
            customer = services.customer_get_or_create(
                name=data["name"], phone=data["phone"], email=data["email"], type=data.get("type")
            )
        return Response(
            CustomerSerializer(customer).data,
            status=status.HTTP_200_OK if existing else status.HTTP_201_CREATED,
        )

    @extend_schema(summary="A customer's cases", responses=CaseSummarySerializer(many=True))
    @action(detail=True, methods=["get"], filter_backends=[])
    def cases(self, request, pk: str):
        customer = self.get_object()
        qs = selectors.case_list(user=request.user).filter(customer=customer)
        page = self.paginate_queryset(qs.order_by("-received_at", "-pk"))
        data = CaseSummarySerializer(page, many=True, context={"request": request}).data
        return self.get_paginated_response(data)
