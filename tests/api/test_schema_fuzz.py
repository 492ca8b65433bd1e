"""Schemathesis against the API's own OpenAPI schema (/api/schema/), in process through the WSGI
application: every operation, with generated valid and invalid input, as a member of staff who
may do everything (the general manager). No response may be a 5xx, and every response must be
one the schema describes (its status code, its content type, its body).

Bounded and deterministic for CI: a fixed seed, derandomized Hypothesis and no example database;
each operation gets schemathesis' coverage cases (each parameter's boundary and invalid values)
and ``MAX_EXAMPLES`` generated ones.

Schemathesis cannot guess a case's reference, so the path parameters (and the people and
departments a body names) are drawn, half of the time, from dictionaries of stand-ins that the
test swaps for the records ``records`` makes: detail endpoints answer 200, 409 and 400 as well
as 404. (Stand-ins, because the schema is loaded when the module is imported, before any record
exists, and the ids differ from run to run.)

Each request runs in a savepoint that is rolled back: the records stay as made (a generated
``DELETE /auth/token/`` does not revoke the token the next request signs with), and a request
that broke the database's transaction could not fail the requests after it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import schemathesis
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    ignored_auth,
    missing_required_header,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from api.tokens import api_token_issue
from complaints import services
from complaints.models import Step, User
from complaints.roles import Role
from config.wsgi import application
from escalation import approvals
from escalation import services as escalation_services
from improvement import services as improvement_services
from improvement.models import Action
from knowledge import services as knowledge_services
from tests.factories import CustomerFactory, DepartmentFactory, staff, walk

from ..caches import cache_clear

# Generated examples per operation (the fuzzing phase), on top of the coverage phase's cases.
MAX_EXAMPLES = 15
SEED = 20251123
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    # Each operation that needs a token refuses a request without one, or with a wrong one.
    ignored_auth,
    # A method the schema does not list answers 405, with an Allow header that is right.
    unsupported_method,
    allow_header_conformance,
    missing_required_header,
]
# Not checked: positive_data_acceptance and negative_data_rejection. The schema describes types
# and lengths; the domain refuses more (a customer needs a phone number or an email address, a
# manual escalation a reason) with a documented 400, and DRF's filters and pagination ignore
# some malformed values (?page=) as they are meant to.

# How often a path parameter (or a person or department in a body) is a record's.
KNOWN = 0.5

# Stand-ins: dictionary name -> the values schemathesis draws, which the test replaces with the
# records' (integers where the schema wants an integer).
STAND_INS: dict[str, list] = {
    "references": [f"known-case-{n}" for n in range(5)],
    "tracking": ["known-tracking-0"],
    "customers": [900_001, 900_002],
    "escalations": [900_101],
    "approvals": [900_201],
    "attachments": [900_301],
    "people": [900_401, 900_402, 900_403],
    "departments": [900_501],
    "actions": [900_601],
    "articles": [900_701],
}
# Values the API takes, where random strings would all be refused: a customer needs a phone
# number or an email address that look like one, and a retry key is printable ASCII.
VALID: dict[str, list] = {
    "phones": ["13800138000", "+86 138 0013 8001"],
    "emails": ["li.na@example.com"],
    "idempotency_keys": ["5b0e6d9c-3f8f-4a53-9a8e-0c4b1d1f2a77"],
}


def _known(name: str) -> dict:
    return {"dictionary": name, "probability": KNOWN}


def _ids_under(path_regex: str, name: str) -> dict:
    return {"include-path-regex": path_regex, "parameters": {"path.id": _known(name)}}


CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
        "phases": {"stateful": {"enabled": False}},
        "dictionaries": {name: {"values": values} for name, values in (STAND_INS | VALID).items()},
        "parameters": {
            "path.reference": _known("references"),
            "path.token": _known("tracking"),
            "body.person": _known("people"),
            "body.responsible_person": _known("people"),
            "body.department": _known("departments"),
            "body.phone": _known("phones"),
            "body.email": _known("emails"),
            "body.customer.phone": _known("phones"),
            "body.customer.email": _known("emails"),
            "header.Idempotency-Key": _known("idempotency_keys"),
        },
        "operations": [
            # Most specific first: the first matching entry applies.
            _ids_under(r"/attachments/", "attachments"),
            _ids_under(r"^/api/v1/customers/", "customers"),
            _ids_under(r"^/api/v1/escalations/", "escalations"),
            _ids_under(r"^/api/v1/approvals/", "approvals"),
            _ids_under(r"^/api/v1/actions/", "actions"),
            _ids_under(r"/articles/", "articles"),
        ],
    }
)

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application, config=CONFIG)

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


@pytest.fixture
def records(db) -> dict:
    """What the detail endpoints can find: customers, cases at several steps, a case with a
    file, one escalated by hand, one waiting for a remedy's approval, a tracking link; and the
    general manager's token. Returns the token, {stand-in: the record's value} ("real"), and
    the first record of each kind by name."""
    department = DepartmentFactory(name="After-sales", code="after-sales")
    agent = staff(Role.AGENT, username="fuzz-agent")
    handler = staff(Role.HANDLER, department, username="fuzz-handler")
    manager = staff(Role.GENERAL_MANAGER, username="fuzz-gm")

    def receive():
        return services.case_receive(
            by=agent,
            customer=CustomerFactory(),
            channel="phone",
            category="product_quality",
            urgency="yellow",
            product="Washing machine W-200",
            description="The drum is loud.",
            desired_outcome="A repair.",
        )

    received = receive()
    with_file = receive().case
    note = services.case_add_note(
        case=with_file,
        by=agent,
        body="The customer's photo.",
        files=[SimpleUploadedFile("photo.png", PNG, content_type="image/png")],
    )
    escalated = receive().case
    escalation = escalation_services.case_escalate_manually(
        case=escalated, by=agent, note="A sensitive customer."
    )
    at_decide = walk(
        receive().case, to=Step.DECIDE, by=agent, department=department, person=handler
    )
    services.case_update(
        case=at_decide,
        by=handler,
        data={
            "remedy_types": ["replacement"],
            "remedy_plan": "Replace the machine.",
            "remedy_value": Decimal("1500"),
        },
    )
    approval = approvals.approval_request(case=at_decide, by=handler, note="Above my limit.")
    closed = walk(receive().case, to=Step.CLOSED, by=agent, department=department, person=handler)
    action = improvement_services.action_record(
        by=manager,
        kind="corrective",
        root_cause="materials",
        cause="A faulty bearing batch.",
        title="Change the bearing supplier",
        owner=handler,
        due_on=timezone.localdate() + timedelta(days=7),
        cases=[closed],
    )
    quality = staff(Role.QUALITY_MANAGER, username="fuzz-quality")
    article = knowledge_services.article_create(
        by=quality,
        data={
            "category": "product_quality",
            "title_en": "Loud drum",
            "guidance_en": "Repair it.",
            "reply_template_en": "Dear {customer_name}, about {reference}.",
        },
    )
    knowledge_services.article_set_status(
        article=article, by=quality, status="published", expected_version=1
    )
    real = {
        "references": [
            c.reference for c in (received.case, with_file, escalated, at_decide, closed)
        ],
        "tracking": [received.tracking_token],
        "customers": [received.case.customer_id, closed.customer_id],
        "escalations": [escalation.pk],
        "approvals": [approval.pk],
        "attachments": [note.attachments.get().pk],
        "people": [agent.pk, handler.pk, manager.pk],
        "departments": [department.pk],
        "actions": [action.pk],
        "articles": [article.pk],
    }
    _row, token = api_token_issue(user=manager, name="fuzz")
    return {
        "token": token,
        "real": {
            stand_in: value
            for name, stand_ins in STAND_INS.items()
            for stand_in, value in zip(stand_ins, real[name], strict=True)
        },
        **{name: values[0] for name, values in real.items()},
        "with_file": with_file.reference,
        "at_decide": at_decide.reference,
        "closed": closed.reference,
        "manager": manager.username,
    }


@pytest.fixture
def in_process():
    """As Django's test client does: the WSGI handler's request signals would otherwise close
    the connection that holds the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _swap_stand_ins(case, real: dict) -> None:
    case.path_parameters = {k: real.get(v, v) for k, v in case.path_parameters.items()}
    if isinstance(case.body, dict):
        case.body = {k: real.get(v, v) if _hashable(v) else v for k, v in case.body.items()}


