from django.urls import path, re_path

from . import held, views

app_name = "intake"

urlpatterns = [
    path("new/", views.new_case, name="new_case"),
    path("customer-lookup/", views.customer_lookup, name="customer_lookup"),
    path("related-cases/", views.related_cases, name="related_cases"),
    path("cases/<str:reference>/tracking-link/", views.tracking_renew, name="tracking_renew"),
    path("held/", held.held_list, name="held_list"),
    path("held/<int:pk>/", held.held_decide, name="held_decide"),
]

# The customer's pages, at /t/ (config.urls): the link /t/<token>, then the page /t/.
tracking_urlpatterns = (
    [
        path("", views.tracking_page, name="page"),
        path("message/", views.tracking_message, name="message"),
        path("lost/", views.tracking_lost, name="lost"),
        path("answer/", views.tracking_answer, name="answer"),
        path("download/", views.tracking_download, name="download"),
        path("files/<int:pk>/", views.tracking_attachment, name="attachment"),
        path("follow-up/", views.tracking_follow_up, name="follow_up"),
        path("preferences/", views.tracking_preferences, name="preferences"),
        # Any path, so that a mangled link (a slash added by a mail client, a cut) gets the
        # tracking 404 with its headers, not Django's.
        re_path(r"^(?P<token>[\s\S]+)\Z", views.tracking_open, name="open"),
    ],
    "tracking",
)
