from django.urls import path

from . import views

app_name = "improvement"

urlpatterns = [
    path("", views.action_list, name="action_list"),
    path("new/", views.action_new, name="action_new"),
    path("<int:pk>/", views.action_detail, name="action_detail"),
    path("<int:pk>/status/", views.action_status, name="action_status"),
    path("<int:pk>/verify/", views.action_verify, name="action_verify"),
    path("<int:pk>/edit/", views.action_edit, name="action_edit"),
    path("<int:pk>/cases/", views.action_link, name="action_link"),
    path("<int:pk>/cases/<str:reference>/remove/", views.action_unlink, name="action_unlink"),
    path(
        "escalations/<int:pk>/acknowledge/",
        views.escalation_acknowledge,
        name="escalation_acknowledge",
    ),
]
