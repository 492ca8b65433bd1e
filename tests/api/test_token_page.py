"""The staff page of one's own API tokens: make one (shown once), see them, revoke one."""

import pytest

from api.models import ApiToken, token_digest
from api.tokens import api_token_issue

pytestmark = pytest.mark.django_db


def test_a_new_token_is_shown_once_and_only_its_digest_is_kept(client, agent):
    client.force_login(agent)
    response = client.post("/account/api-tokens/", {"name": "CRM"})
    assert response.status_code == 200
    token = response.context["new_token"]
    assert token.startswith("heed_") and token in response.text
    row = ApiToken.objects.get(user=agent)
    assert row.name == "CRM" and row.digest == token_digest(token)
    assert token not in client.get("/account/api-tokens/").text


def test_a_token_without_a_name_is_refused(client, agent):
    client.force_login(agent)
    response = client.post("/account/api-tokens/", {"name": ""})
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_the_page_lists_only_my_own_tokens(client, agent, other_agent):
    api_token_issue(user=agent, name="mine")
    api_token_issue(user=other_agent, name="theirs")
    client.force_login(agent)
    page = client.get("/account/api-tokens/").text
    assert "mine" in page and "theirs" not in page


def test_revoking_my_token_stops_it_working(client, agent):
    row, token = api_token_issue(user=agent, name="lost laptop")
    client.force_login(agent)
    response = client.post(f"/account/api-tokens/{row.pk}/revoke/")
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.revoked_at is not None
    client.logout()
    assert client.get("/api/v1/cases/", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


def test_nobody_revokes_someone_elses_token(client, agent, other_agent):
    row, _token = api_token_issue(user=other_agent)
    client.force_login(agent)
    assert client.post(f"/account/api-tokens/{row.pk}/revoke/").status_code == 404
    row.refresh_from_db()
    assert row.revoked_at is None


def test_a_user_without_a_role_gets_no_token_page(client, outsider):
    client.force_login(outsider)
    assert client.get("/account/api-tokens/").status_code == 403
    assert client.post("/account/api-tokens/", {"name": "x"}).status_code == 403
    assert not ApiToken.objects.exists()


def test_the_page_needs_a_sign_in(client):
    response = client.get("/account/api-tokens/")
    assert response.status_code == 302 and "/login/" in response["Location"]
