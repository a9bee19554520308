import logging

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from pipeline.tasks import BROKER_ERRORS

logger = logging.getLogger(__name__)


class CaptureThrottle(SimpleRateThrottle):
    """Per client IP, at ``CAPTURE_RATE`` (default 60/min).

    The counters live in the cache (Redis in production). If the cache is unreachable the
    submission is let through and the outage logged: losing leads would be worse than
    letting a burst in while Redis is down.
    """

    scope = "capture"

    def get_rate(self):
        return settings.CAPTURE_RATE

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except BROKER_ERRORS:
            logger.exception("Capture throttle cache unreachable; letting the request through")
            return True
