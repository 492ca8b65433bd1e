from django.urls import path

from . import views

app_name = "escalation"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("reassign/", views.escalations_reassign, name="reassign"),
    path("<int:pk>/acknowledge/", views.escalation_acknowledge, name="acknowledge"),
    path("<int:pk>/take/", views.escalation_take, name="take"),
    path("approvals/<int:pk>/", views.approval_decide, name="approval_decide"),
    path("reviews/<int:pk>/outcome/", views.review_outcome, name="review_outcome"),
    path("cases/<str:reference>/pause/", views.case_pause, name="case_pause"),
    path("cases/<str:reference>/resume/", views.case_resume, name="case_resume"),
    path("cases/<str:reference>/approval/", views.case_request_approval, name="request_approval"),
    path("cases/<str:reference>/escalate/", views.case_escalate, name="case_escalate"),
    path("cases/<str:reference>/refer/", views.case_refer, name="case_refer"),
    path("cases/<str:reference>/file/", views.case_file, name="case_file"),
]
