from django.urls import path

from . import views

app_name = "intake"

urlpatterns = [
    path("new/", views.new_case, name="new_case"),
    path("customer-lookup/", views.customer_lookup, name="customer_lookup"),
]
