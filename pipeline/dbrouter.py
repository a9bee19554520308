"""Reports and exports read an optional PostgreSQL streaming replica; everything else reads
and writes the primary (docs/architecture.md, "Read replica").

Nothing reads the replica by default. Code opts in explicitly with :func:`reading_replica`
(a context manager, and a view decorator that also covers a streamed response's rows); the
report pages and endpoints, the exports and the report snapshot jobs do. Inside it,
:class:`ReplicaRouter` sends reads to the ``replica`` alias unless one of these rules keeps
them on the primary:

* no replica is configured (``DATABASE_REPLICA_URL`` unset: the router is a no-op);
* the user wrote recently: a request that wrote (an ORM write, or any POST/PUT/PATCH/DELETE)
  by a signed-in user gets a signed cookie for ``REPLICA_PIN_SECONDS``
  (:class:`ReplicaPinMiddleware`); while it is valid that browser's reads stay on the primary,
  so a user always sees their own changes (read-your-own-writes);
* users, groups (roles), tokens and sessions: who may read what is decided on the primary;
* the block already wrote a table: later reads of that table in the same block go to the
  primary (a report job that saved its progress reads it back from where it wrote it);
* the primary connection is inside ``transaction.atomic`` (a test case's own transaction
  aside): a transaction sees its own writes and locks, so it reads where it writes;
* the replica is down, or replays more than ``REPLICA_MAX_LAG_SECONDS`` behind the primary,
  or lost its connection to the primary: checked with one cheap query at most every
  ``REPLICA_CHECK_SECONDS`` per process, logged (warning) when the primary takes over.

Writes always go to the primary, and so does ``select_for_update`` (Django routes it as a
write). Background jobs that write run outside :func:`reading_replica` and so never read
the replica; the report snapshot jobs read inside it and write the primary.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from functools import wraps
from types import TracebackType
from typing import Any, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpRequest, HttpResponseBase

logger = logging.getLogger(__name__)

#: The database alias of the replica (settings.DATABASES, from DATABASE_REPLICA_URL).
REPLICA = "replica"
#: The read-your-own-writes cookie and its signing salt.
PIN_COOKIE = "ll_primary"
PIN_SALT = "pipeline.dbrouter.pin"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
#: Who the user is and what they may do is always read from the primary: a role taken away
#: a moment ago must not still open a report from a replica that lags.
PRIMARY_APPS = frozenset({"auth", "authtoken", "sessions", "axes", "contenttypes"})

# One query: is it a standby, does it receive WAL, how many seconds behind is its replay
# (0 when it replayed everything it received; NULL when unknown). A standby whose primary
# is idle replays nothing for hours and is still current, hence the LSN comparison.
LAG_SQL = """
SELECT pg_is_in_recovery(),
       EXISTS (SELECT 1 FROM pg_stat_wal_receiver),
       CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END
