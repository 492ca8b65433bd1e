from django.urls import path

from . import views

app_name = "conversation"

urlpatterns = [
    path("<slug:provider>/inbound/", views.sms_inbound, name="sms_inbound"),
]
