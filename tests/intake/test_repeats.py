"""Repeat complaints (``complaints.repeats``): the stored flag for every channel, for backdated
complaints and after a merge, the data migration that filled it, and what the agent is told at
intake and on the case page about the customer's other cases and other open complaints about
the same order or product (with their query counts)."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connection
from django.db.models import Exists, OuterRef
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from complaints.merging import case_merge
from complaints.models import Case, Channel, Customer, Step
from complaints.repeats import REPEAT_WINDOW, open_cases_related
from reporting.filters import repeat_q

from ..databases import postgresql_only
from ..factories import CustomerFactory, intake_form, receive_case, walk
from .test_inbound_email import auth, post, postmark

pytestmark = pytest.mark.django_db

LOOKUP = "/intake/customer-lookup/"
RELATED = "/intake/related-cases/"


def ago(**delta):
    return timezone.now() - timedelta(**delta)


@pytest.fixture
def li_na(db):
    return CustomerFactory(name="Li Na", phone="+8613800138000", email="li.na@example.com")


@pytest.fixture
def previous(agent, li_na):
    """Li Na's complaint of ten days ago."""
    return receive_case(by=agent, customer=li_na, received_at=ago(days=10))


def text(response) -> str:
    return response.content.decode()


def public_form(**overrides) -> dict:
    """What Li Na types into the public complaint form."""
    return {
        "name": "Li Na",
        "phone": "138 0013 8000",
        "email": "",
        "category": "product_quality",
        "product": "",
        "order_number": "",
        "description": "Again the drum.",
        "desired_outcome": "A repair.",
        "website": "",
        **overrides,
    }


# ---------------------------------------------------------------- the flag, channel by channel


def test_a_complaint_logged_by_an_agent_is_flagged_a_repeat(client, agent, previous):
    client.force_login(agent)

    client.post("/intake/new/", intake_form())

    new = Case.objects.latest("pk")
    assert new.channel == Channel.PHONE
    assert new.repeat_of == previous


def test_a_complaint_sent_through_the_public_form_is_flagged_a_repeat(client, previous):
    client.post(
        "/complain/",
        public_form(),
    )

    new = Case.objects.latest("pk")
    assert new.channel == Channel.WEB_FORM
    assert new.repeat_of == previous


def test_a_complaint_emailed_in_is_flagged_a_repeat(client, previous):
    post(client, postmark(sender="li.na@example.com", subject="The drum again"), **auth())

    new = Case.objects.latest("pk")
    assert new.channel == Channel.EMAIL
    assert new.repeat_of == previous


def test_a_first_complaint_is_no_repeat(agent, li_na):
    assert receive_case(by=agent, customer=li_na).repeat_of is None


def test_another_customers_case_makes_no_repeat(agent, previous):
    assert receive_case(by=agent, customer=CustomerFactory()).repeat_of is None


def test_the_repeat_is_of_the_latest_earlier_case(agent, li_na, previous):
    latest = receive_case(by=agent, customer=li_na, received_at=ago(days=2))

    assert receive_case(by=agent, customer=li_na).repeat_of == latest


@pytest.mark.parametrize(
    "days,repeat", [(89, True), (90, True), (91, False)], ids=["89d", "90d", "91d"]
)
def test_the_window_is_ninety_days(agent, li_na, days, repeat):
    now = timezone.now()
    old = receive_case(by=agent, customer=li_na, received_at=now - timedelta(days=days))

    new = receive_case(by=agent, customer=li_na, received_at=now)

    assert (new.repeat_of == old) is repeat
    assert timedelta(days=90) == REPEAT_WINDOW


def test_a_closed_earlier_case_still_makes_a_repeat(agent, handler, after_sales, li_na, previous):
    walk(previous, to=Step.CLOSED, by=agent, department=after_sales, person=handler)

    assert receive_case(by=agent, customer=li_na).repeat_of == previous


# ---------------------------------------------------------------- backdating


def test_a_backdated_complaint_makes_the_customers_later_cases_within_90_days_repeats(agent, li_na):
    now = timezone.now()
    within = receive_case(by=agent, customer=li_na, received_at=now - timedelta(days=5))
    assert within.repeat_of is None

    backdated = receive_case(by=agent, customer=li_na, received_at=now - timedelta(days=25))

    within.refresh_from_db()
    assert within.repeat_of == backdated
    assert backdated.repeat_of is None


