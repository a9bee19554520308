from __future__ import annotations

import logging
import secrets
from typing import Any

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache import cache as default_cache
from django.core.cache.backends.redis import RedisCache
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from pipeline.clientip import client_ip
from pipeline.queue import BROKER_ERRORS, CircuitBreaker

logger = logging.getLogger(__name__)

#: The cache holding the throttle counters, as seen from this process.
cache_breaker = CircuitBreaker("Capture throttle cache")

#: DRF's sliding window (drop the requests older than the window; refuse when ``limit``
#: remain, else record this one) as one atomic Redis call: one round trip instead of a
#: read and a write, and no lost update between two workers. Returns {allowed, oldest}.
SLIDING_WINDOW = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
    local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]
    return {0, oldest}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
return {1, tostring(now)}
"""


class CaptureThrottle(SimpleRateThrottle):
    """Per client IP, at ``CAPTURE_RATE`` (default 60/min).

    The client is ``pipeline.clientip.client_ip``: the socket peer, or the address a
    trusted proxy (``TRUSTED_PROXIES``) reports — never a raw ``X-Forwarded-For``, which
    anyone can vary per request to get a fresh counter.

    The counters live in the cache (Redis in production). If the cache is unreachable the
    submission is let through and the outage logged: losing leads would be worse than
    letting a burst in while Redis is down. After a failure the cache is not asked again
    for ``REDIS_BREAKER_SECONDS`` (``cache_breaker``), so captures stay fast meanwhile.
    """

    scope = "capture"

    def get_rate(self) -> str:
        return settings.CAPTURE_RATE

    def get_ident(self, request: Request) -> str:
        return client_ip(request)

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def allow_request(self, request: Request, view: APIView) -> bool:
        if not cache_breaker.allows():
            return True
        try:
            if isinstance(self.backend(), RedisCache):
                allowed = self._allow_in_redis(request, view)
            else:  # the local-memory cache of the embedded default
                allowed = super().allow_request(request, view)
        except BROKER_ERRORS:
            if cache_breaker.trip():
                logger.exception("Capture throttle cache unreachable; letting requests through")
            return True
        cache_breaker.reset()
        return allowed

    def backend(self) -> Any:
        """The cache itself: DRF's default is ``django.core.cache.cache``, a proxy to the
        default cache that is no ``RedisCache`` instance, so it is resolved here (without
        this, production took the two-round-trip read-then-write path)."""
        cache = self.cache
        return caches[DEFAULT_CACHE_ALIAS] if cache is default_cache else cache

    def _allow_in_redis(self, request: Request, view: APIView) -> bool:
        """``SimpleRateThrottle.allow_request`` in one Redis call (``SLIDING_WINDOW``)."""
        limit, window = self.parse_rate(self.rate)
        if limit is None or window is None:
            return True
        self.key = self.get_cache_key(request, view)
        self.now = self.timer()
        cache: Any = self.backend()
        client = cache._cache.get_client(self.key, write=True)
        allowed, oldest = client.eval(
            SLIDING_WINDOW,
            1,
            cache.make_and_validate_key(self.key),
            repr(self.now),
            window,
            limit,
            f"{self.now!r}:{secrets.token_hex(4)}",
        )
        if int(allowed):
            return True
        # For ``wait()`` (Retry-After): the window frees up when the oldest request leaves.
        self.history = [float(oldest)] * limit
        return False
