"""The API end to end over real HTTP (a plain client against the live server): sign in for a
token, log a complaint, walk it through all seven steps to closed, read its timeline, fetch
the customer's tracking JSON, revoke the token."""

import uuid

import pytest
import requests

from complaints.roles import Role
from tests.factories import DepartmentFactory, staff

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_complaint_from_intake_to_closed_over_http(live_server):
    department = DepartmentFactory(name="After-sales", code="after-sales")
    staff(Role.AGENT, department, username="api-agent", password="s3cret-pass")
    handler = staff(Role.HANDLER, department, username="api-handler")
    api = f"{live_server.url}/api/v1"
    http = requests.Session()

    reply = http.post(
        f"{api}/auth/token/",
        json={"username": "api-agent", "password": "s3cret-pass", "name": "CRM"},
        timeout=10,
    )
    assert reply.status_code == 201, reply.text
    token = reply.json()["token"]
    http.headers["Authorization"] = f"Bearer {token}"

    reply = http.post(
        f"{api}/cases/",
        json={
            "customer": {"name": "Li Na", "phone": "13800138000", "email": "li.na@example.com"},
            "channel": "phone",
            "category": "product_quality",
            "urgency": "yellow",
            "description": "The drum bangs on spin.",
            "desired_outcome": "A repair.",
        },
        headers={"Idempotency-Key": str(uuid.uuid4())},
        timeout=10,
    )
    assert reply.status_code == 201, reply.text
    case = reply.json()
    reference, tracking_url = case["reference"], case["tracking_url"]
    assert case["step"] == "receive" and reply.headers["Location"].endswith(f"/{reference}/")

    steps = [
        ("listen", {}),
        (
            "analyse",
            {"customer_account": "Bought two weeks ago.", "understanding_confirmed": True},
        ),
        (
            "decide",
            {
                "validity": "valid",
                "root_cause_category": "materials",
                "department": department.pk,
                "responsible_person": handler.pk,
            },
        ),
        (
            "act",
            {"remedy_types": ["repair"], "remedy_value": "120.00", "remedy_plan": "Repair it."},
        ),
        ("confirm", {"actions_taken": "Repaired.", "report": "Faulty bearing batch."}),
        ("follow_up", {"agreement_note": "Agreed on the phone."}),
        ("closed", {"satisfaction_rating": 5, "follow_up_comment": "Happy."}),
    ]
    # Each move says which version it changes: the ETag of the answer before (without it, 428).
    etag = reply.headers["ETag"]
    unconditional = http.post(
        f"{api}/cases/{reference}/transition/", json={"to": "listen"}, timeout=10
    )
    assert unconditional.status_code == 428, unconditional.text
    for to, data in steps:
        reply = http.post(
            f"{api}/cases/{reference}/transition/",
            json={"to": to, **data},
            headers={"Idempotency-Key": str(uuid.uuid4()), "If-Match": etag},
            timeout=10,
        )
        assert reply.status_code == 200, (to, reply.text)
        assert reply.json()["step"] == to
        etag = reply.headers["ETag"]
    stale = http.post(
        f"{api}/cases/{reference}/transition/",
        json={"to": "analyse"},
        headers={"If-Match": '"1"'},
        timeout=10,
    )
    assert stale.status_code == 412, stale.text

    reply = http.get(f"{api}/cases/{reference}/events/", params={"page_size": 100}, timeout=10)
    assert reply.status_code == 200
    moves = [e["to_step"] for e in reply.json()["results"] if e["kind"] == "step"]
    assert moves == [to for to, _data in steps]

    token_part = tracking_url.rsplit("/", 1)[1]
    public = requests.get(f"{api}/track/{token_part}/", timeout=10)
    assert public.status_code == 200
    tracking = public.json()
    assert tracking["reference"] == reference and tracking["step"] == "closed"
    assert [s["state"] for s in tracking["steps"]] == ["done"] * 7 + ["current"]

    assert http.delete(f"{api}/auth/token/", timeout=10).status_code == 204
    assert http.get(f"{api}/cases/", timeout=10).status_code == 401
