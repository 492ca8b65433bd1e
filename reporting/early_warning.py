"""The early warning (投诉预警): a category, product or responsible department whose cases this
week are far above its own recent weeks is flagged on the dashboard (``spikes_current``), and
the quality managers are emailed once per spike (``spikes_detect_and_notify``, run hourly by
the ``reporting.early_warning`` task).

The rule
--------
* **This week** is the calendar week so far: from Monday 00:00 in the deployment's time zone
  (``TIME_ZONE``) up to now. Not a rolling seven days, because (1) the figure is the one a
  manager can check: the dashboard's and the case list's links select exactly "received since
  Monday" by date, and a spike is recorded once per value and week, so "once per spike" has a
  plain meaning (a rolling window would raise the same surge again every day, or need a
  cool-down rule of its own); (2) a week so far is compared with whole weeks, which can only
  understate it: Monday morning never raises a false alarm. The price is that a moderate rise is
  flagged later in the week than a rolling window would flag it; a sharp one is flagged the day
  it happens.
* **The baseline** is the same value's cases in each of the ``BASELINE_WEEKS`` (8) whole weeks
  before this one, Monday to Monday in ``TIME_ZONE`` (each Monday's midnight is placed in the
  zone on its own, so a week across a daylight-saving change is 167 or 169 hours). A week with
  no case counts as 0. ``mean`` is their average, ``sd`` their sample standard deviation.
* **A spike** is a value with ``count >= max(MIN_COUNT, RATIO * mean, mean + SIGMAS * sd)``:
  at least ``MIN_COUNT`` (5) cases, so that 1 → 3 is not a spike; at least ``RATIO`` (2) times
  its usual week; and more than ``SIGMAS`` (3) standard deviations above it, so that a value
  whose weeks swing widely (a product launched three weeks ago, a seasonal category) needs a
  larger rise. A value with no history (a new product) has a baseline of 0 and is a spike from
  ``MIN_COUNT`` cases.
* **Values**: the category; the product as typed, compared case-insensitively (as the
  dashboard's product filter does), cases without a product left out; the responsible
  department, cases not yet analysed left out (they are the last day's, at most, when the
  1-day limit is kept).
* **The email** goes to every active quality manager with an address (none: the general
  managers), one email per spike, in ``LANGUAGE_CODE``, with a link to the dashboard filtered to
  the spike's cases. It is sent after the spike's row is committed; if sending fails the row
  stays un-notified and the next run (an hour later) tries again, for as long as the spike's
  week or the next one lasts (``NOTIFY_WEEKS``) — later, it is no longer news and stays in the
  admin unsent.

Every number is computed by the database: one grouped query per dimension (three in all,
whatever the number of cases) counts each value's cases in each of the nine weeks by
conditional aggregation over a ``received_at`` range, and computes the mean, the standard
deviation, the threshold and the comparison itself (in ``HAVING``); only the spiking values come
back.
"""

from __future__ import annotations

