"""The volume benchmarks' data set: a year of a real organisation's complaints.

100,000 cases (``HEED_BENCH_CASES`` to change it) received evenly over the last 365 days, 30 %
still open (every case of the last two weeks, a quarter of the older ones, as a backlog
builds), across 8 departments and 50 agents; about 1,000 repeat customers with five cases
each, the rest with one; two or three events per case (received, the step it reached, closed);
for the open cases their round-0 deadlines of the default 1/3/7-day policy (those past due
breached and escalated, as the sweep would have left them), a tracking link each, the repeat
flags as intake writes them. Descriptions are drawn from English and Chinese sentences, so a
word such as "refund" matches about 4 % of the cases, as real searches do.

Written once with ``COPY`` (``tests.bench.copy``) into its own database, ``test_<name>_volume``,
and kept there between runs: ``dataset_ensure`` builds it when the database has none or one of
another ``VERSION`` or size, else returns at once. Every benchmark of this folder runs in a
transaction that is rolled back, so the data set stays as built.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace

from django.db import connection
from django.utils import timezone

from complaints.models import (
    Case,
    CaseEvent,
    Category,
    Channel,
    Customer,
    Department,
    Ending,
    Step,
    TrackingToken,
    Urgency,
    User,
    tracking_digest,
)
from complaints.roles import Role
from complaints.search import search_document
from escalation.models import MILESTONE_STEP, Deadline, Milestone, Policy
from tests.factories import staff

from ..copy import copy_rows

# Bump when what the generator writes changes: the next run rebuilds.
VERSION = 5
CASES = int(os.environ.get("HEED_BENCH_CASES", "100000"))
REPEAT_CUSTOMERS = 1_000
CASES_PER_REPEAT_CUSTOMER = 5
AGENTS = 50
DEPARTMENTS = 8
HANDLERS_PER_DEPARTMENT = 4
SEED = 20261206

ENGLISH = [
    "The drum of the washing machine is loud when it spins.",
    "The delivery came three days late and nobody called.",
    "I was charged twice for the same order, please refund the second payment.",
    "The engineer did not come at the agreed time.",
    "The door seal leaks water onto the kitchen floor.",
    "The staff at the counter were rude to my mother.",
    "The screen went black a week after the repair.",
    "The promotion said free installation but I was billed for it.",
    "The spare part has been out of stock for a month.",
    "The invoice shows a price higher than the one in the shop.",
    "The fridge stops cooling at night.",
    "My complaint from last month was never answered.",
]
CHINESE = [
    "洗衣机脱水时噪音很大。",
    "送货晚了三天，也没有人打电话。",  # noqa: RUF001 (Chinese punctuation)
    "同一个订单扣了两次款，请退款。",  # noqa: RUF001 (Chinese punctuation)
    "维修人员没有按约定时间上门。",
    "冰箱晚上不制冷。",
    "柜台工作人员态度很差。",
    "发票上的价格比店里标的高。",
    "配件缺货一个月了。",
]
OUTCOMES = ["A repair.", "A replacement.", "My money back.", "An apology.", "退款。", "换货。"]
PRODUCTS = [
    "Washing machine W-200",
    "Fridge F-310",
    "Dishwasher D-90",
    "Television T-55",
    "Air conditioner A-12",
    "洗衣机 W-200",
    "",
]
FAMILY = ["Wang", "Li", "Zhang", "Liu", "Chen", "Smith", "Brown", "Garcia", "Müller", "Kim"]
GIVEN = ["Wei", "Na", "Min", "Jun", "Lei", "Anna", "James", "Maria", "Tom", "Yuki", "Omar"]
CHINESE_NAMES = ["王伟", "李娜", "张敏", "刘军", "陈磊", "杨静", "赵强", "黄丽"]
OPEN_STEPS = [s for s in Step.values if s != Step.CLOSED]
# A case's share of the open ones at each step (the early steps hold most).
OPEN_STEP_WEIGHTS = [18, 14, 20, 16, 14, 10, 8]
ENDINGS = [Ending.RATED] * 8 + [Ending.UNREACHABLE, Ending.WITHDRAWN]


@dataclass(frozen=True)
class Dataset:
    cases: int
    open_cases: int
    agent: User  # an agent who owns cases (My cases)
    head: User  # a department head (the department's view)
    manager: User  # sees and works every case
    department: Department


def token_for(index: int) -> str:
    """The tracking token of the data set's ``index``-th case (the digest alone is stored)."""
    return f"bench_{index:037d}"  # 43 characters, as a real token


