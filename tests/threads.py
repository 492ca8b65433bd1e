"""Running work in several threads at once, each with its own database connection (the
concurrency tests of every app)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connections

TIMEOUT = 30


def run_together(
    count: int, work: Callable[[int, threading.Barrier], Any]
) -> tuple[list[Any], list[Exception]]:
    """Run ``work(i, barrier)`` in ``count`` threads; each waits at the barrier so that they
    start together. Returns what they returned and what they raised."""
    barrier = threading.Barrier(count, timeout=TIMEOUT)
    results: list[Any] = []
    errors: list[Exception] = []
    lock = threading.Lock()

    def thread(i: int) -> None:
        try:
            outcome = work(i, barrier)
            with lock:
                results.append(outcome)
        except Exception as exc:
            with lock:
                errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=thread, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a thread is stuck"
    return results, errors
