"""gunicorn's settings for production (compose's web: ``gunicorn -c python:config.gunicorn``).

Only what the metrics need (config/metrics.py): with ``PROMETHEUS_MULTIPROC_DIR`` set, each
worker writes its request figures to files there and a scrape adds them up. The folder is
emptied when gunicorn starts (figures of a previous run must not be added to this one's), and a
worker that exits has its live gauges dropped. Everything else comes from the command line and
the environment (PORT, WEB_CONCURRENCY), as gunicorn reads them."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def on_starting(server) -> None:
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        Path(folder).mkdir(parents=True, exist_ok=True)


def child_exit(server, worker) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
