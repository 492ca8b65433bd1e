"""Real Celery workers for the tests whose behaviour is Celery's (the schedule, the broker, a task
run in another process): started as ``celery -A config worker`` outside pytest, on this test's
PostgreSQL database, and on Redis under keys of the test's own.

The worker shares REDIS_URL's database with everything else on the machine (other test
processes, a developer's worker): its broker keys carry a prefix made for the test
(``global_keyprefix``), so no other worker takes its tasks, and only those keys are deleted
afterwards. Nothing here flushes a Redis database."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

# How long a worker may take to start and do its work (an outside process: we poll it).
TIMEOUT = 60
POLL = 0.5


def require(ready: bool, message: str) -> None:
    """Skip without the service, except in CI (``CI`` set), where a missing one fails the run."""
    if not ready:
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def require_postgresql_and_redis() -> None:
    require(connection.vendor == "postgresql", "needs PostgreSQL (set DATABASE_URL=postgres://…)")
    require(bool(settings.REDIS_URL), "needs Redis (set REDIS_URL=redis://…)")


def database_url() -> str:
    """This test's database (pytest-django's test_… one), as DATABASE_URL."""
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{quote(db['USER'], safe='')}{password}@{host}/{db['NAME']}"


@contextmanager
def broker_keys(redis_url: str) -> Iterator[str]:
    """A key prefix of this block's own on ``redis_url``; its keys are deleted when it ends."""
    import redis

    prefix = f"heed-test-{uuid.uuid4().hex[:12]}:"
    try:
        yield prefix
    finally:
        client = redis.Redis.from_url(redis_url)
        try:
            keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
            if keys:
                client.delete(*keys)
        except redis.ConnectionError:
            pass  # a test that stopped this Redis: nothing is left to delete
        finally:
            client.close()


def wait_until(
    what: str, done: Callable[[], bool], worker: subprocess.Popen, log: Path, timeout=TIMEOUT
) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if worker.poll() is not None:
            pytest.fail(f"the worker exited ({worker.returncode}):\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout}s. Worker log:\n{log.read_text()[-3000:]}")
        time.sleep(POLL)  # waiting on another process, not on our own code


def worker_command(*, beat: bool, name: str, pool: str = "solo") -> list[str]:
    command = [
        str(Path(sys.executable).with_name("celery")),
        "-A",
        "config",
        "worker",
        f"--pool={pool}",
        "--loglevel=INFO",
        f"--hostname={name}-{os.getpid()}@%h",
        "--without-gossip",
        "--without-mingle",
    ]
    return [*command, "-B"] if beat else command


def worker_env(*, var_dir: Path, redis_url: str, prefix: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.worker_settings",
        "HEED_TEST_KEY_PREFIX": prefix,
        "DATABASE_URL": database_url(),
        "CONN_MAX_AGE": "0",  # no connection left open when the test database is flushed
        "REDIS_URL": redis_url,
        "HEED_VAR_DIR": str(var_dir),
        "EMAIL_URL": "memorymail://",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def child_processes(pid: int) -> list[int]:
    """The ids of ``pid``'s child processes (Linux's /proc)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # "pid (command) state ppid …": the command may hold spaces and parentheses.
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


def kill_with_children(worker: subprocess.Popen) -> None:
    """SIGKILL, no warm shutdown, as when a container or machine dies: the worker and its
    child processes (the embedded beat of ``-B`` would otherwise live on, orphaned, sending
    jobs and holding a connection to the test database)."""
    children = child_processes(worker.pid)
    worker.send_signal(signal.SIGKILL)
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    worker.wait(10)


def stop(worker: subprocess.Popen, log: Path) -> None:
    """TERM (a warm shutdown), then KILL after 30 s, which fails the test."""
    if worker.poll() is not None:
        return
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(30)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
        pytest.fail(f"the worker did not stop within 30s:\n{log.read_text()[-3000:]}")


@contextmanager
def celery_worker(
    var_dir: Path, log: Path, *, redis_url: str, prefix: str, beat: bool = False, **env: str
) -> Iterator[subprocess.Popen]:
    """A worker (and its embedded beat, if asked) on ``redis_url`` under ``prefix``; stopped
    with TERM when the block ends."""
    with log.open("a") as output:
        worker = subprocess.Popen(
            worker_command(beat=beat, name="heed-test"),
            cwd=settings.BASE_DIR,
            env=worker_env(var_dir=var_dir, redis_url=redis_url, prefix=prefix, **env),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            yield worker
        finally:
            stop(worker, log)


# ---------------------------------------------------------------- a Redis of the test's own


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class OwnRedis:
    """A Redis server of the test's own, on a port of its own (never the shared one), that the
    test stops and starts again: a broker outage for real. Nothing is kept on disk."""

    def __init__(self, directory: Path) -> None:
        import shutil

        binary = shutil.which("redis-server")
        require(binary is not None, "needs redis-server (Debian's redis-server package)")
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> OwnRedis:
        import redis

        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(self.url).ping()
                return self
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    pytest.fail(f"redis-server on port {self.port} did not start")
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None


@contextmanager
def own_redis(directory: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(directory).start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def publishing_to(broker_url: str) -> Iterator[None]:
    """This test process's tasks (queued after commit) go to ``broker_url`` instead of the
    tests' memory:// broker: to a real worker."""
    from config.celery import app

    saved = app.conf.broker_url

    def forget() -> None:  # Celery keeps one connection pool, for the first broker it used
        app._pool = None
        app.amqp._producer_pool = None

    app.conf.broker_url = broker_url
    forget()
    try:
        yield
    finally:
        app.conf.broker_url = saved
        forget()


def start_worker(
    var_dir: Path, log: Path, *, redis_url: str, beat: bool, pool: str = "solo", **env: str
):
    """A worker on a Redis of the test's own (no key prefix: this process publishes to it as it
    is), not in a with block: the test kills and restarts it; stop it with ``stop``. ``pool``:
    solo (one process: a SIGKILL kills all of it) or prefork (as in production)."""
    output = log.open("a")
    return subprocess.Popen(
        worker_command(beat=beat, name="heed-fault", pool=pool),
        cwd=settings.BASE_DIR,
        env=worker_env(var_dir=var_dir, redis_url=redis_url, prefix="", **env),
        stdout=output,
        stderr=subprocess.STDOUT,
    )
