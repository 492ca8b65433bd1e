"""Demo data for a first run: departments, one user per role, ~50 cases over all steps.

Runs once: it does nothing when cases already exist. The demo logins (random passwords) are
written to var/demo-logins*.txt, one file per database, and printed each time.
"""

import hashlib
import random
import secrets
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.utils import timezone

from complaints import services, signals
from complaints.models import Case, Channel, Department, Step, Urgency, User, Validity
from complaints.roles import Role

DEPARTMENTS = [
    ("customer-service", "Customer service"),
    ("after-sales", "After-sales service"),
    ("logistics", "Logistics"),
    ("quality", "Quality"),
    ("billing", "Billing"),
]
PEOPLE = [
    ("agent", "Ann", "Agent", Role.AGENT, "customer-service"),
    ("handler", "Hao", "Handler", Role.HANDLER, "after-sales"),
    ("head", "Dana", "Head", Role.DEPARTMENT_HEAD, "after-sales"),
    ("quality", "Qiu", "Quality", Role.QUALITY_MANAGER, "quality"),
    ("gm", "Grace", "Manager", Role.GENERAL_MANAGER, None),
    ("admin", "Ada", "Admin", Role.ADMINISTRATOR, None),
]
CUSTOMERS = [
    ("Li Wei", "13800138001", "li.wei@example.com"),
    ("Wang Fang", "13800138002", ""),
    ("Zhang Min", "", "zhang.min@example.com"),
    ("Chen Jing", "13800138004", "chen.jing@example.com"),
    ("Maria Rossi", "+39 312 345 6789", "maria.rossi@example.com"),
    ("John Smith", "+44 7700 900123", "john.smith@example.com"),
    ("Liu Yang", "13800138007", ""),
    ("Zhao Lei", "13800138008", "zhao.lei@example.com"),
]
STORIES = [
    (
        "product_quality",
        "Washing machine W-200",
        "The drum makes a loud noise after two weeks.",
        "A repair or a replacement.",
    ),
    (
        "service_process",
        "Home delivery",
        "Delivery was three days late and nobody called.",
        "An apology and the delivery fee back.",
    ),
    (
        "service_attitude",
        "Store visit",
        "The sales assistant was rude when I asked about the warranty.",
        "An apology and a clear warranty answer.",
    ),
    (
        "price_billing",
        "Monthly invoice",
        "I was charged twice for the same order.",
        "A refund of the second charge.",
    ),
    (
        "safety",
        "Kettle K-10",
        "The kettle's handle became very hot and burned my hand.",
        "A refund and an assurance it gets checked.",
    ),
    (
        "misleading_promotion",
        "Spring promotion",
        "The advert said 30% off but the till charged full price.",
        "The promised discount.",
    ),
    (
        "customer_misuse",
        "Blender B-5",
        "The blender stopped after I used it to crush ice.",
        "A free repair.",
    ),
]


