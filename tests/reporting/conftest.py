"""The reports' known set of cases ("the world"), built through the real services with the clock
placed by time-machine, in Asia/Shanghai (UTC+8), so that every KPI can be checked against a
value computed by hand from the table below.

NOW is Friday 27 March 2026, 10:00 in Shanghai. The sweep ran at Wed 4 Mar 12:00 and at NOW.
The default policy is 1/3/7 calendar days; red urgency is 8 h / 2 d / 5 d.

| name     | received (Shanghai) | channel      | category             | product               |
|----------|---------------------|--------------|----------------------|-----------------------|
| quick    | Mon 2 Mar 10:00     | phone        | product_quality      | Washing machine W-200 |
| late     | Mon 2 Mar 11:00     | email        | service_process      | Fridge F-1            |
| sun      | Sun 8 Mar 23:30     | web_form     | price_billing        | —                     |
| mon      | Mon 9 Mar 00:30     | phone        | price_billing        | Fridge F-1            |
| reopen   | Mon 23 Mar 09:00    | phone        | product_quality      | Washing machine W-200 |
| external | Wed 25 Mar 09:00    | social_media | service_attitude     | —                     |
| manual   | Wed 25 Mar 14:00    | letter       | misleading_promotion | Promo P-1             |
| approval | Thu 26 Mar 08:00    | phone        | product_quality      | Washing machine W-200 |
| followup | Thu 26 Mar 09:00    | dealer       | safety               | Heater H-9            |

| name     | urgency | dept | validity | root cause     | remedies             | value | at NOW    |
|----------|---------|------|----------|----------------|----------------------|-------|-----------|
| quick    | yellow  | A    | valid    | materials      | repair, apology      | 120   | closed    |
| late     | yellow  | A    | valid    | process        | partial_refund       | 200   | closed    |
| sun      | green   | —    | —        | —              | —                    | —     | listen    |
| mon      | yellow  | L    | invalid  | misunderstand. | —                    | —     | closed    |
| reopen   | yellow  | A    | valid    | materials      | replacement, apology | 300   | act, rd 1 |
| external | yellow  | —    | —        | —              | —                    | —     | analyse   |
| manual   | green   | L    | valid    | people         | voucher              | 50    | act       |
| approval | yellow  | A    | valid    | materials      | full_refund          | 1000  | decide    |
| followup | red     | A    | valid    | equipment      | repair, apology      | 120   | follow_up |

A is After-sales, L is Logistics. ``external`` was received by the After-sales department head
and has no responsible department yet; ``sun`` was received by the agent (no department).

* quick: walked to closed in half an hour; rating 5, handling 4, "Happy.".
* late: still at Analyse when the sweep of Wed 4 Mar breached its 1-day limit (escalated
  0→1), then closed at 13:00 the same day: rating 2, handling 1, "Took far too long.".
* sun and mon: 23:30 and 00:30 local, one UTC hour apart on the same UTC day (Sun 8 Mar),
  different local days and weeks. sun is left at Listen: the final sweep breaches its four
  limits, the first response among them (0→1→2→3→3). mon is found not valid and closed within
  the hour (rating 3, no comment).
* reopen: at Follow up within the hour, the customer not satisfied (rating 2, "Still
  broken.") → reopened at 11:00 (round 0's 7-day deadline superseded unbreached; escalated
  0→1, dissatisfied); round 1 reached Act on Tue 24 10:00, in time for its 1-day limit, and
  its 3-day limit (Thu 26 11:00) is breached by the final sweep (1→2), and so is its first
  response (a reopened round begins past Listen: only a message or a contact answers it).
* external: referred to external review by the quality manager (0→4, manual); the final
  sweep breaches its 1-day limit without escalating (tier 4).
* manual: at Act, escalated by hand by the agent (0→1).
* approval: a 1000 remedy above the agent's authority waits for approval (0→1, authority);
  the final sweep breaches its 1-day limit (1→2).
* followup: red urgency, at Follow up with no answer yet: its 5-day limit is still open; its
  first response (2 hours) was met late, when it left Listen 3 hours after receipt.

Every case but reopen's new round meets its first response by leaving Listen (no case here has
a message to the customer or a recorded contact).

Customers: ``sun``'s customer complained 89 days before it (``x0``, closed in December),
``mon``'s 91 days before it (``y0``); ``followup``'s customer is ``quick``'s. The reports'
scope in the selector tests is "received in March" (``world.scope``): x0 and y0 are outside.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.signals import request_started
from django.db import transaction
from django.db.models import QuerySet
from django.test import override_settings

from complaints import services
from complaints.models import Case, Customer, Department, Step, User
from complaints.roles import Role
from escalation.approvals import approval_request
from escalation.services import case_escalate_manually, case_refer_external
from escalation.sweep import sweep
from tests.factories import (
    FORWARD,
    CustomerFactory,
    DepartmentFactory,
    receive_case,
    staff,
    step_data,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A moment on Shanghai's wall clock."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


NOW = local(2026, 3, 27, 10, 0)
MARCH = local(2026, 3, 1)


def received(by: User, at: datetime, **overrides) -> Case:
    """A case logged through the intake service with the clock at ``at``."""
    with time_machine.travel(at, tick=False):
        return receive_case(by=by, received_at=at, **overrides)


def moved(case: Case, to: str, at: datetime, *, by: User, data: dict | None = None) -> Case:
    """One move through ``case_transition`` with the clock at ``at``."""
    with time_machine.travel(at, tick=False):
        services.case_transition(case=case, to=to, by=by, data=data or {})
    return case


def walked(
    case: Case,
    to: str,
    at: datetime,
    *,
    by: User,
    department: Department,
    person: User,
    valid: bool = True,
    **data_by_step: dict,
) -> Case:
    """Move a case forward step by step until ``to``, all at ``at``, with ``step_data``'s data
    for each move updated by ``data_by_step`` (e.g. ``decide={"remedy_value": ...}``). A case
    found not valid goes from Decide straight to Confirm."""
    order = list(Step.values)
    while order.index(case.step) < order.index(to):
        source = case.step
        target = FORWARD[source]
        if source == Step.DECIDE and not valid:
            target = Step.CONFIRM
        data = {
            **step_data(source, department=department, person=person, valid=valid),
            **data_by_step.get(source, {}),
        }
        moved(case, target, at, by=by, data=data)
    return case


def swept(at: datetime) -> None:
    with time_machine.travel(at, tick=False):
        sweep()


@dataclass
class World:
    cases: dict[str, Case]
    earlier: dict[str, Case]
    after_sales: Department
    logistics: Department
    people: dict[str, User]
    now: datetime = NOW
    customers: dict[str, Customer] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Case:
        try:
            return self.__dict__["cases"][name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def scope(self) -> QuerySet[Case]:
        """The cases received in March (the world without the two December cases)."""
        return Case.objects.filter(received_at__gte=MARCH)

    def refs(self, *names: str) -> set[str]:
        return {self.cases[name].reference for name in names}


def seeds_restored() -> None:
    """What the migrations seed (roles, policies, limits, schedules), back if a transactional
    test elsewhere flushed it: ``tests/conftest.py`` does this per test, after module-scoped
    fixtures like the world have already run."""
    from django.contrib.auth.models import Group, Permission

    from escalation.defaults import defaults_seed, editors_grant
    from escalation.models import AuthorityLimit, Policy, ScheduledJob
    from tests.factories import roles_restore
    from webhooks.defaults import jobs_seed

    if not Policy.objects.filter(is_default=True).exists():
        roles_restore()
        defaults_seed(policy_model=Policy, limit_model=AuthorityLimit, job_model=ScheduledJob)
        editors_grant(group_model=Group, permission_model=Permission)
        jobs_seed(job_model=ScheduledJob)


def people_made() -> dict[str, User]:
    """The shared personas (``tests/conftest.py``: same usernames, roles and departments)."""
    after_sales = DepartmentFactory(name="After-sales", code="after-sales")
    logistics = DepartmentFactory(name="Logistics", code="logistics")
    return {
        "agent": staff(Role.AGENT, username="agent"),
        "handler": staff(Role.HANDLER, after_sales, username="handler"),
        "department_head": staff(Role.DEPARTMENT_HEAD, after_sales, username="head"),
        "foreign_handler": staff(Role.HANDLER, logistics, username="foreign_handler"),
        "quality_manager": staff(Role.QUALITY_MANAGER, username="quality"),
        "general_manager": staff(Role.GENERAL_MANAGER, username="gm"),
    }


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """The world, built once per test module inside a transaction that is rolled back after
    the module's last test (each test runs in a savepoint of it, as usual). Modules that use it
    should use it in every test (``pytest.mark.usefixtures("world")``) and take the personas
    from it (see ``persona``), since its rows exist for the whole module."""
    with (
        override_settings(TIME_ZONE="Asia/Shanghai"),
        django_db_blocker.unblock(),
        transaction.atomic(),
    ):
        seeds_restored()
        built = world_built(people_made())
        yield built
        transaction.set_rollback(True)


def persona(name: str):
    """A module-level fixture overriding a shared persona with the world's (same username)."""

    @pytest.fixture(name=name)
    def _persona(world: World) -> User:
        return User.objects.get(pk=world.people[name].pk)

    return _persona


