"""Refusals and errors in the site's own layout (issue 14): 403, 404 and 500 pages say what
happened and lead back; the API keeps its JSON errors."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.utils import translation

from config.urls import server_error

pytestmark = pytest.mark.django_db


def test_a_refused_page_is_in_the_layout_with_a_way_back(client, handler):
    client.force_login(handler)
    response = client.get("/reports/")
    page = response.content.decode()
    assert response.status_code == 403
    assert 'data-testid="error-403"' in page
    assert 'data-testid="nav-my-cases"' in page  # the navigation, with the user's counts
    assert 'href="/" role="button">Back to my cases<' in page


def test_a_page_not_found_says_what_a_reference_looks_like(client, agent):
    client.force_login(agent)
    response = client.get("/cases/C000000-00000/")
    page = response.content.decode()
    assert response.status_code == 404
    assert 'data-testid="error-404"' in page
    assert "A case's reference looks like C202612-00042." in page


def test_a_customer_who_is_not_found_is_offered_the_complaint_form(client, db):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert 'href="/complain/" role="button">Make a complaint<' in response.content.decode()


def test_the_not_found_page_speaks_chinese(client, agent):
    client.force_login(agent)
    with translation.override("zh-hans"):
        response = client.get("/cases/C000000-00000/", headers={"accept-language": "zh-hans"})
    assert "这里什么也没有" in response.content.decode()


def test_the_server_error_page_renders_without_a_request_context(db):
    request = RequestFactory().get("/cases/")
    response = server_error(request)
    page = response.content.decode()
    assert response.status_code == 500
    assert 'data-testid="error-500"' in page
    assert "Something went wrong on our side" in page


def test_the_api_still_answers_its_errors_in_json(client, agent):
    client.force_login(agent)
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