def test_a_backdated_complaint_between_two_cases_takes_its_place_in_the_chain(agent, li_na):
    now = timezone.now()
    first = receive_case(by=agent, customer=li_na, received_at=now - timedelta(days=60))
    last = receive_case(by=agent, customer=li_na, received_at=now)
    assert last.repeat_of == first

    between = receive_case(by=agent, customer=li_na, received_at=now - timedelta(days=20))

    last.refresh_from_db()
    assert between.repeat_of == first
    assert last.repeat_of == between


def test_a_backdated_complaint_leaves_cases_more_than_90_days_later_alone(agent, li_na):
    now = timezone.now()
    far = receive_case(by=agent, customer=li_na, received_at=now)
    unchanged_version = far.version

    receive_case(by=agent, customer=li_na, received_at=now - timedelta(days=95))

    far.refresh_from_db()
    assert far.repeat_of is None
    assert far.version == unchanged_version  # the flag is kept by the system: no edit conflict


# ---------------------------------------------------------------- merging


def test_a_merged_case_is_no_repeat_and_makes_none(agent, li_na, previous):
    duplicate = receive_case(by=agent, customer=li_na, received_at=ago(days=9))
    later = receive_case(by=agent, customer=li_na)
    assert (duplicate.repeat_of, later.repeat_of) == (previous, duplicate)

    case_merge(survivor=previous, absorbed=duplicate, by=agent, note="The same call twice.")

    duplicate.refresh_from_db()
    later.refresh_from_db()
    assert duplicate.repeat_of is None
    assert later.repeat_of == previous
    assert duplicate.events.last().changes["repeat_of"] == [previous.pk, None]


def test_after_a_merge_of_another_customers_case_their_later_cases_are_no_repeats(agent, previous):
    wang = CustomerFactory(name="Wang Fang")
    neighbour = receive_case(by=agent, customer=wang, received_at=ago(days=3))
    wangs_later = receive_case(by=agent, customer=wang)
    assert wangs_later.repeat_of == neighbour

    case_merge(survivor=previous, absorbed=neighbour, by=agent, note="Same order, her neighbour.")

    wangs_later.refresh_from_db()
    assert wangs_later.repeat_of is None


def test_the_flag_is_the_definition_stored(agent, handler, after_sales):
    """For cases not merged, ``repeat_of`` is set exactly when the customer has another case
    received in the 90 days before (computed here from the cases themselves, as reporting
    did before the flag), and reporting's ``repeat_q()`` reads the flag."""
    now = timezone.now()
    for customer, days in [
        (CustomerFactory(), [200, 100, 15, 14, 0]),
        (CustomerFactory(), [91, 0]),
        (CustomerFactory(), [30]),
        (CustomerFactory(), [3, 2, 1]),
    ]:
        for day in sorted(days, reverse=(customer.pk % 2 == 0)):  # some in backdated order
            receive_case(by=agent, customer=customer, received_at=now - timedelta(days=day))
    walk(Case.objects.first(), to=Step.CLOSED, by=agent, department=after_sales, person=handler)

    earlier = Case.objects.filter(
        customer_id=OuterRef("customer_id"),
        received_at__lt=OuterRef("received_at"),
        received_at__gte=OuterRef("received_at") - REPEAT_WINDOW,
    )
    flagged = set(Case.objects.filter(repeat_of__isnull=False).values_list("pk", flat=True))
    computed = set(Case.objects.filter(Exists(earlier)).values_list("pk", flat=True))
    reported = set(Case.objects.filter(repeat_q()).values_list("pk", flat=True))
    assert flagged == computed == reported
    assert len(flagged) == 5  # 15, 14 and 0 days (first customer); 2 and 1 (fourth)


def test_the_data_migration_fills_the_flag_in_one_update(agent, li_na, previous):
    later = receive_case(by=agent, customer=li_na)
    first = receive_case(by=agent, customer=CustomerFactory())
    Case.objects.update(repeat_of=None)
    migration = importlib.import_module("complaints.migrations.0010_repeats_and_merging")

    with CaptureQueriesContext(connection) as queries:
        migration.repeats_fill(apps, None)

    assert len(queries) == 1
    assert queries[0]["sql"].lstrip().upper().startswith("UPDATE")
    assert Case.objects.get(pk=later.pk).repeat_of == previous
    assert Case.objects.get(pk=previous.pk).repeat_of is None
    assert Case.objects.get(pk=first.pk).repeat_of is None


