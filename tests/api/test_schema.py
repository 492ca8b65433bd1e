"""The OpenAPI schema (drf-spectacular): generated without a warning, valid OpenAPI 3, every
endpoint in it with a summary and its error responses in the one error format; served with its
docs page to anyone, from our own static files; and an address under /api/ that does not exist
answers in the error format too."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
import yaml
from django.conf import settings
from django.contrib.staticfiles import finders
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import EndpointEnumerator, SchemaGenerator
from drf_spectacular.validation import validate_schema

from api import urls as api_urls

ERROR = {"$ref": "#/components/schemas/Error"}


@pytest.fixture(scope="module")
def generated() -> tuple[dict, list[str]]:
    """The schema as ``manage.py spectacular`` makes it, and the warnings and errors that
    drf-spectacular reported while making it."""
    GENERATOR_STATS.reset()
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return schema, [*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache]


@pytest.fixture
def openapi(generated) -> dict:
    return generated[0]


def operations(openapi: dict):
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            yield f"{method.upper()} {path}", path, operation


def test_the_schema_is_generated_without_warnings_and_is_valid_openapi_3(generated):
    schema, problems = generated

    assert not problems, "\n".join(problems)
    validate_schema(schema)  # raises on the first violation of the OpenAPI 3 JSON schema
    assert schema["openapi"].startswith("3.")


def test_every_endpoint_of_the_api_is_in_the_schema(openapi):
    """What the URLs route (as DRF enumerates it) and what the schema lists are the same."""

    def shape(path: str) -> str:  # the parameters' names may differ ({pk} is {id})
        return re.sub(r"\{[^}]+\}", "{}", path)

    enumerator = EndpointEnumerator(patterns=api_urls.urlpatterns)
    routed = {
        f"{method} /api{shape(path)}"
        for path, _regex, method, _view in enumerator.get_api_endpoints()
        if path.startswith("/v1/")
    }
    documented = {name.split(" ")[0] + " " + shape(path) for name, path, _op in operations(openapi)}

    assert routed == documented


def test_every_operation_has_a_summary_and_a_tag(openapi):
    for name, _path, operation in operations(openapi):
        assert operation.get("summary"), name
        assert operation.get("tags"), name


def test_every_error_response_is_the_one_error_format(openapi):
    error = openapi["components"]["schemas"]["Error"]
    detail = openapi["components"]["schemas"]["ErrorDetail"]
    assert error["required"] == ["error"]
    assert sorted(detail["required"]) == ["code", "fields", "message"]

    for name, _path, operation in operations(openapi):
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                assert response["content"]["application/json"]["schema"] == ERROR, (name, status)
                assert response["description"], (name, status)


def test_every_operation_documents_the_refusals_it_can_answer(openapi):
    for name, path, operation in operations(openapi):
        expected = {"400", "429"}
        if operation.get("security"):  # no security: public (tracking, signing in)
            expected |= {"401", "403"}
        if "{" in path or "page" in {p["name"] for p in operation.get("parameters", [])}:
            expected.add("404")  # not found, or a page past the last
        if name.startswith(("POST", "PUT", "PATCH")):
            expected |= {"409", "415"}
        missing = expected - set(operation["responses"])
        assert not missing, (name, sorted(missing))


def test_the_token_is_the_documented_way_in(openapi):
    schemes = openapi["components"]["securitySchemes"]

    assert schemes["tokenAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A token from POST /api/v1/auth/token/.",
    }
    public = {
        name for name, _path, operation in operations(openapi) if not operation.get("security")
    }
    assert public == {"GET /api/v1/track/{token}/", "POST /api/v1/auth/token/"}


def test_the_schema_is_served_to_anyone_as_yaml_and_as_json(client, db):
    as_yaml = client.get("/api/schema/")
    as_json = client.get("/api/schema/", {"format": "json"})

    assert as_yaml.status_code == 200, as_yaml.content[:300]
    assert as_yaml["Content-Type"].startswith("application/vnd.oai.openapi")
    assert yaml.safe_load(as_yaml.content)["info"]["title"] == "Heed API"
    assert as_json.status_code == 200
    assert as_json["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert json.loads(as_json.content)["paths"] == yaml.safe_load(as_yaml.content)["paths"]


class _Assets(HTMLParser):
    """The addresses a page loads: script src, link href, img src."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name in {"script": ["src"], "link": ["href"], "img": ["src"]}.get(tag, []):
            if attributes.get(name):
                self.urls.append(attributes[name])


def test_the_docs_page_is_served_to_anyone_from_our_own_static_files(client, db):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assets = _Assets()
    assets.feed(page)
    assert any(url.endswith("swagger-ui-bundle.js") for url in assets.urls), assets.urls
    for url in assets.urls:
        assert url.startswith(settings.STATIC_URL), url  # never a CDN: no http(s)://, no //
        assert finders.find(url.removeprefix(settings.STATIC_URL)), f"{url} is not a static file"
    assert not re.search(r"""["'](https?:)?//""", page), "the page names an address elsewhere"
    assert "/api/schema/" in page


def test_an_unknown_address_under_the_api_is_not_found_in_the_error_format(client, db, settings):
    settings.DEBUG = False  # Django's handler404 answers only with DEBUG off

    response = client.get("/api/v1/no-such-thing/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "error": {"code": "not_found", "message": "Not found.", "fields": {}}
    }


def test_an_unknown_page_elsewhere_is_still_the_html_page(client, db, settings):
    settings.DEBUG = False

    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
