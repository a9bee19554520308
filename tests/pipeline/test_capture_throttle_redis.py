"""The capture throttle on Redis (``pipeline.throttles.SLIDING_WINDOW``): DRF's sliding
window in one atomic call, so parallel workers never let more than the limit through and a
refused caller is told when to come back. Runs against the machine's Redis (CI starts one),
with keys of its own that it removes."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.core.cache.backends.redis import RedisCache
from django.test import RequestFactory
from rest_framework.request import Request

from pipeline.env import env_str
from pipeline.throttles import CaptureThrottle


@pytest.fixture
def redis_cache():
    url = env_str("REDIS_URL") or "redis://127.0.0.1:6379/15"
    cache = RedisCache(url, {"KEY_PREFIX": f"throttle-test-{uuid.uuid4().hex[:8]}"})
    yield cache
    client = cache._cache.get_client(write=True)
    for key in client.scan_iter(f"{cache.key_prefix}*"):
        client.delete(key)


def _throttle(cache: RedisCache) -> CaptureThrottle:
    throttle = CaptureThrottle()
    throttle.cache = cache
    return throttle


def _request(ip: str) -> Request:
    return Request(RequestFactory().post("/api/v1/capture/", REMOTE_ADDR=ip))


def test_parallel_requests_never_pass_more_than_the_limit(redis_cache, settings):
    settings.CAPTURE_RATE = "5/min"
    results: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(20)

    def one() -> None:
        throttle = _throttle(redis_cache)
        start.wait()
        allowed = throttle.allow_request(_request("203.0.113.7"), None)
        with lock:
            results.append(allowed)

    threads = [threading.Thread(target=one) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(results) == [False] * 15 + [True] * 5
    # Another address has its own window.
    assert _throttle(redis_cache).allow_request(_request("203.0.113.8"), None)


def test_a_refused_caller_is_told_when_the_window_frees(redis_cache, settings):
    settings.CAPTURE_RATE = "2/hour"
    answers = []
    for _ in range(3):
        throttle = _throttle(redis_cache)
        answers.append((throttle.allow_request(_request("198.51.100.1"), None), throttle))
    assert [allowed for allowed, _t in answers] == [True, True, False]
    wait = answers[-1][1].wait()
    assert wait is not None and 3500 < wait <= 3600


def test_the_default_cache_is_used_through_its_one_call(settings):
    """DRF gives the throttle ``django.core.cache.cache``, a proxy: the throttle sees the
    Redis cache behind it and makes its one ``SLIDING_WINDOW`` call (not a read and a
    write)."""
    from django.core.cache import cache as default_cache
    from django.core.cache import caches

    url = env_str("REDIS_URL") or "redis://127.0.0.1:6379/15"
    prefix = f"throttle-test-{uuid.uuid4().hex[:8]}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": prefix,
        }
    }
    settings.CAPTURE_RATE = "2/min"
    throttle = CaptureThrottle()
    assert throttle.cache is default_cache
    backend = throttle.backend()
    assert isinstance(backend, RedisCache) and backend is caches["default"]
    try:
        assert [throttle.allow_request(_request("203.0.113.9"), None) for _ in range(3)] == [
            True,
            True,
            False,
        ]
        client = backend._cache.get_client(write=True)
        key = backend.make_and_validate_key(throttle.key)
        assert client.type(key) == b"zset"  # the script's sorted set, not DRF's pickled list
    finally:
        client = backend._cache.get_client(write=True)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