def world_built(people: dict[str, User]) -> World:
    agent, handler = people["agent"], people["handler"]
    department_head, foreign_handler = people["department_head"], people["foreign_handler"]
    quality_manager = people["quality_manager"]
    after_sales, logistics = handler.department, foreign_handler.department
    a, lg = after_sales, logistics
    in_a = {"by": agent, "department": a, "person": handler}
    in_l = {"by": agent, "department": lg, "person": foreign_handler}
    x, y, z = CustomerFactory(), CustomerFactory(), CustomerFactory()
    sun_at, mon_at = local(2026, 3, 8, 23, 30), local(2026, 3, 9, 0, 30)

    # December: the earlier complaints of sun's and mon's customers, closed at once.
    x0 = received(agent, sun_at - timedelta(days=89), customer=x)
    walked(x0, Step.CLOSED, x0.received_at + timedelta(minutes=30), **in_a)
    y0 = received(agent, mon_at - timedelta(days=91), customer=y)
    walked(y0, Step.CLOSED, y0.received_at + timedelta(minutes=30), **in_a)

    quick = received(agent, local(2026, 3, 2, 10), customer=z)
    walked(
        quick,
        Step.CLOSED,
        local(2026, 3, 2, 10, 30),
        **in_a,
        follow_up={"satisfaction_rating": 5, "handling_rating": 4, "follow_up_comment": "Happy."},
    )

    late = received(
        agent,
        local(2026, 3, 2, 11),
        channel="email",
        category="service_process",
        product="Fridge F-1",
    )
    walked(late, Step.ANALYSE, local(2026, 3, 2, 11, 30), **in_a)
    swept(local(2026, 3, 4, 12))  # its 1-day limit (Tue 3 Mar 11:00) is breached: 0→1
    walked(
        late,
        Step.CLOSED,
        local(2026, 3, 4, 13),
        **in_a,
        analyse={"root_cause_category": "process"},
        decide={"remedy_types": ["partial_refund"], "remedy_value": Decimal("200")},
        follow_up={
            "satisfaction_rating": 2,
            "handling_rating": 1,
            "follow_up_comment": "Took far too long.",
        },
    )

    sun = received(
        agent,
        sun_at,
        customer=x,
        channel="web_form",
        category="price_billing",
        product="",
        urgency="green",
    )
    walked(sun, Step.LISTEN, local(2026, 3, 8, 23, 40), **in_a)

    mon = received(agent, mon_at, customer=y, category="price_billing", product="Fridge F-1")
    walked(
        mon,
        Step.CLOSED,
        local(2026, 3, 9, 1),
        **in_l,
        valid=False,
        follow_up={"satisfaction_rating": 3, "follow_up_comment": ""},
    )

    reopen = received(agent, local(2026, 3, 23, 9))
    walked(reopen, Step.FOLLOW_UP, local(2026, 3, 23, 10), **in_a)
    moved(
        reopen,
        Step.ANALYSE,
        local(2026, 3, 23, 11),
        by=agent,
        data={"satisfaction_rating": 2, "follow_up_comment": "Still broken."},
    )
    walked(
        reopen,
        Step.ACT,
        local(2026, 3, 24, 10),
        **in_a,
        decide={"remedy_types": ["replacement", "apology"], "remedy_value": Decimal("300")},
    )

    external = received(
        department_head,
        local(2026, 3, 25, 9),
        channel="social_media",
        category="service_attitude",
        product="",
    )
    walked(
        external,
        Step.ANALYSE,
        local(2026, 3, 25, 9, 30),
        by=department_head,
        department=a,
        person=handler,
    )
    with time_machine.travel(local(2026, 3, 25, 10), tick=False):
        case_refer_external(
            case=external, by=quality_manager, reviewer="Consumer association", reason="Stuck."
        )

    manual = received(
        agent,
        local(2026, 3, 25, 14),
        channel="letter",
        category="misleading_promotion",
        product="Promo P-1",
        urgency="green",
    )
    walked(
        manual,
        Step.ACT,
        local(2026, 3, 25, 15),
        **in_l,
        analyse={"root_cause_category": "people"},
        decide={"remedy_types": ["voucher"], "remedy_value": Decimal("50")},
    )
    with time_machine.travel(local(2026, 3, 25, 15, 30), tick=False):
        case_escalate_manually(case=manual, by=agent, note="The customer went to the press.")

    approval = received(agent, local(2026, 3, 26, 8))
    walked(approval, Step.DECIDE, local(2026, 3, 26, 9), **in_a)
    with time_machine.travel(local(2026, 3, 26, 9, 30), tick=False):
        services.case_update(
            case=approval,
            by=agent,
            data={
                "remedy_types": ["full_refund"],
                "remedy_value": Decimal("1000"),
                "remedy_plan": "Refund in full.",
            },
        )
        approval_request(case=approval, by=agent, note="Above my authority.")

    followup = received(
        agent,
        local(2026, 3, 26, 9),
        customer=z,
        channel="dealer",
        category="safety",
        product="Heater H-9",
        urgency="red",
    )
    walked(
        followup,
        Step.FOLLOW_UP,
        local(2026, 3, 26, 12),
        **in_a,
        analyse={"root_cause_category": "equipment"},
    )

    swept(NOW)

    cases = {
        "quick": quick,
        "late": late,
        "sun": sun,
        "mon": mon,
        "reopen": reopen,
        "external": external,
        "manual": manual,
        "approval": approval,
        "followup": followup,
    }
    for case in [*cases.values(), x0, y0]:
        case.refresh_from_db()
    return World(
        cases=cases,
        earlier={"x0": x0, "y0": y0},
        after_sales=a,
        logistics=lg,
        people=people,
        customers={"x": x, "y": y, "z": z},
    )


class RollupFirst:
    """Before each request, bring the daily rollup up to date (``reporting.rollup``), as the
    Celery job does every minute; the first request builds it. ``paused()`` stops that for a
    block whose queries are being counted."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._paused = False

    def __call__(self, **kwargs) -> None:
        if not self._paused:
            self.catch_up()

    def catch_up(self) -> None:
        from reporting.rollup import rollup_catch_up

        if self.enabled:
            rollup_catch_up()

    @contextmanager
    def paused(self):
        self._paused = True
        try:
            yield
        finally:
            self._paused = False


@pytest.fixture(params=["cases", "rollup"])
def figures_from(request):
    """Each test of the reports over HTTP twice: with the figures computed from the cases,
    and read from the daily rollup (which must give the same figures)."""
    hook = RollupFirst(enabled=request.param == "rollup")
    if hook.enabled:
        request_started.connect(hook)
    yield hook
    request_started.disconnect(hook)