import logging
import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import reduce
from itertools import pairwise
from urllib.parse import urlencode

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import (
    Count,
    Expression,
    F,
    FloatField,
    Max,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce, Greatest, Lower, Sqrt
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise

from complaints.models import Case, Category, User
from complaints.roles import Role

from .figures import Figures, LiveFigures
from .models import Dimension, Spike, spike_cases_query
from .rollup_figures import RollupFigures

log = logging.getLogger(__name__)

# The rule's constants (see the module docstring).
BASELINE_WEEKS = 8
MIN_COUNT = 5
RATIO = 2.0
SIGMAS = 3.0
# An un-notified spike is retried while its week or the next one lasts.
NOTIFY_WEEKS = 2

# Per dimension: the grouping key, what people read, which cases have a value.
_DIMENSIONS: dict[str, tuple[Expression | F, Expression, Q]] = {
    Dimension.CATEGORY: (F("category"), Max("category"), Q()),
    Dimension.PRODUCT: (Lower("product"), Max("product"), ~Q(product="")),
    Dimension.DEPARTMENT: (
        F("department_id"),
        Max("department__name"),
        Q(department__isnull=False),
    ),
}


# The same from the daily rollup's rows (``reporting.rollup``): products are kept lower-cased
# there, with a spelling of each to show.
_ROLLED_UP_DIMENSIONS = {
    **_DIMENSIONS,
    Dimension.PRODUCT: (F("product"), Max("label"), ~Q(product="")),
}


@dataclass
class SpikeRow:
    """One spiking value, for the dashboard's panel and for recording (not frozen: the view
    adds each row's ``url``, as it does to a table's rows)."""

    dimension: str  # a ``Dimension`` value
    value: str  # category code, lower-cased product, department id
    label: str | Promise  # what to show: the category's name, the product, the department
    week: date  # this week's Monday, in TIME_ZONE
    count: int  # cases this week so far
    baseline: float  # the usual week: mean over the BASELINE_WEEKS before
    threshold: float  # what ``count`` had to reach
    # ReportFilter/ReportCaseFilter parameters selecting the cases counted in ``count``.
    cases: dict[str, str]

    @property
    def ratio(self) -> float | None:
        """This week's cases over the usual week (None: no history, a new value)."""
        return self.count / self.baseline if self.baseline else None


def week_start(now: datetime) -> date:
    """The Monday of ``now``'s week in the deployment's time zone."""
    today = timezone.localtime(now, timezone.get_default_timezone()).date()
    return today - timedelta(days=today.weekday())


def _week_edges(monday: date) -> list[datetime]:
    """Midnight of the BASELINE_WEEKS + 1 Mondays up to ``monday``, oldest first: each placed in
    TIME_ZONE on its own, so the weeks follow daylight-saving changes."""
    zone = timezone.get_default_timezone()
    return [
        datetime.combine(monday - timedelta(weeks=back), time.min, tzinfo=zone)
        for back in range(BASELINE_WEEKS, -1, -1)
    ]


def _as_float(expression) -> Cast:
    return Cast(expression, output_field=FloatField())


@dataclass(frozen=True)
class _Counted:
    """What a dimension's weekly counts are taken from: the cases themselves (``when`` is
    ``received_at``, each case counts one) or the daily rollup (``when`` is its ``day``, each
    row counts its ``cases``)."""

    rows: QuerySet
    key: Expression | F
    label: Expression
    has_value: Q
    when: str
    count: Callable[[Q], Expression]


def _counted(source: QuerySet[Case] | Figures, dimension: str) -> _Counted:
    if isinstance(source, RollupFigures):
        rows = source.rows_for_spikes(dimension)
        if rows is not None:
            key, label, has_value = _ROLLED_UP_DIMENSIONS[dimension]
            return _Counted(
                rows,
                key,
                label,
                has_value,
                "day",
                lambda q: Coalesce(Sum("cases", filter=q), Value(0)),
            )
        source = source.live
    if isinstance(source, LiveFigures):
        source = source.cases
    key, label, has_value = _DIMENSIONS[dimension]
    return _Counted(source, key, label, has_value, "received_at", lambda q: Count("pk", filter=q))


def _spiking(counted: _Counted, edges: list[datetime], now: datetime):
    """One query: the values over the threshold this week, with their count, baseline and
    threshold, most cases first."""
    when = counted.when
    if when == "day":  # the rollup's days: the Mondays' dates, today's
        edges = [edge.date() for edge in edges]
        now = timezone.localtime(now, timezone.get_default_timezone()).date()
    this_week, before = Q(**{f"{when}__gte": edges[-1]}), Q(**{f"{when}__lt": edges[-1]})
    weeks = [
        counted.count(Q(**{f"{when}__gte": start, f"{when}__lt": end}))
        for start, end in pairwise(edges)
    ]
    n = float(BASELINE_WEEKS)
    squares = _as_float(reduce(operator.add, (week * week for week in weeks)))
    # The sample variance, (sum(x^2) - n·mean^2) / (n - 1), never below 0 (rounding).
    variance = Greatest(
        (squares - Value(n) * F("baseline") * F("baseline")) / Value(n - 1), Value(0.0)
    )
    return (
        # The nine weeks only: a range on received_at (or the rollup's day), which an index
        # led by it serves (case_step_received leads with the step, so it cannot).
        counted.rows.order_by()
        .filter(counted.has_value, **{f"{when}__gte": edges[0], f"{when}__lte": now})
        .values(key=counted.key)
        .annotate(
            label=counted.label,
            current=counted.count(this_week),
            baseline=_as_float(counted.count(before)) / Value(n),
        )
        .annotate(
            threshold=Greatest(
                Value(float(MIN_COUNT)),
                F("baseline") * Value(RATIO),
                F("baseline") + Value(SIGMAS) * Sqrt(variance),
            )
        )
        .filter(current__gte=F("threshold"))
        .values("key", "label", "current", "baseline", "threshold")
        .order_by("-current", "key")
    )


def spikes_current(
    *, cases: QuerySet[Case] | Figures | None = None, now: datetime | None = None
) -> list[SpikeRow]:
    """The category, product and department values spiking this week among ``cases`` (all
    cases if None; the dashboard passes the reader's scope, e.g. a department head's, read
    from the daily rollup when it can), by the rule of this module. Three queries, whatever
    the number of cases."""
    now = now or timezone.now()
    cases = Case.objects.all() if cases is None else cases
    monday = week_start(now)
    edges = _week_edges(monday)
    rows = []
    for dimension in Dimension.values:
        for group in _spiking(_counted(cases, dimension), edges, now):
            value = str(group["key"])
            label = group["label"] or value
            if dimension == Dimension.CATEGORY:
                label = Category(value).label if value in Category.values else value
            rows.append(
                SpikeRow(
                    dimension=dimension,
                    value=value,
                    label=label,
                    week=monday,
                    count=group["current"],
                    baseline=round(group["baseline"], 2),
                    threshold=round(group["threshold"], 2),
                    cases=spike_cases_query(
                        dimension=dimension, value=value, label=str(label), week=monday
                    ),
                )
            )
    return rows


# ---------------------------------------------------------------- recording and email


def spikes_record(*, rows: list[SpikeRow], now: datetime) -> list[Spike]:
    """Record the spikes not recorded yet this week (one row per value and week: the unique
    constraint settles two runs at once). Returns the new rows."""
    if not rows:
        return []
    week = rows[0].week
    known = set(Spike.objects.filter(week=week).values_list("dimension", "value"))
    new = [
        Spike(
            dimension=row.dimension,
            value=row.value,
            # The department's name or the product as typed; a category's name is translated
            # when shown, so only its code is kept.
            label="" if row.dimension == Dimension.CATEGORY else str(row.label)[:200],
            week=row.week,
            count=row.count,
            baseline=row.baseline,
            threshold=row.threshold,
            detected_at=now,
        )
        for row in rows
        if (row.dimension, row.value) not in known
    ]
    if not new:
        return []
    # A run at the same time may have written some since: theirs stand, these are dropped.
    Spike.objects.bulk_create(new, ignore_conflicts=True)
    mine = Q()
    for spike in new:
        mine |= Q(dimension=spike.dimension, value=spike.value)
    return list(Spike.objects.filter(mine, week=week, detected_at=now).order_by("pk"))


def spike_recipients() -> list[str]:
    """The addresses of the active quality managers; with none, of the general managers (as
    an escalation is never told to no one: ``escalation.tiers.tier_members``)."""
    for role in (Role.QUALITY_MANAGER, Role.GENERAL_MANAGER):
        addresses = sorted(
            set(
                User.objects.filter(is_active=True, groups__name=str(role))
                .exclude(email="")
                .values_list("email", flat=True)
            )
        )
        if addresses:
            return addresses
    return []


def dashboard_url(params: dict[str, str]) -> str:
    return f"{settings.SITE_URL}{reverse('reporting:dashboard')}?{urlencode(params)}"


def _message(spike: Spike, to: list[str]) -> EmailMessage:
    context = {
        "spike": spike,
        "url": dashboard_url(spike.cases_query()),
        "weeks": BASELINE_WEEKS,
        "min_count": MIN_COUNT,
        "ratio": RATIO,
        "sigmas": SIGMAS,
    }
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string("reporting/email/spike_subject.txt", context).strip()
        body = render_to_string("reporting/email/spike.txt", context)
    return EmailMessage(subject=" ".join(subject.split()), body=body, to=to)


def spikes_deliver(*, now: datetime | None = None) -> int:
    """Email the spikes not notified yet (of this week and the last ``NOTIFY_WEEKS`` - 1), each
    under its row lock and marked notified in the same transaction, so two runs never send one
    twice. A failed send leaves the row un-notified for the next run. Returns how many went."""
    now = now or timezone.now()
    oldest = week_start(now) - timedelta(weeks=NOTIFY_WEEKS - 1)
    pks = list(
        Spike.objects.filter(notified_at__isnull=True, week__gte=oldest)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not pks:
        return 0
    to = spike_recipients()
    if not to:
        log.warning("Spikes %s not emailed: no quality or general manager has an address.", pks)
        return 0
    sent = 0
    for pk in pks:
        with transaction.atomic():
            spike = (
                Spike.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, notified_at__isnull=True)
                .first()
            )
            if spike is None:  # another run has it, or has sent it
                continue
            try:
                _message(spike, to).send()
            except SoftTimeLimitExceeded:
                raise
            except Exception as exc:  # the mail server refused or is down: the next run
                spike.last_error = str(exc)[:500]
                log.warning("Spike %s not emailed: %s", spike.pk, exc)
            else:
                spike.notified_at = timezone.now()
                spike.last_error = ""
                sent += 1
            spike.save(update_fields=["notified_at", "last_error"])
    return sent


def spikes_detect_and_notify(*, now: datetime | None = None) -> list[Spike]:
    """Find this week's spikes over all cases, record the new ones, and once that is committed
    email every spike not notified yet (the new ones and any whose email failed before).
    Safe to run twice: a spike is recorded and emailed once. Returns the new spikes."""
    now = now or timezone.now()
    rows = spikes_current(now=now)
    with transaction.atomic():
        new = spikes_record(rows=rows, now=now)
        transaction.on_commit(lambda: spikes_deliver(now=now))
    return new
