"""Staff emails under worker kills, measured again (issue 15, item 4): the report said 15 SIGKILLs
of the worker sent 9,011 SMTP messages for 9,000 notifications (11 duplicates) while the
database said each was sent once. Since then a staff email carries a Message-ID derived from its
outbox row (escalation.notifications.message_id), so a copy sent again after a kill has the same
id and the receiving server can drop it.

The same kill test: N staff notifications (HEED_BENCH_STAFF_EMAILS, 2,000 by default: a worker
sends some 15 to 30 a second on a 2-core machine, so 9,000 would take over five minutes) are
written through ``escalation.notifications.notify``, each in its own transaction and queued
after commit to a real Celery worker (solo, with beat, on a Redis of the test's own), which
sends them by SMTP to an aiosmtpd server run by this test on a port of its own. The worker is
SIGKILLed K times (HEED_BENCH_STAFF_EMAIL_KILLS, 15), spread through the sending, at a random
moment of a send, and started again each time; the sweep (every two seconds here) sends what a
killed task left. Once the database says all are sent, what the SMTP server received is
counted, from outside the system: each notification has a recipient of its own, so a message is
tied to its row by its envelope recipient, whatever its Message-ID says.

Printed as one json line. Asserted: nothing lost, every copy with its row's Message-ID (a copy
with another one is a duplicate no receiving server could drop), and no more copies than kills:
each queued task sends one row, so a kill re-sends at most the one in flight (a kill of a sweep
in the middle of its chunk could re-send up to ``CHUNK`` rows; the sweep sends little here)."""

from __future__ import annotations

import email
import json
import logging
import os
import random
import threading
import time
from collections import Counter, defaultdict
from datetime import timedelta
from email import policy
from email.parser import BytesHeaderParser
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.db import transaction

from complaints.models import User
from escalation.models import Deadline, Notification, ScheduledJob
from escalation.notifications import message_id, notify

from ..databases import postgresql_only
from ..factories import CustomerFactory, receive_case
from ..workers import (
    free_port,
    kill_with_children,
    own_redis,
    publishing_to,
    require_postgresql_and_redis,
    start_worker,
    stop,
)

pytestmark = [
    pytest.mark.bench,
    pytest.mark.django_db(transaction=True),
    postgresql_only("a worker in another process reads the rows the bench commits"),
]

NOTIFICATIONS = int(os.environ.get("HEED_BENCH_STAFF_EMAILS", "2000"))
KILLS = int(os.environ.get("HEED_BENCH_STAFF_EMAIL_KILLS", "15"))
CASES = 20
# The whole run (writing, sending, restarts) must be done within this.
TIMEOUT = 600
READY_TIMEOUT = 60


