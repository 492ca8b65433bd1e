"""The work lists as to-do lists (issue 14): My cases, To take, My department and All cases,
each sorted by the next deadline by default, with the time left, a subject line, who has the
case and why, the last activity and by whom; sortable column heads; filters that read "Any" and
date pickers that take ISO dates in every language; a constant number of queries."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from complaints import customer_actions, services
from complaints.filters import CaseFilter
from complaints.models import Case, Step

from ..factories import CustomerFactory, receive_case, walk

pytestmark = pytest.mark.django_db

MINE, TO_TAKE, DEPARTMENT, ALL = "/", "/cases/to-take/", "/cases/department/", "/cases/"


def rows(client, url: str) -> list[str]:
    """The references of a list's rows, in the order shown."""
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return re.findall(r'<tr[^>]* data-reference="([^"]+)"', response.content.decode())


def row(client, url: str, case: Case) -> str:
    """One case's row as shown, tags removed and spaces folded."""
    page = client.get(url).content.decode()
    found = re.search(rf'<tr[^>]* data-reference="{case.reference}">(.*?)</tr>', page, re.S)
    assert found, f"{case.reference} is not listed at {url}"
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split())


def unowned(case: Case) -> Case:
    """As a case sent through the public form: no one owns it yet."""
    Case.objects.filter(pk=case.pk).update(owner=None)
    case.refresh_from_db()
    return case


# ---------------------------------------------------------------- what is due first


def test_every_list_puts_the_next_deadline_first(client, agent):
    now = timezone.now()
    # Green is due in 48 hours, red at once: the red case received later is due first.
    green = receive_case(by=agent, urgency="green", received_at=now - timedelta(hours=1))
    red = receive_case(by=agent, urgency="red", received_at=now)
    late = receive_case(by=agent, urgency="yellow", received_at=now - timedelta(days=3))
    client.force_login(agent)
    expected = [late.reference, red.reference, green.reference]
    assert rows(client, MINE) == expected
    assert rows(client, ALL) == expected


def test_cases_without_a_deadline_come_after_those_with_one_newest_first(
    client, agent, handler, after_sales
):
    now = timezone.now()
    closed_old, closed_new = (
        walk(
            receive_case(by=agent, received_at=now - timedelta(days=days)),
            to=Step.CLOSED,
            by=agent,
            department=after_sales,
            person=handler,
        )
        for days in (9, 8)
    )
    open_case = receive_case(by=agent)
    client.force_login(agent)
    assert rows(client, ALL) == [open_case.reference, closed_new.reference, closed_old.reference]


def test_the_time_left_or_how_long_overdue_is_shown(client, agent):
    now = timezone.now()
    late = receive_case(by=agent, received_at=now - timedelta(days=3))
    fresh = receive_case(by=agent, received_at=now)
    client.force_login(agent)
    assert re.search(r"overdue by \d+ days?", row(client, MINE, late))
    assert re.search(r" (23 hours|1 day)(, \d+ minutes?)? left ", row(client, MINE, fresh))


# ---------------------------------------------------------------- what each row says


def test_a_row_shows_the_first_words_of_what_happened(client, agent):
    story = "The washing machine's drum came loose on the first spin and flooded the kitchen " * 3
    case = receive_case(by=agent, description=story)
    client.force_login(agent)
    shown = row(client, MINE, case)
    assert "The washing machine's drum came loose on the first spin" in shown
    assert story.strip() not in shown  # cut short: a subject line, not the whole story


def test_a_row_shows_the_last_activity_and_who_did_it(client, agent, other_agent):
    case = receive_case(by=agent)
    client.force_login(agent)
    assert re.search(rf"\d+ minutes? ago {agent} · Received", row(client, MINE, case))
    services.case_add_note(case=case, by=agent, body="Called the depot.")
    assert f"{agent} · Internal note" in row(client, MINE, case)


def test_the_customer_writing_is_the_last_activity_and_marks_waiting_on_us(client, agent):
    case = receive_case(by=agent)
    customer_actions.case_customer_message(case=case, body="Any news?")
    client.force_login(agent)
    shown = row(client, MINE, case)
    assert "waiting on us" in shown
    assert "the customer · Message from the customer" in shown