def _hashable(value) -> bool:
    return isinstance(value, str | int | float | bool) or value is None


@schema.parametrize()
# The records and the token are made once per operation, not per example: each request is rolled
# back, so every example finds them as made.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_api_answers_as_its_schema_says_and_never_fails(case, records, in_process):
    _swap_stand_ins(case, records["real"])
    cache_clear()  # the rate limits count in the cache: each request is the first of its minute
    with transaction.atomic():
        case.call_and_validate(
            headers={"Authorization": f"Bearer {records['token']}"}, checks=CHECKS
        )
        transaction.set_rollback(True)


def test_each_kind_of_success_answers_as_the_schema_says(records, in_process):
    """Random input seldom gets past the domain's rules (a new complaint, a move, a hand-over,
    a file to download), so one request of each kind that succeeds, built by hand on the
    records, is checked the same way, and so are the refusals that need a real case."""

    def call(method: str, path: str, expected: int, *, headers=None, **parts):
        if "body" in parts:
            parts.setdefault("media_type", "application/json")
        case = schema[path][method].Case(**parts)
        cache_clear()
        response = case.call_and_validate(
            headers={"Authorization": f"Bearer {records['token']}", **(headers or {})},
            checks=CHECKS,
        )
        assert response.status_code == expected, (method, path, response.text)
        return response

    def on_case(method: str, action: str, expected: int, reference: str, **parts):
        path = "/api/v1/cases/{reference}/" + (f"{action}/" if action else "")
        return call(method, path, expected, path_parameters={"reference": reference}, **parts)

    sign_in = {"username": records["manager"], "password": "pw-for-tests"}
    call("POST", "/api/v1/auth/token/", 201, body=sign_in)
    call("POST", "/api/v1/auth/token/", 401, body={**sign_in, "password": "wrong"})

    li_na = {"name": "Li Na", "phone": "13800138000"}
    customer = {"id": call("POST", "/api/v1/customers/", 201, body=li_na).json()["id"]}
    call("POST", "/api/v1/customers/", 200, body={**li_na, "email": "li.na@example.com"})
    call("GET", "/api/v1/customers/", 200, query={"q": "Li"})
    call("GET", "/api/v1/customers/{id}/", 200, path_parameters=customer)
    call("GET", "/api/v1/customers/{id}/cases/", 200, path_parameters=customer)

    complaint = {
        "customer": li_na,
        "channel": "phone",
        "category": "product_quality",
        "description": "The drum bangs on spin.",
        "desired_outcome": "A repair.",
    }
    retry = {"Idempotency-Key": "journey-1"}
    created = call("POST", "/api/v1/cases/", 201, body=complaint, headers=retry).json()
    call("POST", "/api/v1/cases/", 201, body=complaint, headers=retry)  # replayed
    call("POST", "/api/v1/cases/", 422, body={**complaint, "urgency": "red"}, headers=retry)
    call("GET", "/api/v1/cases/", 200, query={"step": "receive", "ordering": "-received"})

    new, read = created["reference"], {"version": created["version"]}
    on_case("GET", "", 200, new)
    patched = on_case("PATCH", "", 200, new, body={"product": "W-300", **read})
    on_case("PATCH", "", 409, new, body={"product": "W-400", **read})  # changed since read
    on_case("POST", "transition", 428, new, body={"to": "listen"})  # no version: refused
    now = {"version": patched.json()["version"]}
    moved = on_case("POST", "transition", 200, new, body={"to": "listen", **now})
    now = {"version": moved.json()["version"]}
    on_case("POST", "transition", 409, new, body={"to": "closed", **now})
    on_case("POST", "assignment", 200, new, body={"department": records["departments"], **now})
    on_case("POST", "messages", 201, new, body={"body": "Called back."})
    photo = on_case(
        "POST",
        "messages",
        201,
        new,
        body={"body": "The customer's photo.", "files": [PNG]},
        media_type="multipart/form-data",
    ).json()
    assert [a["content_type"] for a in photo["attachments"]] == ["image/png"]
    on_case("GET", "messages", 200, new)
    on_case("GET", "events", 200, new)
    on_case("POST", "escalate", 201, new, body={"note": "Angry."})
    on_case("POST", "pause", 409, new, body={"reason": "customer"})  # the default: no pauses
    on_case("POST", "take", 200, new)  # handed to a department, so no one's
    on_case("POST", "tracking-link", 201, new)
    # Within the general manager's own authority: nothing to ask for.
    on_case("POST", "approval", 400, records["at_decide"], body={})

    call(
        "GET",
        "/api/v1/cases/{reference}/attachments/{id}/",
        200,
        path_parameters={"reference": records["with_file"], "id": records["attachments"]},
    )
    call("GET", "/api/v1/track/{token}/", 200, path_parameters={"token": records["tracking"]})

    escalation = {"id": records["escalations"]}
    call("GET", "/api/v1/escalations/", 200, query={"acknowledged": False})
    call("GET", "/api/v1/escalations/{id}/", 200, path_parameters=escalation)
    call("POST", "/api/v1/escalations/{id}/acknowledge/", 200, path_parameters=escalation, body={})
    call("POST", "/api/v1/escalations/{id}/take/", 200, path_parameters=escalation)

    approval = {"id": records["approvals"]}
    call("GET", "/api/v1/approvals/", 200, query={"status": ["pending"]})
    call("GET", "/api/v1/approvals/{id}/", 200, path_parameters=approval)
    call(
        "POST",
        "/api/v1/approvals/{id}/decision/",
        200,
        path_parameters=approval,
        body={"approve": True},
    )

    action = {"id": records["actions"]}
    on_action = "/api/v1/actions/{id}/"

    def etag(pk: int) -> dict[str, str]:
        """If-Match as a client that has just read the action sends it."""
        return {"If-Match": f'"{Action.objects.get(pk=pk).version}"'}

    call("GET", "/api/v1/actions/", 200, query={"status": ["open"], "case": records["closed"]})
    call("GET", on_action, 200, path_parameters=action)
    call("GET", on_action + "events/", 200, path_parameters=action)
    on_case("GET", "actions", 200, records["closed"])
    recorded = call(
        "POST",
        "/api/v1/actions/",
        201,
        body={
            "kind": "preventive",
            "root_cause": "process",
            "cause": "Deliveries are not announced.",
            "title": "Call before each delivery",
            "department": records["departments"],
            "due_on": (timezone.localdate() + timedelta(days=3)).isoformat(),
            "cases": [records["closed"]],
        },
    ).json()
    call("POST", "/api/v1/actions/", 400, body={"kind": "preventive"})
    call(
        "PATCH",
        on_action,
        200,
        path_parameters=action,
        body={"plan": "Audit first."},
        headers=etag(records["actions"]),
    )
    call(
        "POST",
        on_action + "status/",
        409,
        path_parameters=action,
        body={"to": "done"},
        headers=etag(records["actions"]),
    )
    call(
        "POST",
        on_action + "status/",
        200,
        path_parameters=action,
        body={"to": "in_progress"},
        headers=etag(records["actions"]),
    )
    call(
        "POST",
        on_action + "cases/",
        200,
        path_parameters=action,
        body={"case": records["at_decide"]},
        headers=etag(records["actions"]),
    )
    call(
        "DELETE",
        on_action + "cases/{reference}/",
        200,
        path_parameters={**action, "reference": records["at_decide"]},
        headers=etag(records["actions"]),
    )
    call(
        "DELETE",
        on_action + "cases/{reference}/",
        409,
        path_parameters={"id": recorded["id"], "reference": records["closed"]},
        headers=etag(recorded["id"]),
    )
    call(
        "POST",
        on_action + "status/",
        200,
        path_parameters=action,
        body={"to": "done", "note": "Supplier changed."},
        headers=etag(records["actions"]),
    )
    # Whoever marked it done does not verify it: the handler, who owns it, takes it back and
    # marks it done; the manager, who recorded it, may verify it.
    call(
        "POST",
        on_action + "verify/",
        403,
        path_parameters=action,
        body={"note": "Checked."},
        headers=etag(records["actions"]),
    )
    owner = User.objects.get(username="fuzz-handler")
    on_record = Action.objects.get(pk=records["actions"])
    for to, note in (("in_progress", "One more batch."), ("done", "All batches now.")):
        improvement_services.action_transition(action=on_record, to=to, by=owner, note=note)
    call(
        "POST",
        on_action + "verify/",
        200,
        path_parameters=action,
        body={"note": "Checked."},
        headers=etag(records["actions"]),
    )

    article = {"id": records["articles"]}
    call("GET", "/api/v1/articles/", 200, query={"q": "drum", "category": "product_quality"})
    call("GET", "/api/v1/articles/{id}/", 200, path_parameters=article)
    on_case("GET", "suggestions", 200, new)
    call(
        "GET",
        "/api/v1/cases/{reference}/articles/{id}/template/",
        200,
        path_parameters={"reference": new, **article},
        query={"language": "zh-hans"},
    )
    on_case("POST", "messages", 201, new, body={"body": "Hi", "source": "knowledge:1:2"})

    call("DELETE", "/api/v1/auth/token/", 204)
    call("GET", "/api/v1/cases/", 401)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # An offset PostgreSQL does not take (it allows ±15:59): read in UTC.
        ({"at_after": "0262-10-24T21:12:21+18:58"}, 200),
        # No such moment in UTC: before the year 1, after the year 9999.
        ({"at_after": "0001-01-01T00:00:00+18:00"}, 400),
        ({"at_before": "9999-12-31T23:59:59-18:00"}, 400),
    ],
)
def test_moments_the_fuzzer_found_are_read_or_refused_never_a_server_error(
    records, in_process, query, expected
):
    case = schema["/api/v1/escalations/"]["GET"].Case(query=query)

    response = case.call_and_validate(
        headers={"Authorization": f"Bearer {records['token']}"}, checks=CHECKS
    )

    assert response.status_code == expected, response.text
