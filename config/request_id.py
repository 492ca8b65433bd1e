"""A request's id, carried from the request into every log line and into the Celery tasks it
queues, so that one complaint's path through web and worker can be followed in the logs.

- ``RequestIdMiddleware``: the id the proxy in front sent (``X-Request-ID``, if it looks like
  one) or a new one; answered in the response's ``X-Request-ID``.
- ``before_task_publish``: a task queued while a request (or a task) runs carries its id in the
  message headers; ``task_prerun`` makes it the worker's current id while the task runs, and a
  periodic task with none gets the task's own id.
- ``config.logs.RequestIdFilter`` puts the current id on each log record (``request_id``)."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

from celery.signals import before_task_publish, task_postrun, task_prerun

HEADER = "X-Request-ID"
NONE = "-"
_VALID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

current: ContextVar[str] = ContextVar("heed_request_id", default=NONE)


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get(HEADER, "")
        request_id = given if _VALID.fullmatch(given) else uuid.uuid4().hex
        request.request_id = request_id
        token = current.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            current.reset(token)
        response[HEADER] = request_id
        return response


@before_task_publish.connect(dispatch_uid="heed-request-id-publish")
def _publish(headers=None, **kwargs) -> None:
    if headers is not None and current.get() != NONE:
        headers.setdefault("request_id", current.get())


_tokens: dict[str, object] = {}


@task_prerun.connect(dispatch_uid="heed-request-id-task")
def _task_started(task_id=None, task=None, **kwargs) -> None:
    given = getattr(task.request, "request_id", None) if task is not None else None
    _tokens[task_id] = current.set(given if given and _VALID.fullmatch(given) else task_id)


@task_postrun.connect(dispatch_uid="heed-request-id-task-done")
def _task_finished(task_id=None, **kwargs) -> None:
    token = _tokens.pop(task_id, None)
    if token is not None:
        current.reset(token)