def _state() -> tuple[int, int] | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_dataset (version integer, cases integer, "
            "built_at timestamptz)"
        )
        cursor.execute("SELECT version, cases FROM bench_dataset")
        row = cursor.fetchone()
    return row


def _people() -> tuple[list[User], list[Department], dict[int, list[User]], User, User]:
    departments = [
        Department.objects.get_or_create(name=f"Bench department {d}", defaults={"code": f"B{d}"})[
            0
        ]
        for d in range(DEPARTMENTS)
    ]
    agents = [
        User.objects.filter(username=f"bench-agent-{a}").first()
        or staff(Role.AGENT, username=f"bench-agent-{a}")
        for a in range(AGENTS)
    ]
    handlers = {
        department.pk: [
            User.objects.filter(username=f"bench-handler-{d}-{h}").first()
            or staff(Role.HANDLER, department, username=f"bench-handler-{d}-{h}")
            for h in range(HANDLERS_PER_DEPARTMENT)
        ]
        for d, department in enumerate(departments)
    }
    head = User.objects.filter(username="bench-head").first() or staff(
        Role.DEPARTMENT_HEAD, departments[0], username="bench-head"
    )
    manager = User.objects.filter(username="bench-manager").first() or staff(
        Role.QUALITY_MANAGER, username="bench-manager"
    )
    return agents, departments, handlers, head, manager


def dataset_ensure() -> Dataset:
    """The data set, built first if the database does not hold this version at this size."""
    agents, departments, handlers, head, manager = _people()
    if _state() != (VERSION, CASES):
        _build(agents=agents, departments=departments, handlers=handlers)
    return Dataset(
        cases=Case.objects.count(),
        open_cases=Case.objects.exclude(step=Step.CLOSED).count(),
        agent=agents[0],
        head=head,
        manager=manager,
        department=departments[0],
    )


