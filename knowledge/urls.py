from django.urls import path

from . import views

app_name = "knowledge"

urlpatterns = [
    path("", views.article_list, name="article_list"),
    path("new/", views.article_create, name="article_create"),
    path("<int:pk>/", views.article_detail, name="article_detail"),
    path("<int:pk>/edit/", views.article_edit, name="article_edit"),
    path("<int:pk>/status/", views.article_status, name="article_status"),
    path("<int:pk>/history/", views.article_history, name="article_history"),
    path("<int:pk>/versions/<int:number>/", views.article_version, name="article_version"),
    path(
        "<int:pk>/versions/<int:number>/restore/",
        views.article_restore,
        name="article_restore",
    ),
    path("<int:pk>/fill/<str:reference>/", views.article_fill, name="article_fill"),
    path("from-case/<str:reference>/", views.draft_from_case, name="draft_from_case"),
]
