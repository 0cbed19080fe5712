"""Which database a query goes to: the primary, unless a read that tolerates lag asked for a replica.

One router, one opt-in. Every write and every read goes to the primary (``default``) unless the code
around the read said it may lag: a selector decorated with ``lag_tolerant``, or a block under
``replica_reads()``. Even then the primary answers when

- there is no replica (``DATABASE_REPLICA_URLS`` unset: the embedded default, most tests);
- the read runs inside a transaction (what a transaction reads must be what it writes over);
- the request writes (POST, PUT, PATCH, DELETE: ``ReadYourWritesMiddleware``) or is the admin's;
- the viewer wrote a moment ago (any unsafe request of theirs in the last
  ``DATABASE_READ_YOUR_WRITES_S``): nobody misses what they just did because a replica lags;
- the replica refused a connection (left alone for ``DATABASE_REPLICA_RETRY_S``).

So nothing reads a replica by accident: a read nobody marked is a read on the primary. Celery tasks and
the admin call no marked selector but the feed's candidate sources, which take the viewer's recent writes
into account by id like a request does.

Usage, for a new app's reads (search, say)::

    @lag_tolerant
    def search_videos(*, viewer, query) -> QuerySet[Video]: ...   # the viewer argument is found by name

    with replica_reads(viewer=request.user):                        # or around any block of reads
        hits = list(...)

A ``QuerySet`` that a ``lag_tolerant`` selector returns is evaluated later, by the view, outside the
block: it is pinned (``using``) to the database chosen when the selector ran.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import random
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections
from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse

logger = logging.getLogger(__name__)

PRIMARY = DEFAULT_DB_ALIAS
_UNDECIDED = "-"

# Inside replica_reads(): the replica its reads go to, or None (the primary); outside: _UNDECIDED.
_replica: ContextVar[str | None] = ContextVar("db_replica", default=_UNDECIDED)
# The request being served, whose user DRF authenticates after the middleware ran (JWT).
_request: ContextVar[Any] = ContextVar("db_request", default=None)
# A request that writes, or the admin's: every read of it on the primary.
_primary_only: ContextVar[bool] = ContextVar("db_primary_only", default=False)

# Per process: when each replica that refused a connection may be tried again.
_replica_down_until: dict[str, float] = {}

_SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")


def _wrote_key(user_id: int) -> str:
    return f"db:wrote:{user_id}"


def writes_remember(*, user_id: int) -> None:
    """``user_id`` just wrote: their reads stay on the primary for ``DATABASE_READ_YOUR_WRITES_S``."""
    if settings.DATABASE_REPLICAS:
        cache.set(_wrote_key(user_id), 1, timeout=settings.DATABASE_READ_YOUR_WRITES_S)


def wrote_recently(user_id: int) -> bool:
    return cache.get(_wrote_key(user_id)) is not None


def _user_id(viewer: Any) -> int | None:
    if isinstance(viewer, int):
        return viewer
    if viewer is not None and getattr(viewer, "is_authenticated", False):
        return viewer.id
    return None


def _request_user_id() -> int | None:
    request = _request.get()
    return _user_id(getattr(request, "user", None)) if request is not None else None


def _in_transaction() -> bool:
    """Inside an atomic block on the primary (a test case's own transaction is not one the code opened)."""
    return any(not getattr(block, "_from_testcase", False) for block in connections[PRIMARY].atomic_blocks)


def _replica_up(alias: str) -> bool:
    if _replica_down_until.get(alias, 0.0) > time.monotonic():
        return False
    try:
        connections[alias].ensure_connection()
    except OperationalError as error:
        _replica_down_until[alias] = time.monotonic() + settings.DATABASE_REPLICA_RETRY_S
        logger.warning("replica %s unreachable, its reads go to the primary for now: %s", alias, error)
        return False
    return True


def _choose(viewer: Any) -> str | None:
    """The replica for a block of lag-tolerant reads by ``viewer``, or None for the primary."""
    if not settings.DATABASE_REPLICAS or _primary_only.get() or _in_transaction():
        return None
    user_id = _user_id(viewer)
    if user_id is None:
        user_id = _request_user_id()
    if user_id is not None and wrote_recently(user_id):
        return None
    replicas = list(settings.DATABASE_REPLICAS)
    random.shuffle(replicas)  # spread the reads; one block stays on one replica
    return next((alias for alias in replicas if _replica_up(alias)), None)


@contextlib.contextmanager
def replica_reads(*, viewer: Any = None) -> Iterator[str | None]:
    """Reads inside the block may go to a replica (lag of a second or so is fine for them), unless one of
    the rules of this module's docstring sends them to the primary. ``viewer`` (a user, or a user id) is
    whose recent writes count; without it, the request's user. Yields the replica's alias, or None.
    A block inside another keeps the outer block's choice."""
    current = _replica.get()
    alias = _choose(viewer) if current == _UNDECIDED else current
    token = _replica.set(alias)
    try:
        yield alias
    finally:
        _replica.reset(token)


def lag_tolerant(selector: Callable) -> Callable:
    """Run ``selector`` under ``replica_reads``, the viewer being its ``viewer``, ``user`` or ``user_id``
    argument; a ``QuerySet`` it returns is pinned to the database chosen."""
    signature = inspect.signature(selector)
    viewer_arg = next((name for name in ("viewer", "user", "user_id") if name in signature.parameters), None)

    @functools.wraps(selector)
    def run(*args, **kwargs):
        viewer = signature.bind_partial(*args, **kwargs).arguments.get(viewer_arg) if viewer_arg else None
        with replica_reads(viewer=viewer) as alias:
            result = selector(*args, **kwargs)
        if isinstance(result, QuerySet):
            result = result.using(alias or PRIMARY)
        return result

    return run


class PrimaryReplicaRouter:
    """``DATABASE_ROUTERS``: writes and unmarked reads on the primary, marked reads on the replica chosen."""

    def db_for_read(self, model, **hints) -> str:
        alias = _replica.get()
        if alias is None or alias == _UNDECIDED or _in_transaction():
            # Explicitly the primary: an object read from a replica does not draw later reads there.
            return PRIMARY
        return alias

    def db_for_write(self, model, **hints) -> str:
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints) -> bool | None:
        # A replica holds the primary's rows: an object read from either may point at one from the other.
        databases = {PRIMARY, *settings.DATABASE_REPLICAS}
        return True if {obj1._state.db, obj2._state.db} <= databases else None

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool:
        return db == PRIMARY  # replicas follow the primary's schema by replication


class ReadYourWritesMiddleware:
    """A request that writes reads only the primary, and its user's reads stay there for a few seconds
    after (``DATABASE_READ_YOUR_WRITES_S``), on every device: the mark is in the cache, by user id."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        writes = request.method not in _SAFE_METHODS
        primary_only = bool(settings.DATABASE_REPLICAS) and (writes or _is_admin(request))
        tokens = (_request.set(request), _primary_only.set(primary_only))
        try:
            response = self.get_response(request)
        finally:
            _primary_only.reset(tokens[1])
            _request.reset(tokens[0])
        if writes and settings.DATABASE_REPLICAS:
            # After the view: DRF put the user it authenticated (JWT) on the request by then.
            user_id = _user_id(getattr(request, "user", None))
            if user_id is not None:
                writes_remember(user_id=user_id)
        return response


def _is_admin(request) -> bool:
    try:
        return request.path.startswith(reverse("admin:index"))
    except NoReverseMatch:  # a URL configuration without the admin
        return False
