from __future__ import annotations

import logging

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from pipeline.clientip import client_ip
from pipeline.queue import BROKER_ERRORS, CircuitBreaker

logger = logging.getLogger(__name__)

#: The cache holding the throttle counters, as seen from this process.
cache_breaker = CircuitBreaker("Capture throttle cache")


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
            allowed = super().allow_request(request, view)
        except BROKER_ERRORS:
            if cache_breaker.trip():
                logger.exception("Capture throttle cache unreachable; letting requests through")
            return True
        cache_breaker.reset()
        return allowed
