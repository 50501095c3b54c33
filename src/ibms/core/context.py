"""Who is acting and in which request: set by the middleware, the CLI and the worker."""

from __future__ import annotations

import contextlib
import contextvars
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    username: str
    ip: str = ""


SYSTEM = Actor(user_id=None, username="system")

# An Actor, or a callable giving one: a request binds a callable so that a user authenticated later in the
# request (an API token, checked inside the view) is the one the audit names.
_actor: contextvars.ContextVar[Actor | Callable[[], Actor]] = contextvars.ContextVar("ibms_actor", default=SYSTEM)
_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("ibms_request_id", default="")


def current_actor() -> Actor:
    actor = _actor.get()
    return actor if isinstance(actor, Actor) else actor()


def current_request_id() -> str:
    return _request_id.get()


def actor_of(user, ip: str = "") -> Actor:
    if user is None or not getattr(user, "is_authenticated", False):
        return Actor(user_id=None, username="anonymous", ip=ip)
    return Actor(user_id=user.pk, username=user.get_username(), ip=ip)


@contextlib.contextmanager
def acting(actor: Actor | Callable[[], Actor], request_id: str | None = None) -> Iterator[Actor | Callable[[], Actor]]:
    t1 = _actor.set(actor)
    t2 = _request_id.set(request_id or uuid.uuid4().hex)
    try:
        yield actor
    finally:
        _actor.reset(t1)
        _request_id.reset(t2)


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every log record (`%(request_id)s` in the log format)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get() or "-"
        return True