# ---------------------------------------------------------------- the New complaint screen


@pytest.fixture
def as_agent(client, agent):
    client.force_login(agent)
    return client


def hint_rows(html: str, testid: str) -> list[str]:
    if f'data-testid="{testid}"' not in html:
        return []
    section = html[html.index(f'data-testid="{testid}"') :]
    section = section[: section.index("</table>")]
    return [part.split('"', 1)[0] for part in section.split('data-reference="')[1:]]


def test_the_agent_is_told_of_the_customers_open_and_recent_cases(
    as_agent, agent, handler, after_sales, li_na
):
    old_open = receive_case(by=agent, customer=li_na, received_at=ago(days=200))
    old_closed = walk(
        receive_case(by=agent, customer=li_na, received_at=ago(days=150)),
        to=Step.CLOSED,
        by=agent,
        department=after_sales,
        person=handler,
    )
    recent_closed = walk(
        receive_case(by=agent, customer=li_na, received_at=ago(days=20)),
        to=Step.CLOSED,
        by=agent,
        department=after_sales,
        person=handler,
    )
    receive_case(by=agent, customer=CustomerFactory())

    html = text(as_agent.get(LOOKUP, {"phone": "138 0013 8000"}))

    rows = hint_rows(html, "customer-recent-cases")
    assert rows == [recent_closed.reference, old_open.reference]
    assert old_closed.reference not in html
    link = reverse("complaints:case_detail", args=[recent_closed.reference])
    assert f'href="{link}"' in html
    assert "Closed" in html and "Receive" in html and "Product quality" in html


def test_a_recent_case_merged_away_is_shown_with_where_it_went(as_agent, agent, li_na, previous):
    duplicate = receive_case(by=agent, customer=li_na)
    case_merge(survivor=previous, absorbed=duplicate, by=agent, note="Same.")

    html = text(as_agent.get(LOOKUP, {"email": "LI.NA@example.com"}))

    assert hint_rows(html, "customer-recent-cases") == [duplicate.reference, previous.reference]
    assert f"merged into {previous.reference}" in html


def test_an_unknown_customer_gets_no_hint(as_agent, previous):
    html = text(as_agent.get(LOOKUP, {"phone": "139 0000 0000"}))

    assert 'data-testid="customer-recent-cases"' not in html


def _queries(client, url: str, params: dict) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(queries)


def test_the_customer_hint_costs_the_same_queries_for_few_or_many_cases(as_agent, agent, li_na):
    receive_case(by=agent, customer=li_na)
    few = _queries(as_agent, LOOKUP, {"phone": "13800138000"})
    for day in range(15):
        receive_case(by=agent, customer=li_na, received_at=ago(days=day + 1))

    many = _queries(as_agent, LOOKUP, {"phone": "13800138000"})

    assert few == many


def test_typing_an_order_number_shows_the_other_open_complaints_about_it(as_agent, agent, li_na):
    same_order = receive_case(by=agent, customer=CustomerFactory(), order_number="SO-881")
    receive_case(by=agent, customer=CustomerFactory(), order_number="SO-8810")  # not exact
    mine = receive_case(by=agent, customer=li_na, order_number="SO-881", product="Kettle")

    html = text(as_agent.get(RELATED, {"order_number": " SO-881 ", "phone": "13800138000"}))

    assert hint_rows(html, "related-open-cases") == [mine.reference, same_order.reference]
    mine_row = html[html.index(f'data-reference="{mine.reference}"') :].split("</tr>")[0]
    assert "this customer" in mine_row


def test_typing_a_product_matches_it_whatever_the_case_of_its_letters(as_agent, agent):
    machine = receive_case(by=agent, product="Washing Machine W-200", order_number="")
    receive_case(by=agent, product="Washing machine W-2000", order_number="")

    html = text(as_agent.get(RELATED, {"product": "washing MACHINE w-200"}))

    assert hint_rows(html, "related-open-cases") == [machine.reference]