class Inbox:
    """An SMTP server's handler: for each DATA, its envelope recipients and Message-ID."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[tuple[tuple[str, ...], str | None]] = []
        self.parser = BytesHeaderParser(policy=policy.default)

    def __len__(self) -> int:
        return len(self.received)

    async def handle_DATA(self, server, session, envelope):
        headers: email.message.EmailMessage = self.parser.parsebytes(envelope.content)
        with self.lock:
            self.received.append((tuple(envelope.rcpt_tos), headers["Message-ID"]))
        return "250 Message accepted for delivery"


class Worker:
    """The worker the test kills and starts again; ``ready`` reads only its own part of the
    log (the log grows by a few lines per task)."""

    def __init__(self, var_dir: Path, log: Path, redis_url: str, env: dict[str, str]) -> None:
        self.var_dir, self.log, self.redis_url, self.env = var_dir, log, redis_url, env
        self.startups: list[float] = []  # seconds from each start to ready
        self.start()

    def start(self) -> None:
        self.offset = self.log.stat().st_size if self.log.exists() else 0
        self.is_ready = False
        self.started_at = self.looked_at = time.monotonic()
        self.process = start_worker(
            self.var_dir, self.log, redis_url=self.redis_url, beat=True, pool="solo", **self.env
        )

    def ready(self) -> bool:
        """Whether it is ready (its log read at most every 0.2 s until it is)."""
        now = time.monotonic()
        if not self.is_ready and now - self.looked_at >= 0.2:
            self.looked_at = now
            with self.log.open(encoding="utf-8", errors="replace") as output:
                output.seek(self.offset)
                self.is_ready = " ready." in output.read()
            if self.is_ready:
                self.startups.append(now - self.started_at)
        return self.is_ready

    def check(self) -> None:
        if self.process.poll() is not None:
            pytest.fail(f"the worker exited ({self.process.returncode}):\n{self.tail()}")

    def kill(self) -> None:
        """SIGKILL mid-send, no warm shutdown: the worker and its embedded beat (a child
        process of its own, which would otherwise live on, orphaned), as when its container
        or machine dies."""
        kill_with_children(self.process)

    def tail(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-3000:]


def count(rows: dict[str, int], received: list[tuple[tuple[str, ...], str | None]]) -> dict:
    """What the server received, per row (``rows``: recipient address → notification id)."""
    by_row: dict[int, list[str | None]] = defaultdict(list)
    strangers = 0
    for recipients, mid in received:
        pks = {rows[address] for address in recipients if address in rows}
        if len(pks) != 1:
            strangers += 1  # not one of this bench's rows (or several at once: never expected)
            continue
        by_row[pks.pop()].append(mid)
    lost = [pk for pk in rows.values() if pk not in by_row]
    copies = {pk: ids for pk, ids in by_row.items() if len(ids) > 1}
    same_id = sum(len(ids) - len(set(ids)) for ids in copies.values())
    other_ids = sum(len(set(ids)) - 1 for ids in copies.values())
    expected = {pk: message_id(Notification(pk=pk)) for pk in by_row}
    wrong_id = [pk for pk, ids in by_row.items() if any(mid != expected[pk] for mid in ids)]
    return {
        "smtp messages": len(received),
        "unique message-ids": len({mid for _, mid in received}),
        "messages - unique message-ids": len(received) - len({mid for _, mid in received}),
        "lost": len(lost),
        "duplicates": sum(len(ids) - 1 for ids in by_row.values()),
        "duplicates same message-id": same_id,
        "duplicates different message-id": other_ids,
        "rows with a wrong message-id": len(wrong_id),
        "rows sent more than once": len(copies),
        "not ours": strangers,
        "_lost": lost[:20],
        "_copies": {pk: ids for pk, ids in list(copies.items())[:20]},
    }


def test_staff_emails_under_worker_kills_are_sent_once_per_message_id(tmp_path, agent):
    require_postgresql_and_redis()
    var_dir, log = tmp_path / "var", tmp_path / "worker.log"
    # The sweep (beat, in the worker) every two seconds: it sends what a killed task left.
    ScheduledJob.objects.update_or_create(
        name="sweep-deadlines",
        defaults={"task": "escalation.sweep", "every": timedelta(seconds=2), "enabled": True},
    )
    cases = [
        receive_case(by=agent, customer=CustomerFactory(email="", language="en"))
        for _ in range(CASES)
    ]
    deadlines = {d.case_id: d for d in Deadline.objects.filter(case__in=cases)}
    # A recipient of each notification's own: the envelope tells which row a message is for,
    # whatever its Message-ID says.
    people = User.objects.bulk_create(
        User(username=f"bench-staff-{i:05d}", email=f"bench-staff-{i:05d}@example.com")
        for i in range(NOTIFICATIONS)
    )
    before = Notification.objects.count()
    # The kills, spread through the sending: after this many messages reached the server.
    kill_at = [NOTIFICATIONS * (k + 1) // (KILLS + 1) for k in range(KILLS)]

    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    # aiosmtpd logs every SMTP command at INFO: thousands of lines, and time, for nothing here.
    smtp_log = logging.getLogger("mail.log")
    level = smtp_log.level
    smtp_log.setLevel(logging.WARNING)
    env = {"EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}", "EMAIL_TIMEOUT": "5"}
    kills = 0
    try:
        with own_redis(tmp_path) as redis_server, publishing_to(redis_server.url):
            worker = Worker(var_dir, log, redis_server.url, env)
            try:
                while not worker.ready():
                    worker.check()
                    assert time.monotonic() - worker.started_at < READY_TIMEOUT, worker.tail()
                    time.sleep(0.05)

                def maybe_kill() -> None:
                    nonlocal kills
                    ready = worker.ready()  # asked every time: it times the start-ups
                    # Only a worker that is up and sending: each kill hits one mid-burst.
                    if kills < KILLS and len(inbox) >= kill_at[kills] and ready:
                        # At any moment of a send, not just after a message arrived.
                        time.sleep(random.uniform(0, 0.1))
                        worker.kill()
                        kills += 1
                        worker.start()

                started = time.monotonic()
                for i, person in enumerate(people):
                    case = cases[i % CASES]
                    with transaction.atomic():
                        notify(
                            kind=Notification.Kind.WARNING,
                            case=case,
                            recipients=[person],
                            deadline=deadlines.get(case.pk),
                        )
                    maybe_kill()
                written = time.monotonic() - started

                unsent = Notification.objects.filter(next_attempt_at__isnull=False)
                checked = 0.0
                while True:
                    maybe_kill()
                    worker.check()
                    now = time.monotonic()
                    if now - checked > 0.5:
                        checked = now
                        if kills == KILLS and not unsent.exists():
                            break
                    if now - started > TIMEOUT:
                        pytest.fail(
                            f"not all sent within {TIMEOUT}s: {unsent.count()} unsent, "
                            f"{kills} kills, {len(inbox)} messages\n{worker.tail()}"
                        )
                    time.sleep(0.01)
                wall = time.monotonic() - started
                time.sleep(1)  # nothing more should arrive: counted again below
            finally:
                stop(worker.process, log)
    finally:
        smtp.stop()
        smtp_log.setLevel(level)

    rows = dict(
        Notification.objects.filter(recipient__in=people).values_list("recipient__email", "pk")
    )
    counted = count(rows, list(inbox.received))
    statuses = Counter(
        "sent" if sent else "given up"
        for sent in Notification.objects.values_list("sent_at", flat=True)
    )
    retried = Notification.objects.filter(attempts__gt=1).count()
    shown = {
        "notifications": Notification.objects.count() - before,
        "kills": kills,
        **{k: v for k, v in counted.items() if not k.startswith("_")},
        "db statuses": dict(statuses),
        "rows attempted more than once": retried,
        "worker start to ready s": [round(seconds, 1) for seconds in worker.startups],
        "write s": round(written, 1),
        "wall s": round(wall, 1),
    }
    print("\n  staff emails under worker kills: " + json.dumps(shown))
    if counted["_lost"] or counted["_copies"]:
        print(f"  lost (first): {counted['_lost']}\n  copies (first): {counted['_copies']}")

    assert shown["notifications"] == NOTIFICATIONS == len(rows)
    assert statuses == {"sent": statuses["sent"]}  # none given up
    assert counted["lost"] == 0
    assert counted["rows with a wrong message-id"] == 0
    assert counted["duplicates different message-id"] == 0
    assert counted["duplicates"] <= kills