def _wipe() -> None:
    tables = [
        model._meta.db_table for model in (Deadline, TrackingToken, CaseEvent, Case, Customer)
    ]
    quoted = ", ".join(connection.ops.quote_name(t) for t in tables)
    with connection.cursor() as cursor:
        # TRUNCATE, not DELETE: the event log's append-only trigger refuses row deletes, and
        # this database is the benchmarks' own. CASCADE takes what else points at cases.
        cursor.execute(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")
        cursor.execute("DELETE FROM bench_dataset")


def _build(*, agents, departments, handlers) -> None:
    rng = random.Random(SEED)
    now = timezone.now()
    _wipe()
    repeat_cases = REPEAT_CUSTOMERS * CASES_PER_REPEAT_CUSTOMER
    single = CASES - repeat_cases
    customers = single + REPEAT_CUSTOMERS

    def customer_row(i: int) -> dict:
        chinese = i % 3 == 0
        name = (
            f"{rng.choice(CHINESE_NAMES)}{i % 97}"
            if chinese
            else f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}"
        )
        return {
            "name": name,
            "phone": f"+86139{i:08d}",
            "email": f"customer{i}@example.com" if i % 2 == 0 else "",
            "language": "zh-hans" if chinese else "en",
            "created_at": now - timedelta(days=400),
        }

    copy_rows(Customer, (customer_row(i) for i in range(customers)))
    first_customer = Customer.objects.order_by("pk").values_list("pk", flat=True).first()
    # Cases in the order received: case i of the CASES is received at an even step over the
    # year; the repeat customers' cases are spread through it.
    repeat_slots = set(rng.sample(range(CASES), repeat_cases))
    repeat_owner = iter(
        rng.sample(
            [c for c in range(single, customers) for _ in range(CASES_PER_REPEAT_CUSTOMER)],
            repeat_cases,
        )
    )
    single_owner = iter(range(single))
    span = timedelta(days=365)
    policy = Policy.objects.get(is_default=True)
    plans: list[dict] = []
    for i in range(CASES):
        received_at = now - span + span * (i + 0.5) / CASES
        age = now - received_at
        is_open = age < timedelta(days=14) or rng.random() < 0.25
        customer = next(repeat_owner) if i in repeat_slots else next(single_owner)
        english = rng.random() < 0.7
        text = " ".join(rng.sample(ENGLISH, 2)) if english else "".join(rng.sample(CHINESE, 2))
        department = rng.choice(departments)
        plan = {
            "reference": f"C{received_at:%Y%m}-B{i:06d}",
            "customer_id": first_customer + customer,
            "channel": rng.choice(Channel.values),
            "category": rng.choice(Category.values),
            "urgency": rng.choices(Urgency.values, weights=(1, 4, 5))[0],
            "product": rng.choice(PRODUCTS),
            "order_number": f"SO-{rng.randrange(10**7):07d}" if rng.random() < 0.6 else "",
            "description": text,
            "desired_outcome": rng.choice(OUTCOMES),
            "received_at": received_at,
            "created_at": received_at,
            "updated_at": received_at,
            "receiver_id": rng.choice(agents).pk,
        }
        if is_open:
            step = rng.choices(OPEN_STEPS, weights=OPEN_STEP_WEIGHTS)[0]
            plan["owner_id"] = None if rng.random() < 0.05 else plan["receiver_id"]
            plan["awaiting_reply_since"] = (
                received_at + timedelta(hours=2) if rng.random() < 0.04 else None
            )
        else:
            step = Step.CLOSED
            plan["owner_id"] = plan["receiver_id"]
            plan["ending"] = rng.choice(ENDINGS)
            plan["closed_at"] = received_at + timedelta(hours=rng.randrange(24, 24 * 7))
            plan["updated_at"] = plan["closed_at"]
        plan["step"] = step
        if Step.values.index(step) >= Step.values.index(Step.ANALYSE):
            plan["department_id"] = department.pk
            plan["responsible_person_id"] = rng.choice(handlers[department.pk]).pk
            plan["validity"] = "valid"
        plans.append(plan)
    _deadlines_plan(plans, policy=policy, now=now)
    copy_rows(Case, plans)
    pks = list(Case.objects.order_by("pk").values_list("pk", flat=True))
    assert len(pks) == CASES
    for pk, plan in zip(pks, plans, strict=True):
        plan["pk"] = pk
    copy_rows(CaseEvent, _events(plans), customer_visible=False)
    copy_rows(
        TrackingToken,
        (
            {
                "case_id": plan["pk"],
                "digest": tracking_digest(token_for(i)),
                "created_at": plan["received_at"],
            }
            for i, plan in enumerate(plans)
        ),
    )
    copy_rows(
        Deadline,
        (row | {"case_id": plan["pk"]} for plan in plans for row in plan.get("deadlines", ())),
        policy=policy,
        policy_version=policy.version,
        clock=policy.clock,
        round=0,
    )
    _repeat_flags()
    _search_vectors(plans)
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_dataset VALUES (%s, %s, now())", [VERSION, CASES])
        # As autovacuum would have left tables this size: statistics, and the visibility map
        # that lets a count read an index alone.
        cursor.execute("VACUUM ANALYZE")


