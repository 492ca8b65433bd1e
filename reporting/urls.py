from django.urls import path, re_path

from . import views

app_name = "reporting"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("cases/", views.cases, name="cases"),
    re_path(r"^cases\.(?P<fmt>csv|xlsx)$", views.cases_export, name="cases_export"),
    path("export/<slug:key>.csv", views.table_export, name="table_export"),
    path("export.xlsx", views.tables_export, name="tables_export"),
    path("summary/", views.summary, name="summary"),
]
