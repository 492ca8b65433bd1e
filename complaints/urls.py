from django.urls import path

from . import views

app_name = "complaints"

urlpatterns = [
    path("", views.case_list, {"scope": "mine"}, name="my_cases"),
    path("cases/", views.case_list, {"scope": "all"}, name="all_cases"),
    # Before the case page's pattern, which any word would match.
    path("cases/to-take/", views.case_list, {"scope": "to_take"}, name="to_take"),
    path("cases/department/", views.case_list, {"scope": "department"}, name="department_cases"),
    path("search/", views.search, name="search"),
    path("cases/<str:reference>/", views.case_detail, name="case_detail"),
    path("cases/<str:reference>/step/", views.case_step, name="case_step"),
    path("cases/<str:reference>/assign/", views.case_assign, name="case_assign"),
    path("cases/<str:reference>/take/", views.case_take, name="case_take"),
    path("cases/<str:reference>/notes/", views.case_note, name="case_note"),
    path("cases/<str:reference>/contacts/", views.case_contact, name="case_contact"),
    path("cases/<str:reference>/ending/", views.case_ending, name="case_ending"),
    path(
        "cases/<str:reference>/customer-preferences/",
        views.case_customer_preferences,
        name="case_customer_preferences",
    ),
    path(
        "cases/<str:reference>/follow-up-review/",
        views.case_follow_up_review,
        name="case_follow_up_review",
    ),
    path("follow-ups/", views.follow_up_reviews, name="follow_up_reviews"),
    path("cases/<str:reference>/merge/", views.case_merge, name="case_merge"),
    path("cases/<str:reference>/files/<int:pk>/", views.case_attachment, name="case_attachment"),
]