def _deadlines_plan(plans: list[dict], *, policy: Policy, now: datetime) -> None:
    """Each open case's round-0 deadlines, met up to the step it reached, breached (and the case
    escalated a tier for each) where due has passed; ``due_at`` the earliest not met."""
    for plan in plans:
        plan["deadlines"] = []
        if plan["step"] == Step.CLOSED:
            plan.pop("deadlines")
            continue
        reached = Step.values.index(plan["step"])
        received_at = plan["received_at"]
        unmet, tier = [], 0
        for milestone in Milestone.values:
            within = policy.within(milestone, urgency=plan["urgency"])
            if within is None:
                continue
            due_at = received_at + within
            row = {
                "milestone": milestone,
                "starts_at": received_at,
                "due_at": due_at,
                "warn_at": received_at + within * policy.warn_at_percent / 100,
                "warn_before_at": due_at - policy.warn_before,
            }
            if reached > Step.values.index(MILESTONE_STEP[milestone]):
                row |= {"met_at": received_at + within / 2, "next_check_at": None}
            elif due_at <= now:
                row |= {
                    "warned_at": row["warn_at"],
                    "warned_before_at": row["warn_before_at"],
                    "breached_at": due_at,
                    "next_check_at": None,
                }
                unmet.append(due_at)
                tier += 1
            else:
                # The warnings already past were sent; the next check is the first still ahead.
                ahead = [t for t in (row["warn_at"], row["warn_before_at"]) if t > now]
                if row["warn_at"] <= now:
                    row["warned_at"] = row["warn_at"]
                if row["warn_before_at"] <= now:
                    row["warned_before_at"] = row["warn_before_at"]
                row["next_check_at"] = min([*ahead, due_at])
                unmet.append(due_at)
            plan["deadlines"].append(row)
        plan["due_at"] = min(unmet) if unmet else None
        plan["tier"] = min(tier, 4)


def _events(plans: list[dict]):
    for plan in plans:
        received_at = plan["received_at"]
        yield {
            "case_id": plan["pk"],
            "at": received_at,
            "actor_id": plan["receiver_id"],
            "kind": CaseEvent.Kind.RECEIVED,
            "to_step": Step.RECEIVE,
        }
        if plan["step"] == Step.RECEIVE:
            continue
        final = plan["step"] == Step.CLOSED
        yield {
            "case_id": plan["pk"],
            "at": received_at + timedelta(hours=3),
            "actor_id": plan["receiver_id"],
            "kind": CaseEvent.Kind.STEP,
            "from_step": Step.RECEIVE,
            "to_step": Step.FOLLOW_UP if final else plan["step"],
            "note": "",
        }
        if final:
            yield {
                "case_id": plan["pk"],
                "at": plan["closed_at"],
                "actor_id": plan["receiver_id"],
                "kind": CaseEvent.Kind.STEP,
                "from_step": Step.FOLLOW_UP,
                "to_step": Step.CLOSED,
            }


def _search_vectors(plans: list[dict]) -> None:
    """``Case.search_vector`` as the services write it."""
    table = connection.ops.quote_name(Case._meta.db_table)
    rows = [(search_document(SimpleNamespace(**plan)), plan["pk"]) for plan in plans]
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET search_vector = to_tsvector('simple', %s) WHERE id = %s", rows
        )


def _repeat_flags() -> None:
    """``Case.repeat_of`` as intake writes it: the same customer's latest earlier case received
    within the 90 days before."""
    table = connection.ops.quote_name(Case._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {table} c SET repeat_of_id = p.prev_id
            FROM (
                SELECT id,
                       lag(id) OVER w AS prev_id,
                       lag(received_at) OVER w AS prev_at,
                       received_at
                FROM {table}
                WINDOW w AS (PARTITION BY customer_id ORDER BY received_at)
            ) p
            WHERE c.id = p.id AND p.prev_id IS NOT NULL
              AND p.prev_at >= p.received_at - interval '90 days'
            """
        )