def test_a_handlers_row_says_they_are_responsible_and_who_owns_it(
    client, agent, handler, after_sales
):
    case = walk(
        receive_case(by=agent), to=Step.ACT, by=agent, department=after_sales, person=handler
    )
    client.force_login(handler)
    shown = row(client, MINE, case)
    assert f"{agent} owner You responsible After-sales" in shown


def test_an_owners_row_says_it_is_theirs(client, agent):
    case = receive_case(by=agent)
    client.force_login(agent)
    assert " You owner " in row(client, MINE, case)


# ---------------------------------------------------------------- the tabs


def test_to_take_lists_the_open_cases_no_one_owns(client, agent, handler, after_sales):
    waiting = unowned(receive_case(by=agent))
    taken = receive_case(by=agent)
    closed = unowned(
        walk(
            receive_case(by=agent), to=Step.CLOSED, by=agent, department=after_sales, person=handler
        )
    )
    client.force_login(agent)
    shown = rows(client, TO_TAKE)
    assert shown == [waiting.reference]
    assert taken.reference not in shown and closed.reference not in shown


def test_to_take_is_for_those_who_may_take_cases(client, handler):
    client.force_login(handler)
    assert client.get(TO_TAKE).status_code == 403
    assert 'data-testid="tab-to_take"' not in client.get(MINE).content.decode()


def test_my_department_lists_its_open_cases(client, agent, handler, after_sales, logistics):
    ours = walk(
        receive_case(by=agent), to=Step.DECIDE, by=agent, department=after_sales, person=handler
    )
    theirs = receive_case(by=agent)
    services.case_assign(case=theirs, by=agent, department=logistics)
    unrouted = receive_case(by=agent)
    client.force_login(handler)
    assert rows(client, DEPARTMENT) == [ours.reference]
    assert theirs.reference not in rows(client, DEPARTMENT)
    assert unrouted.reference not in rows(client, DEPARTMENT)


def test_someone_in_no_department_has_no_department_tab(client, agent):
    client.force_login(agent)
    assert client.get(DEPARTMENT).status_code == 403
    page = client.get(MINE).content.decode()
    assert 'data-testid="tab-department"' not in page
    assert 'data-testid="tab-to_take"' in page


def test_the_current_tab_is_marked(client, handler):
    client.force_login(handler)
    page = client.get(DEPARTMENT).content.decode()
    assert re.search(r'href="/cases/department/" aria-current="page"', page)
    assert "<title>My department · Heed</title>" in page


def test_filters_apply_within_a_tab(client, agent):
    red = unowned(receive_case(by=agent, urgency="red"))
    unowned(receive_case(by=agent, urgency="green"))
    client.force_login(agent)
    assert rows(client, f"{TO_TAKE}?urgency=red") == [red.reference]


# ---------------------------------------------------------------- sorting by the column heads


def test_urgency_sorts_red_first_not_by_the_alphabet(client, agent):
    now = timezone.now()
    by_urgency = {
        u: receive_case(by=agent, urgency=u, received_at=now - timedelta(minutes=i))
        for i, u in enumerate(["yellow", "green", "red"])
    }
    client.force_login(agent)
    red, yellow, green = (by_urgency[u].reference for u in ("red", "yellow", "green"))
    assert rows(client, f"{MINE}?ordering=urgency") == [red, yellow, green]
    assert rows(client, f"{MINE}?ordering=-urgency") == [green, yellow, red]


def test_step_sorts_in_the_lifecycles_order(client, agent, handler, after_sales):
    at = {}
    for step in (Step.ANALYSE, Step.RECEIVE, Step.LISTEN):
        at[step] = walk(
            receive_case(by=agent), to=step, by=agent, department=after_sales, person=handler
        ).reference
    client.force_login(agent)
    assert rows(client, f"{ALL}?ordering=step") == [
        at[Step.RECEIVE],
        at[Step.LISTEN],
        at[Step.ANALYSE],
    ]


def test_a_column_head_sorts_and_then_sorts_the_other_way(client, agent):
    receive_case(by=agent)
    client.force_login(agent)
    page = client.get(f"{ALL}?urgency=yellow&page=1").content.decode()
    head = re.search(
        r'<th scope="col" aria-sort="none"><a href="([^"]+)" data-testid="sort-customer"', page
    )
    assert head and unescape(head.group(1)) == "?urgency=yellow&ordering=customer"
    assert 'aria-sort="ascending"><a href="?urgency=yellow&amp;ordering=-due"' in page  # default
    page = client.get(f"{ALL}?ordering=customer").content.decode()
    assert 'aria-sort="ascending"><a href="?ordering=-customer" data-testid="sort-customer"' in page


