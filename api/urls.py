"""/api/v1/ and the schema. Mounted by config/urls.py under /api/."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from .views.actions import ActionViewSet
from .views.cases import CaseViewSet
from .views.customers import CustomerViewSet
from .views.escalations import ApprovalViewSet, EscalationViewSet
from .views.knowledge import ArticleViewSet, CaseSuggestionsView, CaseTemplateView
from .views.public import TokenView, TrackingView

app_name = "api"

router = SimpleRouter()
router.register("cases", CaseViewSet, basename="case")
router.register("customers", CustomerViewSet, basename="customer")
router.register("escalations", EscalationViewSet, basename="escalation")
router.register("approvals", ApprovalViewSet, basename="approval")
router.register("actions", ActionViewSet, basename="action")
router.register("articles", ArticleViewSet, basename="article")

urlpatterns = [
    path(
        "v1/cases/<str:reference>/suggestions/",
        CaseSuggestionsView.as_view(),
        name="case-suggestions",
    ),
    path(
        "v1/cases/<str:reference>/articles/<int:pk>/template/",
        CaseTemplateView.as_view(),
        name="case-article-template",
    ),
    path("v1/", include(router.urls)),
    path("v1/track/<str:token>/", TrackingView.as_view(), name="track"),
    path("v1/auth/token/", TokenView.as_view(), name="token"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
]