def test_closed_and_merged_complaints_are_not_among_the_open_ones(
    as_agent, agent, handler, after_sales, li_na, previous
):
    walk(
        receive_case(by=agent, order_number="SO-9"),
        to=Step.CLOSED,
        by=agent,
        department=after_sales,
        person=handler,
    )
    duplicate = receive_case(by=agent, customer=li_na, order_number="SO-9")
    case_merge(survivor=previous, absorbed=duplicate, by=agent, note="Same.")
    still_open = receive_case(by=agent, order_number="SO-9")

    html = text(as_agent.get(RELATED, {"order_number": "SO-9"}))

    assert hint_rows(html, "related-open-cases") == [still_open.reference]


def test_nothing_typed_shows_nothing(as_agent, previous):
    assert 'data-testid="related-open-cases"' not in text(as_agent.get(RELATED, {}))


def test_the_related_hint_costs_the_same_queries_for_few_or_many_cases(as_agent, agent):
    receive_case(by=agent, order_number="SO-5", product="Kettle")
    params = {"order_number": "SO-5", "product": "kettle", "phone": "13800138000"}
    few = _queries(as_agent, RELATED, params)
    for _n in range(12):
        receive_case(by=agent, order_number="SO-5", product="KETTLE")

    many = _queries(as_agent, RELATED, params)

    assert few == many


def test_the_hints_need_a_role_that_looks_customers_up(client, outsider, db):
    client.force_login(outsider)

    assert client.get(RELATED, {"order_number": "SO-1"}).status_code == 403


def test_the_hints_need_a_login(client, db):
    response = client.get(RELATED, {"order_number": "SO-1"})

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_the_intake_form_asks_for_the_related_hint_as_the_order_or_product_is_typed(as_agent):
    html = text(as_agent.get("/intake/new/"))

    for name in ("order_number", "product"):
        tag = html[html.index(f'name="{name}"') - 300 : html.index(f'name="{name}"') + 300]
        assert f'hx-get="{RELATED}"' in tag
    assert 'id="related-cases"' in html


@pytest.mark.pg
@postgresql_only("reads PostgreSQL's plan")
def test_the_product_hint_uses_its_partial_index_on_postgresql(agent):
    receive_case(by=agent, product="Kettle")
    qs = (
        Case.objects.exclude(step=Step.CLOSED)
        .filter(product__iexact="kettle", merged_into__isnull=True)
        .order_by("-received_at")
    )
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = qs.explain()
    assert "case_open_product" in plan
    assert open_cases_related(user=agent, product="KETTLE")


# ---------------------------------------------------------------- after receiving


def test_the_case_page_says_repeat_complaint_with_the_previous_case(
    as_agent, agent, li_na, previous
):
    new = receive_case(by=agent, customer=li_na)

    html = text(as_agent.get(reverse("complaints:case_detail", args=[new.reference])))

    notice = html[html.index('data-testid="repeat-of"') :].split("</article>")[0]
    assert "Repeat complaint: previous case" in notice
    assert reverse("complaints:case_detail", args=[previous.reference]) in notice


def test_a_first_complaint_says_no_repeat(as_agent, agent, li_na):
    new = receive_case(by=agent, customer=li_na)

    html = text(as_agent.get(reverse("complaints:case_detail", args=[new.reference])))

    assert 'data-testid="repeat-of"' not in html


def test_the_case_page_shows_the_related_open_cases(as_agent, agent, li_na, previous):
    same_order = receive_case(by=agent, customer=CustomerFactory(), order_number="SO-1")
    unrelated = receive_case(by=agent, customer=CustomerFactory(), order_number="X", product="Y")
    new = receive_case(by=agent, customer=li_na, order_number="SO-1", product="Z")

    html = text(as_agent.get(reverse("complaints:case_detail", args=[new.reference])))

    rows = hint_rows(html, "related-cases")
    assert set(rows) == {previous.reference, same_order.reference}
    assert new.reference not in rows and unrelated.reference not in rows


def test_the_public_form_and_email_get_the_flag_not_the_screen(client, previous):
    """Customers sending their complaint themselves are never shown another case."""
    response = client.post(
        "/complain/",
        public_form(order_number=previous.order_number),
        follow=True,
    )

    assert response.status_code == 200
    assert Case.objects.latest("pk").repeat_of == previous
    assert previous.reference not in text(response)
    assert Customer.objects.count() == 1
