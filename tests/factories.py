"""factory_boy factories and the helper that walks a case through the real lifecycle."""

from __future__ import annotations

from decimal import Decimal

import factory
from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission

from complaints import services
from complaints.models import Case, Customer, Department, Step, User
from complaints.roles import Role, roles_sync


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("code",)

    name = factory.Sequence(lambda n: f"Department {n}")
    code = factory.Sequence(lambda n: f"dept-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password("pw-for-tests")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if extracted:
            if not Group.objects.filter(name=str(extracted)).exists():
                roles_restore()
            self.groups.add(Group.objects.get(name=str(extracted)))


def roles_restore() -> None:
    """Make the roles again, as migration 0002 does. A transactional test's flush (the
    concurrency tests, the browser journeys) deletes them, and tests that pytest-django orders
    after those would otherwise find no groups."""
    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0)
    roles_sync(group_model=Group, permission_model=Permission)


def staff(role: Role | None, department: Department | None = None, **kwargs) -> User:
    """A member of staff with a role, reloaded so that permission caches are fresh."""
    user = UserFactory(role=role, department=department, **kwargs)
    return User.objects.get(pk=user.pk)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Faker("name")
    phone = factory.Sequence(lambda n: f"+86138{n:08d}")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")


def receive(*, by: User, customer: Customer | None = None, **overrides) -> services.Received:
    """A case logged through the real intake service, with its one-time tracking token."""
    data = {
        "channel": "phone",
        "category": "product_quality",
        "urgency": "yellow",
        "product": "Washing machine W-200",
        "order_number": "SO-1",
        "description": "The drum is loud.",
        "desired_outcome": "A repair.",
        **overrides,
    }
    return services.case_receive(by=by, customer=customer or CustomerFactory(), **data)


def receive_case(*, by: User, customer: Customer | None = None, **overrides) -> Case:
    """A case logged through the real intake service."""
    return receive(by=by, customer=customer, **overrides).case


def step_data(step: str, *, department: Department, person: User, valid: bool = True) -> dict:
    """Complete data for the move out of ``step`` (the forward move)."""
    return {
        Step.RECEIVE: {},
        Step.LISTEN: {
            "customer_account": "The drum bangs on spin; bought two weeks ago.",
            "understanding_confirmed": True,
        },
        Step.ANALYSE: {
            "validity": "valid" if valid else "not_valid",
            "root_cause_category": "materials" if valid else "misunderstanding",
            "department": department,
            "responsible_person": person,
        },
        Step.DECIDE: {
            "remedy_types": ["repair", "apology"],
            "remedy_value": Decimal("120.00"),
            "remedy_plan": "Repair within two days.",
        }
        if valid
        else {"remedy_plan": "Explain that the noise is normal for the first week."},
        Step.ACT: {"actions_taken": "Repaired on site.", "report": "Bearing batch faulty."},
        Step.CONFIRM: {},
        Step.FOLLOW_UP: {"satisfaction_rating": 5, "follow_up_comment": "Happy."},
    }[step]


FORWARD = {
    Step.RECEIVE: Step.LISTEN,
    Step.LISTEN: Step.ANALYSE,
    Step.ANALYSE: Step.DECIDE,
    Step.DECIDE: Step.ACT,
    Step.ACT: Step.CONFIRM,
    Step.CONFIRM: Step.FOLLOW_UP,
    Step.FOLLOW_UP: Step.CLOSED,
}


def walk(case: Case, *, to: str, by: User, department: Department, person: User) -> Case:
    """Move a valid case forward through the real lifecycle until it reaches ``to``."""
    order = list(Step.values)
    while order.index(case.step) < order.index(to):
        source = case.step
        services.case_transition(
            case=case,
            to=FORWARD[source],
            by=by,
            data=step_data(source, department=department, person=person),
        )
    return case


def active_digests(case: Case) -> set[str]:
    """The digests of the case's tracking links that still work."""
    return set(
        case.tracking_tokens.filter(revoked_at__isnull=True).values_list("digest", flat=True)
    )


def intake_form(**overrides) -> dict:
    """What an agent types into the New complaint screen."""
    return {
        "phone": "138 0013 8000",
        "email": "",
        "customer_name": "Li Na",
        "customer_type": "",
        "channel": "phone",
        "category": "product_quality",
        "urgency": "yellow",
        "product": "Washing machine W-200",
        "order_number": "SO-881",
        "quantity": "1",
        "description": "The drum bangs on spin.",
        "desired_outcome": "A repair this week.",
        **overrides,
    }


def public_form(**overrides) -> dict:
    """What a customer types into the public complaint form."""
    return {
        "name": "Li Na",
        "phone": "138 0013 8000",
        "email": "li.na@example.com",
        "category": "product_quality",
        "product": "Kettle K-3",
        "order_number": "SO-77",
        "description": "The kettle leaks from the base.",
        "desired_outcome": "A new kettle.",
        "website": "",
        **overrides,
    }
