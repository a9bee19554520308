from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class CaptureThrottle(SimpleRateThrottle):
    """Per client IP, at ``CAPTURE_RATE`` (default 60/min)."""

    scope = "capture"

    def get_rate(self):
        return settings.CAPTURE_RATE

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