"""


@dataclass
class _Reading:
    """One :func:`reading_replica` block: where it reads, and the tables it wrote."""

    alias: str  # the replica alias, or DEFAULT_DB_ALIAS when the primary serves the block
    written: set[str] = field(default_factory=set)


@dataclass
class _RequestState:
    pinned: bool = False  # a valid read-your-own-writes cookie came with the request
    wrote: bool = False  # the request wrote through the ORM


_reading: ContextVar[_Reading | None] = ContextVar("pipeline_replica_reading", default=None)
_request: ContextVar[_RequestState | None] = ContextVar("pipeline_replica_request", default=None)


def replica_configured() -> bool:
    return REPLICA in connections.settings


# --- Health ---------------------------------------------------------------------------------
_health: dict[str, tuple[float, bool]] = {}  # alias -> (time.monotonic() checked, usable)
_health_lock = threading.Lock()


def _probe(connection: BaseDatabaseWrapper) -> str | None:
    """Why the replica must not serve reads now, or None when it may."""
    try:
        with connection.cursor() as cursor:
            if connection.vendor != "postgresql":
                # The router's unit tests use a SQLite file as the replica: it only answers.
                cursor.execute("SELECT 1")
                return None
            cursor.execute(LAG_SQL)
            in_recovery, receiving, lag = cursor.fetchone()
    except DatabaseError as exc:
        connection.close()  # reconnect on the next check
        return f"down ({str(exc).strip() or type(exc).__name__})"
    if not in_recovery:
        return None  # not a standby (a promoted replica, the tests' mirror): current
    if not receiving:
        return "not connected to the primary (no WAL receiver)"
    if lag is None:
        return "replay position unknown"
    limit = settings.REPLICA_MAX_LAG_SECONDS
    if float(lag) > limit:
        return f"{float(lag):.1f} s behind the primary (limit {limit:g} s)"
    return None


def replica_usable(alias: str | None = None) -> bool:
    """The replica answers, follows the primary and is not too far behind; cached for
    ``REPLICA_CHECK_SECONDS`` per process (and alias)."""
    alias = alias or REPLICA
    checked = _health.get(alias)
    now = time.monotonic()
    if checked is not None and now - checked[0] < settings.REPLICA_CHECK_SECONDS:
        return checked[1]
    with _health_lock:
        checked = _health.get(alias)
        if checked is not None and now - checked[0] < settings.REPLICA_CHECK_SECONDS:
            return checked[1]
        reason = _probe(connections[alias])
        usable = reason is None
        if reason is not None:
            logger.warning("Replica %r not used, reading the primary: %s", alias, reason)
        elif checked is not None and not checked[1]:
            logger.info("Replica %r serves report reads again", alias)
        _health[alias] = (time.monotonic(), usable)
        return usable


def forget_replica_health() -> None:
    """Check the replica again at its next use (tests, after changing it)."""
    _health.clear()


# --- Choosing where a block reads ------------------------------------------------------------
def _in_transaction() -> bool:
    """The primary connection is inside ``transaction.atomic`` (not counting the
    transactions a Django test case wraps each test in)."""
    blocks = connections[DEFAULT_DB_ALIAS].atomic_blocks
    return any(not getattr(block, "_from_testcase", False) for block in blocks)


def _choose() -> str:
    if not replica_configured():
        return DEFAULT_DB_ALIAS
    request = _request.get()
    if request is not None and request.pinned:
        return DEFAULT_DB_ALIAS
    return REPLICA if replica_usable() else DEFAULT_DB_ALIAS


def read_alias(model: type[models.Model] | None = None) -> str:
    """The alias a read made here goes to; for raw SQL in a report selector:
    ``connections[read_alias()].cursor()`` instead of ``connection.cursor()``."""
    reading = _reading.get()
    if reading is None or reading.alias == DEFAULT_DB_ALIAS or _in_transaction():
        return DEFAULT_DB_ALIAS
    if model is not None and (
        model._meta.app_label in PRIMARY_APPS or model._meta.db_table in reading.written
    ):
        return DEFAULT_DB_ALIAS
    return reading.alias


F = TypeVar("F", bound=Callable[..., Any])


class reading_replica:  # lower case: used like a function, `with reading_replica():`
    """Reads in this block may go to the replica (see the module's rules).

    As a context manager: ``with reading_replica(): ...``. As a decorator of a view or
    task: ``@reading_replica()``; on a view it also covers the rows of a streamed response,
    which are read after the view returned. Where the block reads is decided once, when it
    starts (pin cookie, replica health); nested blocks share the outer block's choice.
    """

    def __init__(self) -> None:
        self._token: Token[_Reading | None] | None = None
        self.alias = DEFAULT_DB_ALIAS

    def __enter__(self) -> reading_replica:
        reading = _reading.get() or _Reading(alias=_choose())
        self.alias = reading.alias
        self._token = _reading.set(reading)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._token is not None:
            _reading.reset(self._token)
            self._token = None

    def __call__(self, func: F) -> F:
        @wraps(func)
        def inner(*args: Any, **kwargs: Any) -> Any:
            with reading_replica():
                reading = _reading.get()
                result = func(*args, **kwargs)
            if isinstance(result, HttpResponseBase) and result.streaming and reading is not None:
                result.streaming_content = _streamed(reading, result.streaming_content)  # type: ignore[attr-defined]
            return result

        return inner  # type: ignore[return-value]


def _streamed(reading: _Reading, chunks: Iterable[Any]) -> Iterator[Any]:
    """The chunks of a streamed response, each produced inside the view's reading block."""
    iterator = iter(chunks)
    while True:
        token = _reading.set(reading)
        try:
            chunk = next(iterator)
        except StopIteration:
            return
        finally:
            _reading.reset(token)
        yield chunk


# --- The router and the pin ------------------------------------------------------------------
class ReplicaRouter:
    """``DATABASE_ROUTERS``: reads inside :func:`reading_replica` to the replica, all else to
    the primary. The replica is never migrated (it replays the primary's schema)."""

    def db_for_read(self, model: type[models.Model], **hints: Any) -> str:
        return read_alias(model)

    def db_for_write(self, model: type[models.Model], **hints: Any) -> str:
        reading = _reading.get()
        if reading is not None:
            reading.written.add(model._meta.db_table)
        request = _request.get()
        if request is not None:
            request.wrote = True
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: models.Model, obj2: models.Model, **hints: Any) -> bool:
        return True  # the replica holds the primary's rows: one database

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return False if db == REPLICA else None


class ReplicaPinMiddleware:
    """Read-your-own-writes across requests: after a signed-in user's request that wrote,
    a signed cookie keeps that browser's reads on the primary for ``REPLICA_PIN_SECONDS``
    (longer than the replica may lag, REPLICA_MAX_LAG_SECONDS + REPLICA_CHECK_SECONDS).
    Does nothing without a replica. API clients that need it keep cookies."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not replica_configured():
            return self.get_response(request)
        pinned = PIN_COOKIE in request.COOKIES and (
            request.get_signed_cookie(
                PIN_COOKIE, default=None, salt=PIN_SALT, max_age=settings.REPLICA_PIN_SECONDS
            )
            is not None
        )
        state = _RequestState(pinned=pinned)
        token = _request.set(state)
        try:
            response = self.get_response(request)
        finally:
            _request.reset(token)
        user = getattr(request, "user", None)
        wrote = state.wrote or request.method not in SAFE_METHODS
        if wrote and user is not None and user.is_authenticated:
            response.set_signed_cookie(
                PIN_COOKIE,
                "1",
                salt=PIN_SALT,
                max_age=settings.REPLICA_PIN_SECONDS,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response