def test_an_unknown_sort_is_refused_with_a_clear_error(client, agent):
    receive_case(by=agent)
    client.force_login(agent)
    response = client.get(f"{ALL}?ordering=salary")
    assert response.status_code == 200
    assert rows(client, f"{ALL}?ordering=salary") == []
    assert "Select a valid choice." in response.content.decode()


# ---------------------------------------------------------------- the filter form


def test_the_filters_empty_choices_read_any(client, agent):
    client.force_login(agent)
    page = client.get(ALL).content.decode()
    assert "---------" not in page
    assert ">Unknown<" not in page
    assert '<option value="unknown" selected>Any</option>' in page


def test_received_between_is_a_pair_of_date_pickers_with_iso_values_in_chinese():
    with translation.override("zh-hans"):
        form = CaseFilter({"received_after": "2026-12-01", "received_before": "2026-12-19"}).form
        html = str(form["received"])
    assert 'type="date" name="received_after" value="2026-12-01"' in html
    assert 'type="date" name="received_before" value="2026-12-19"' in html
    assert 'aria-label="从"' in html and 'aria-label="至"' in html


# ---------------------------------------------------------------- queries


@pytest.mark.parametrize("url", [MINE, TO_TAKE, ALL])
def test_a_list_reads_the_same_number_of_queries_for_2_or_20_rows(client, agent, url):
    def count() -> int:
        client.force_login(agent)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    def add(n: int) -> None:
        for _ in range(n):
            case = receive_case(by=agent, customer=CustomerFactory())
            services.case_add_note(case=case, by=agent, body="Checked the stock.")
            if url == TO_TAKE:
                unowned(case)

    add(2)
    few = count()
    add(18)
    assert count() == few
    assert len(rows(client, url)) == 20


def test_the_reports_list_of_cases_shows_the_same_rows(client, agent, quality_manager):
    case = receive_case(by=agent)
    client.force_login(quality_manager)
    page = client.get(reverse("reporting:cases")).content.decode()
    assert f'data-reference="{case.reference}"' in page
    assert 'data-testid="last-activity"' in page
    assert 'data-testid="sort-due"' not in page  # the report's order is its own


# ---------------------------------------------------------------- the header's search box


def test_a_whole_reference_typed_in_the_header_opens_its_case(client, agent):
    case = receive_case(by=agent)
    client.force_login(agent)
    response = client.get("/search/", {"q": f"  {case.reference.lower()} "})
    assert response.status_code == 302
    assert response.url == f"/cases/{case.reference}/"


@pytest.mark.parametrize("typed", ["+86 139 1111 2222", "Quenby", "fridge leaks", "C202612"])
def test_anything_else_typed_lists_the_matching_cases(client, agent, typed):
    found = receive_case(
        by=agent,
        description="The fridge leaks water.",
        customer=CustomerFactory(name="Xylo Quenby", phone="+8613911112222"),
    )
    receive_case(by=agent)
    client.force_login(agent)
    response = client.get("/search/", {"q": typed}, follow=True)
    assert response.redirect_chain[0][0].startswith("/cases/?q=")
    shown = re.findall(r'<tr[^>]* data-reference="([^"]+)"', response.content.decode())
    assert found.reference in shown
    if typed != "C202612":
        assert shown == [found.reference]


def test_an_empty_search_lists_all_cases(client, agent):
    client.force_login(agent)
    response = client.get("/search/", {"q": "  "})
    assert response.status_code == 302 and response.url == "/cases/"


def test_the_search_box_is_in_every_staff_page_header_not_the_customers(client, agent):
    client.force_login(agent)
    assert 'data-testid="header-search"' in client.get("/cases/").content.decode()
    client.logout()
    assert 'data-testid="header-search"' not in client.get("/complain/").content.decode()


def test_someone_without_a_role_cannot_search(client, outsider):
    client.force_login(outsider)
    assert client.get("/search/", {"q": "C202612-00001"}).status_code == 403