def _logins_file() -> Path:
    """Where this database's demo logins are kept: var/demo-logins.txt for the default SQLite
    database, a file of its own for any other, so switching DATABASE_URL never mixes them."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3") and Path(db["NAME"]).parent == settings.VAR_DIR:
        return settings.VAR_DIR / "demo-logins.txt"
    key = hashlib.sha256(f"{db['ENGINE']}{db.get('HOST')}{db.get('PORT')}{db['NAME']}".encode())
    return settings.VAR_DIR / f"demo-logins-{key.hexdigest()[:10]}.txt"


class Command(BaseCommand):
    help = "Seed demo data on first run (no-op when cases exist) and print the demo logins."

    def handle(self, *args, **options):
        logins = _logins_file()
        if Case.objects.exists():
            if logins.exists():
                self.stdout.write(logins.read_text())
            return
        with transaction.atomic():
            text = self._seed()
        logins.write_text(text)
        self.stdout.write(text)

    def _seed(self) -> str:
        rng = random.Random(2026)
        departments = {
            code: Department.objects.get_or_create(code=code, defaults={"name": name})[0]
            for code, name in DEPARTMENTS
        }
        lines = [f"Demo logins (also in var/{_logins_file().name}):"]
        users = {}
        for username, first, last, role, dept in PEOPLE:
            password = secrets.token_urlsafe(9)
            user, _ = User.objects.get_or_create(username=username)
            user.first_name, user.last_name = first, last
            user.department = departments.get(dept)
            # Escalation notifications go here (the console/locmem mailer in development).
            user.email = f"{username}@heed.localhost"
            # The quality manager edits time-limit policies and authority limits in the admin.
            user.is_staff = role in (Role.ADMINISTRATOR, Role.QUALITY_MANAGER)
            user.is_superuser = role == Role.ADMINISTRATOR
            user.set_password(password)
            user.save()
            user.groups.set([Group.objects.get(name=str(role))])
            users[role] = User.objects.get(pk=user.pk)  # fresh permission cache
            lines.append(f"  {role.label!s:<16} {username:<9} {password}")
        agent, handler = users[Role.AGENT], users[Role.HANDLER]
        now = timezone.now()
        # Most cases recent and early in the lifecycle, some old and closed.
        targets = [
            *[Step.RECEIVE] * 8,
            *[Step.LISTEN] * 7,
            *[Step.ANALYSE] * 7,
            *[Step.DECIDE] * 6,
            *[Step.ACT] * 6,
            *[Step.CONFIRM] * 5,
            *[Step.FOLLOW_UP] * 5,
            *[Step.CLOSED] * 6,
        ]
        for i, target in enumerate(targets):
            name, phone, email = CUSTOMERS[i % len(CUSTOMERS)]
            customer = services.customer_get_or_create(name=name, phone=phone, email=email)
            category, product, what, wants = STORIES[i % len(STORIES)]
            received = services.case_receive(
                by=agent,
                customer=customer,
                channel=rng.choice(Channel.values),
                category=category,
                urgency=rng.choice(Urgency.values),
                product=product,
                order_number=f"SO-{20260000 + i * 37}",
                description=what,
                desired_outcome=wants,
                # The later in the lifecycle, the older: closed cases are about a week old.
                received_at=now - timedelta(hours=rng.randint(1, 20) + i * 3),
            )
            self._walk(received.case, target, agent, handler, departments, rng)
        signals.demo_seeded.send(sender=self.__class__, users=users)
        return "\n".join(lines) + "\n"

    def _walk(self, case, target, agent, handler, departments, rng):
        """Work a demo case through the real lifecycle up to ``target``."""
        not_valid = rng.random() < 0.15
        plan = [
            (Step.LISTEN, {}),
            (
                Step.ANALYSE,
                {
                    "customer_account": "The customer told the story again; we restated it.",
                    "understanding_confirmed": True,
                    "emotion": rng.choice(["angry", "disappointed", "calm"]),
                },
            ),
            (
                Step.DECIDE,
                {
                    "validity": Validity.NOT_VALID
                    if not_valid
                    else rng.choice([Validity.VALID, Validity.PARTLY]),
                    "root_cause_category": "misunderstanding"
                    if not_valid
                    else rng.choice(["people", "equipment", "process", "materials"]),
                    "root_cause_analysis": "5W2H done with the department.",
                    "department": departments["after-sales"],
                    "responsible_person": handler,
                },
            ),
        ]
        if not_valid:
            plan.append(
                (Step.CONFIRM, {"remedy_plan": "Explain how the product is meant to be used."})
            )
        else:
            plan += [
                (
                    Step.ACT,
                    {
                        "remedy_types": rng.sample(
                            ["apology", "repair", "partial_refund", "voucher"], 2
                        ),
                        "remedy_value": Decimal(rng.choice([0, 50, 120, 300])),
                        "remedy_plan": "Apologise, repair within two days, add a voucher.",
                    },
                ),
                (
                    Step.CONFIRM,
                    {
                        "actions_taken": "Repaired on site; voucher sent.",
                        "report": "Root cause found in the assembly process; reported to the GM.",
                    },
                ),
            ]
        plan += [
            (Step.FOLLOW_UP, {}),
            (
                Step.CLOSED,
                {
                    "satisfaction_rating": rng.choice([4, 5]),
                    "follow_up_comment": "Happy with the outcome.",
                },
            ),
        ]
        for to, data in plan:
            if Step.values.index(case.step) >= Step.values.index(target):
                break
            services.case_transition(case=case, to=to, by=agent, data=data)
