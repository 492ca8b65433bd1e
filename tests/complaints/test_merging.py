"""Merging two cases that are the same complaint (``complaints.merging``): what the merge does,
each rule that refuses it and for whom, nothing of either case lost, the absorbed case leaving
the open lists and the sweep, and the pages that merge (the form, the confirmation)."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from complaints import customer_actions, selectors, services
from complaints.errors import AccessDenied, CaseConflict, InvalidInput, TransitionRefused
from complaints.merging import case_merge, merge_refusals
from complaints.models import Attachment, Case, CaseEvent, Step, TrackingToken, tracking_digest
from escalation.approvals import approval_request
from escalation.models import Approval, Deadline, Escalation, Pause, Policy
from escalation.selectors import escalation_queue
from escalation.services import case_pause, case_refer_external
from escalation.sweep import sweep
from webhooks.models import Delivery, Event, Subscription

from ..factories import CustomerFactory, receive, receive_case, walk

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
REASON = "The customer called again about the same drum."


def png(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PNG, content_type="image/png")


def ago(**delta) -> timezone.datetime:
    return timezone.now() - timedelta(**delta)


@pytest.fixture
def customer(db):
    return CustomerFactory(name="Li Na", phone="+8613800138000", email="li.na@example.com")


@pytest.fixture
def earlier(agent, customer):
    """The first complaint, received three days ago."""
    return receive_case(by=agent, customer=customer, received_at=ago(days=3))


@pytest.fixture
def later(agent, customer):
    """The same customer calling again today about the same thing."""
    return receive_case(by=agent, customer=customer, description="Still loud, I said so.")


def merge(later: Case, earlier: Case, by, note: str = REASON) -> CaseEvent:
    return case_merge(survivor=earlier, absorbed=later, by=by, note=note)


# ---------------------------------------------------------------- what a merge does


def test_merge_marks_the_absorbed_case_merged_into_the_survivor(agent, earlier, later):
    merge(later, earlier, agent)

    later.refresh_from_db()
    earlier.refresh_from_db()
    assert later.merged_into == earlier
    assert later.merged_at is not None
    assert not later.is_open
    assert earlier.merged_into is None
    assert earlier.is_open
    assert list(earlier.absorbed_cases.all()) == [later]


def test_both_cases_get_a_merged_event_with_the_reason(agent, earlier, later):
    merge(later, earlier, agent)

    on_absorbed = later.events.get(kind=CaseEvent.Kind.MERGED)
    on_survivor = earlier.events.get(kind=CaseEvent.Kind.MERGED)
    assert on_absorbed.changes["merged_into"] == [None, earlier.pk]
    assert on_survivor.changes == {"merged_from": [None, later.pk]}
    assert on_absorbed.note == on_survivor.note == REASON
    assert on_absorbed.actor == on_survivor.actor == agent


def test_the_absorbed_case_keeps_every_event_of_its_own(agent, earlier, later):
    services.case_add_note(case=later, by=agent, body="Called back, no answer.")
    before = list(later.events.order_by("pk").values_list("pk", "kind", "note"))

    merge(later, earlier, agent)

    after = list(later.events.order_by("pk").values_list("pk", "kind", "note"))
    assert after[: len(before)] == before
    assert [kind for _pk, kind, _note in after[len(before) :]] == [CaseEvent.Kind.MERGED]


def test_survivor_timeline_shows_both_cases_in_time_order_marked_by_origin(agent, earlier, later):
    services.case_add_note(case=earlier, by=agent, body="First note on the earlier case.")
    services.case_add_note(case=later, by=agent, body="Note on the later case.")
    merge(later, earlier, agent)

    timeline = selectors.case_timeline(case=earlier)

    assert [e.at for e in timeline] == sorted(e.at for e in timeline)
    assert {e.pk for e in timeline} == set(earlier.events.values_list("pk", flat=True)) | set(
        later.events.values_list("pk", flat=True)
    )
    origin = {e.note: e.from_case for e in timeline if e.kind == CaseEvent.Kind.NOTE}
    assert origin == {"First note on the earlier case.": None, "Note on the later case.": later}
    rows = {
        (e.case_id, row.field, row.new)
        for e in timeline
        if e.kind == CaseEvent.Kind.MERGED
        for row in e.change_rows
    }
    assert (later.pk, "merged_into", earlier.reference) in rows
    assert (earlier.pk, "merged_from", later.reference) in rows


def _timeline_queries(case: Case) -> int:
    with CaptureQueriesContext(connection) as queries:
        selectors.case_timeline(case=case)
    return len(queries)


def test_survivor_timeline_costs_the_same_queries_with_few_or_many_merged_cases(agent, customer):
    few = receive_case(by=agent, customer=customer, received_at=ago(days=5))
    merge(receive_case(by=agent, customer=customer), few, agent)
    many = receive_case(by=agent, customer=customer, received_at=ago(days=4))
    for n in range(4):
        other = receive_case(by=agent, customer=CustomerFactory())
        for m in range(3):
            services.case_add_note(case=other, by=agent, body=f"{n}.{m}", files=[png("p.png")])
        merge(other, many, agent)

    assert _timeline_queries(few) == _timeline_queries(many)


def test_cases_merged_before_into_the_absorbed_case_follow_it_to_the_survivor(agent, customer):
    first = receive_case(by=agent, customer=customer, received_at=ago(days=3))
    second = receive_case(by=agent, customer=customer, received_at=ago(days=2))
    third = receive_case(by=agent, customer=customer)
    merge(third, second, agent)

    merge(second, first, agent)

    third.refresh_from_db()
    assert third.merged_into == first
    assert third.events.filter(kind=CaseEvent.Kind.MERGED).count() == 2
    assert third.events.last().changes["merged_into"] == [second.pk, first.pk]
    assert {e.case_id for e in selectors.case_timeline(case=first)} == {
        first.pk,
        second.pk,
        third.pk,
    }


def test_merge_writes_a_case_merged_webhook_for_the_survivor(agent, earlier, later):
    Subscription.objects.create(name="CRM", url="https://crm.example/hook", events=["case.merged"])

    merge(later, earlier, agent)

    delivery = Delivery.objects.get(event=Event.CASE_MERGED)
    assert delivery.case == earlier
    data = delivery.payload["data"]
    assert data["case"]["reference"] == earlier.reference
    assert data["absorbed"]["reference"] == later.reference
    assert data["absorbed"]["due_at"] is None  # its deadlines stopped before the payload


# ---------------------------------------------------------------- nothing lost


def test_every_event_attachment_token_and_message_of_both_is_reachable_from_the_survivor(
    agent, customer, earlier
):
    received = receive(by=agent, customer=customer)
    later = received.case
    services.case_add_note(case=earlier, by=agent, body="To you", customer_visible=True)
    services.case_add_note(case=later, by=agent, body="Photo", files=[png("drum.png")])
    customer_actions.case_customer_message(case=later, body="A video.", files=[png("v.png")])
    events = set(CaseEvent.objects.values_list("pk", flat=True))
    files = set(Attachment.objects.values_list("pk", flat=True))

    merge(later, earlier, agent)

    reachable = set(selectors.case_events(case=earlier).values_list("pk", flat=True))
    assert events <= reachable
    assert set(selectors.case_attachments(case=earlier).values_list("pk", flat=True)) == files
    messages = selectors.case_events(case=earlier).filter(
        kind__in=[CaseEvent.Kind.MESSAGE, CaseEvent.Kind.CUSTOMER_MESSAGE]
    )
    assert set(messages.values_list("note", flat=True)) == {"To you", "A video."}
    # The absorbed case's tracking link is still there, and it opens the survivor.
    link = TrackingToken.objects.get(digest=tracking_digest(received.tracking_token))
    assert link.case == later and link.revoked_at is None
    assert link.case.survivor == earlier


def test_survivor_page_offers_the_absorbed_cases_files(client, agent, earlier, later):
    services.case_add_note(case=later, by=agent, body="Photo", files=[png("drum.png")])
    merge(later, earlier, agent)
    attachment = Attachment.objects.get(name="drum.png")
    client.force_login(agent)

    page = client.get(reverse("complaints:case_detail", args=[earlier.reference]))
    url = reverse("complaints:case_attachment", args=[earlier.reference, attachment.pk])
    assert url in page.content.decode()
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG


def test_survivor_page_shows_what_the_absorbed_case_said_and_both_customers(client, agent, earlier):
    other = CustomerFactory(name="Wang Fang", phone="+8613900139000")
    later = receive_case(by=agent, customer=other, description="My neighbour's machine too.")
    merge(later, earlier, agent)
    client.force_login(agent)

    page = client.get(reverse("complaints:case_detail", args=[earlier.reference]))
    text = page.content.decode()

    merged = text[text.index('data-testid="merged-cases"') :]
    assert later.reference in merged and "My neighbour&#x27;s machine too." in merged
    customers = text[text.index('data-testid="other-customers"') :]
    assert "Wang Fang" in customers and "+8613900139000" in customers


# ---------------------------------------------------------------- the refusals, rule by rule


def refused(**kwargs) -> list[str]:
    with pytest.raises(TransitionRefused) as exc:
        case_merge(**{"note": REASON, **kwargs})
    return exc.value.messages


def nothing_merged() -> bool:
    return not Case.objects.filter(merged_into__isnull=False).exists() and not (
        CaseEvent.objects.filter(kind=CaseEvent.Kind.MERGED).exists()
    )


def test_a_case_is_not_merged_into_itself(agent, earlier):
    assert refused(survivor=earlier, absorbed=earlier, by=agent) == [
        "A case cannot be merged into itself."
    ]
    assert nothing_merged()


def test_a_case_already_merged_is_not_merged_again(agent, customer, earlier, later):
    merge(later, earlier, agent)
    third = receive_case(by=agent, customer=customer, received_at=ago(days=4))

    assert refused(survivor=third, absorbed=later, by=agent) == [
        f"{later.reference} has already been merged into {earlier.reference}."
    ]
    later.refresh_from_db()
    assert later.merged_into == earlier


def test_nothing_is_merged_into_a_merged_case(agent, customer, earlier, later):
    merge(later, earlier, agent)
    newest = receive_case(by=agent, customer=customer)

    assert refused(survivor=later, absorbed=newest, by=agent) == [
        f"{later.reference} was merged into {earlier.reference}: "
        f"merge into {earlier.reference} instead."
    ]
    newest.refresh_from_db()
    assert newest.merged_into is None


def test_a_closed_case_is_not_merged(agent, handler, after_sales, earlier, later):
    walk(earlier, to=Step.CLOSED, by=agent, department=after_sales, person=handler)

    assert refused(survivor=earlier, absorbed=later, by=agent) == [
        f"{earlier.reference} is closed: a handled complaint is not merged."
    ]
    assert nothing_merged()


def test_a_closed_case_is_not_absorbed(agent, handler, after_sales, customer, earlier):
    walk(earlier, to=Step.CLOSED, by=agent, department=after_sales, person=handler)
    first = receive_case(by=agent, customer=customer, received_at=ago(days=5))

    assert refused(survivor=first, absorbed=earlier, by=agent) == [
        f"{earlier.reference} is closed: a handled complaint is not merged."
    ]
    assert nothing_merged()


def test_the_earlier_case_is_not_merged_into_a_later_one(agent, earlier, later):
    assert refused(survivor=later, absorbed=earlier, by=agent) == [
        f"Merge the later case into the earlier one: {earlier.reference} was received first, "
        "and the time limits count from the first receipt."
    ]
    assert nothing_merged()


def test_a_case_with_an_external_reviewer_is_not_absorbed(agent, quality_manager, earlier, later):
    case_refer_external(case=later, by=quality_manager, reviewer="Consumer association", reason="x")

    assert refused(survivor=earlier, absorbed=later, by=quality_manager) == [
        f"{later.reference} is with an external reviewer: record the outcome first."
    ]
    assert nothing_merged()


def test_a_merge_needs_the_reason(agent, earlier, later):
    with pytest.raises(InvalidInput) as exc:
        case_merge(survivor=earlier, absorbed=later, by=agent, note="  ")

    assert exc.value.fields == {"note": ["Say why these cases are the same complaint."]}
    assert nothing_merged()


@pytest.mark.parametrize("changed", ["absorbed", "survivor"])
def test_a_change_since_the_user_read_either_case_is_a_conflict(agent, earlier, later, changed):
    seen = {"absorbed": later.version, "survivor": earlier.version}
    stale = Case.objects.get(pk=(later if changed == "absorbed" else earlier).pk)
    services.case_transition(case=stale, to=Step.LISTEN, by=agent)

    with pytest.raises(CaseConflict):
        case_merge(
            survivor=earlier,
            absorbed=later,
            by=agent,
            note=REASON,
            expected_version=seen["absorbed"],
            survivor_version=seen["survivor"],
        )
    assert nothing_merged()


# ---------------------------------------------------------------- who may merge


@pytest.mark.parametrize(
    "persona", ["agent", "quality_manager", "general_manager", "handler", "department_head"]
)
def test_who_may_work_both_cases_may_merge_them(request, agent, after_sales, customer, persona):
    earlier = receive_case(by=agent, customer=customer, received_at=ago(days=1))
    later = receive_case(by=agent, customer=customer)
    for case in (earlier, later):  # After-sales is responsible for both
        services.case_assign(case=case, by=agent, department=after_sales)
    user = request.getfixturevalue(persona)

    merge(later, earlier, user)

    later.refresh_from_db()
    assert later.merged_into == earlier


@pytest.mark.parametrize("persona", ["other_agent", "foreign_handler", "outsider"])
def test_who_may_not_work_both_cases_may_not_merge_them(request, earlier, later, persona):
    with pytest.raises(AccessDenied) as exc:
        merge(later, earlier, request.getfixturevalue(persona))

    assert exc.value.messages == ["You may merge only cases you may work on, both of them."]
    assert nothing_merged()


def test_an_agent_may_not_merge_into_a_case_they_may_not_work(agent, other_agent, customer):
    theirs = receive_case(by=other_agent, customer=customer, received_at=ago(days=1))
    mine = receive_case(by=agent, customer=customer)

    with pytest.raises(AccessDenied):
        merge(mine, theirs, agent)
    assert nothing_merged()


def test_refusals_are_known_before_anything_is_written(agent, earlier, later):
    assert merge_refusals(survivor=earlier, absorbed=later, by=agent) == []
    assert merge_refusals(survivor=later, absorbed=earlier, by=agent) != []
    assert nothing_merged()


def test_nobody_may_change_a_merged_case(agent, earlier, later):
    merge(later, earlier, agent)
    later.refresh_from_db()

    with pytest.raises(AccessDenied):
        services.case_transition(case=later, to=Step.LISTEN, by=agent)
    with pytest.raises(AccessDenied):
        services.case_add_note(case=later, by=agent, body="Too late")
    with pytest.raises(TransitionRefused):
        customer_actions.case_take(case=later, by=agent)


# ---------------------------------------------------------------- the absorbed case stops


def test_the_absorbed_cases_deadlines_stop_and_the_sweep_never_escalates_it(agent, earlier, later):
    merge(later, earlier, agent)
    later.refresh_from_db()
    assert later.due_at is None
    assert not Deadline.objects.filter(case=later, superseded_at__isnull=True).exists()

    with time_machine.travel(timezone.now() + timedelta(days=10)):
        sweep()

    later.refresh_from_db()
    assert later.tier == 0
    assert not Escalation.objects.filter(case=later).exists()
    assert Escalation.objects.filter(case=earlier).exists()  # the survivor's limits still count


def test_the_absorbed_cases_escalations_stop_reminding_and_leave_the_queue(
    agent, quality_manager, customer
):
    earlier = receive_case(by=agent, customer=customer, received_at=ago(days=3))
    later = receive_case(by=agent, customer=customer, received_at=ago(days=2), urgency="red")
    sweep()  # the red case's 8-hour limit is long past: it escalates
    escalations = Escalation.objects.filter(case=later)
    assert escalations.exists()
    assert all(e.next_notify_at is not None for e in escalations)

    merge(later, earlier, quality_manager)

    assert all(e.next_notify_at is None for e in escalations.all())
    queued = {e.case_id for e in escalation_queue(user=quality_manager, include_acknowledged=True)}
    assert later.pk not in queued


def test_a_stopped_clock_of_the_absorbed_case_ends(agent, customer):
    Policy.objects.create(
        name="Delays", category="service_process", pausable_milestones=["decided"]
    )
    earlier = receive_case(by=agent, customer=customer, received_at=ago(days=1))
    later = receive_case(by=agent, customer=customer, category="service_process")
    case_pause(case=later, by=agent, reason=Pause.Reason.CUSTOMER)

    merge(later, earlier, agent)

    assert not Pause.objects.filter(case=later, ended_at__isnull=True).exists()


def test_a_remedy_of_the_absorbed_case_waiting_for_approval_is_withdrawn(
    agent, handler, after_sales, customer
):
    earlier = receive_case(by=agent, customer=customer, received_at=ago(days=1))
    later = walk(
        receive_case(by=agent, customer=customer),
        to=Step.DECIDE,
        by=agent,
        department=after_sales,
        person=handler,
    )
    services.case_update(
        case=later,
        by=handler,
        data={"remedy_types": ["full_refund"], "remedy_value": Decimal("5000")},
    )
    approval_request(case=later, by=handler)

    merge(later, earlier, agent)

    assert Approval.objects.get(case=later).status == Approval.Status.WITHDRAWN


def test_merged_cases_leave_my_cases_and_the_navigation_counts(agent, earlier, later):
    assert set(selectors.my_cases(user=agent)) == {earlier, later}

    merge(later, earlier, agent)

    assert list(selectors.my_cases(user=agent)) == [earlier]
    assert selectors.navigation_counts(user=agent)["open"] == 1


def test_merged_cases_leave_the_cases_to_take(agent, quality_manager, customer, earlier):
    sent = customer_actions.case_receive_from_customer(
        customer=customer, category="other", description="Again.", desired_outcome="Help."
    ).case
    assert sent in selectors.waiting_to_be_taken(user=agent)

    merge(sent, earlier, quality_manager)  # nobody owns it yet: a manager may work it

    assert sent not in selectors.waiting_to_be_taken(user=agent)
    assert "unassigned" in selectors.navigation_counts(user=agent)
    assert selectors.navigation_counts(user=agent)["unassigned"] == 0


# ---------------------------------------------------------------- the pages


def merge_url(case: Case) -> str:
    return reverse("complaints:case_merge", args=[case.reference])


def detail_url(case: Case) -> str:
    return reverse("complaints:case_detail", args=[case.reference])


def test_the_case_page_offers_to_merge_into_the_case_it_repeats(client, agent, earlier, later):
    client.force_login(agent)

    text = client.get(detail_url(later)).content.decode()

    assert 'data-testid="repeat-of"' in text
    form = text[text.index('data-testid="merge"') :]
    assert f'name="into" value="{earlier.reference}"' in form


def test_the_case_page_offers_no_merge_to_who_may_not_work_the_case(client, foreign_handler, later):
    client.force_login(foreign_handler)

    assert 'data-testid="merge"' not in client.get(detail_url(later)).content.decode()


def test_reviewing_a_merge_shows_both_cases_and_writes_nothing(client, agent, earlier, later):
    client.force_login(agent)

    response = client.post(
        merge_url(later), {"into": earlier.reference.lower(), "note": REASON, "version": 1}
    )

    assert response.status_code == 200
    text = response.content.decode()
    absorbed = text[text.index('data-testid="merge-absorbed"') :]
    survivor = text[text.index('data-testid="merge-survivor"') :]
    assert later.reference in absorbed and "Still loud, I said so." in absorbed
    assert earlier.reference in survivor
    assert 'data-testid="merge-confirm"' in text
    assert nothing_merged()


def test_confirming_the_merge_merges_and_opens_the_survivor(client, agent, earlier, later):
    client.force_login(agent)

    response = client.post(
        merge_url(later),
        {
            "into": earlier.reference,
            "note": REASON,
            "version": later.version,
            "into_version": earlier.version,
            "confirm": "on",
        },
        follow=True,
    )

    assert response.redirect_chain == [(detail_url(earlier), 302)]
    assert f"{later.reference} was merged into {earlier.reference}." in response.content.decode()
    later.refresh_from_db()
    assert later.merged_into == earlier


def test_a_refused_merge_says_why_and_offers_no_confirmation(client, agent, earlier, later):
    client.force_login(agent)

    response = client.post(
        merge_url(earlier), {"into": later.reference, "note": REASON, "version": 1}
    )

    assert response.status_code == 422
    text = response.content.decode()
    assert "Merge the later case into the earlier one" in text
    assert 'data-testid="merge-confirm"' not in text


def test_a_confirmed_merge_over_a_change_since_is_a_conflict(client, agent, earlier, later):
    client.force_login(agent)
    services.case_transition(case=Case.objects.get(pk=earlier.pk), to=Step.LISTEN, by=agent)

    response = client.post(
        merge_url(later),
        {
            "into": earlier.reference,
            "note": REASON,
            "version": later.version,
            "into_version": earlier.version,  # as read before the move
            "confirm": "on",
        },
    )

    assert response.status_code == 409
    assert "Someone else changed this case" in response.content.decode()
    assert nothing_merged()


def test_merging_into_an_unknown_reference_says_so(client, agent, later):
    client.force_login(agent)

    response = client.post(
        merge_url(later), {"into": "C209901-00001", "note": REASON, "version": 1}
    )

    assert response.status_code == 400
    assert "No case has this reference." in response.content.decode()


def test_merging_needs_the_reason_on_the_page_too(client, agent, earlier, later):
    client.force_login(agent)

    response = client.post(merge_url(later), {"into": earlier.reference, "version": 1})

    assert response.status_code == 400
    assert nothing_merged()


@pytest.mark.parametrize("persona,status", [("foreign_handler", 403), ("outsider", 404)])
def test_who_may_not_work_the_case_may_not_merge_it_on_the_page(
    client, request, earlier, later, persona, status
):
    client.force_login(request.getfixturevalue(persona))

    response = client.post(
        merge_url(later),
        {"into": earlier.reference, "note": REASON, "version": 1, "confirm": "on"},
    )

    assert response.status_code == status
    assert nothing_merged()


def test_merging_is_post_only(client, agent, later):
    client.force_login(agent)

    assert client.get(merge_url(later)).status_code == 405


def test_the_absorbed_case_page_leads_to_the_survivor(client, agent, earlier, later):
    merge(later, earlier, agent)
    client.force_login(agent)

    response = client.get(detail_url(later), follow=True)

    assert response.redirect_chain == [(detail_url(earlier), 302)]
    assert f"{later.reference} was merged into {earlier.reference}, which handles it now" in (
        response.content.decode()
    )


def test_a_form_left_open_on_the_absorbed_case_is_refused_with_where_to_go(
    client, agent, earlier, later
):
    merge(later, earlier, agent)
    client.force_login(agent)

    response = client.post(reverse("complaints:case_note", args=[later.reference]), {"body": "x"})

    assert response.status_code == 403
    assert not later.events.filter(kind=CaseEvent.Kind.NOTE).exists()


def test_merged_cases_are_in_all_cases_marked_and_found_by_reference(client, agent, earlier, later):
    merge(later, earlier, agent)
    client.force_login(agent)

    found = client.get(reverse("complaints:all_cases"), {"q": later.reference})
    mine = client.get(reverse("complaints:my_cases"))

    text = found.content.decode()
    assert re.search(rf'/cases/{later.reference}/".*?merged into {earlier.reference}', text, re.S)
    assert later.reference not in mine.content.decode()
