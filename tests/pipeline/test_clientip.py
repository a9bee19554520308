"""The client address (``pipeline.clientip``): one rule for the capture throttle, the login
lockout and gunicorn, driven by the ``TRUSTED_PROXIES`` setting."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory
from django.urls import reverse

from leads.models import Lead
from pipeline.clientip import client_ip, parse_networks, resolve_client_ip
from tests.factories import CampaignFactory

PROXY = "10.0.0.5"
NETS = parse_networks(["10.0.0.0/24", "2001:db8::/32"])


@pytest.fixture(autouse=True)
def _clear_throttle():
    cache.clear()


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        ("203.0.113.7", "", "203.0.113.7"),
        # an untrusted peer's header is ignored, whatever it says
        ("203.0.113.7", "198.51.100.1", "203.0.113.7"),
        ("203.0.113.7", "10.0.0.9", "203.0.113.7"),
        # a trusted proxy reports its peer: the rightmost entry
        (PROXY, "198.51.100.1", "198.51.100.1"),
        # what the client sent before the proxy appended its peer does not count
        (PROXY, "1.2.3.4, 198.51.100.1", "198.51.100.1"),
        # two trusted proxies in a row are both skipped
        (PROXY, "1.2.3.4, 198.51.100.1, 10.0.0.8", "198.51.100.1"),
        # a malformed entry never wins: the last address vouched for stays
        (PROXY, "198.51.100.1, not-an-ip", PROXY),
        (PROXY, "198.51.100.1, ", PROXY),
        (PROXY, "198.51.100.1:5555", "198.51.100.1"),
        ("2001:db8::1", "[2001:db9::7]:443", "2001:db9::7"),
        ("::ffff:10.0.0.5", "198.51.100.1", "198.51.100.1"),
    ],
)
def test_resolve_client_ip_walks_from_the_right_through_trusted_proxies(
    remote, forwarded, expected
):
    assert resolve_client_ip(remote, forwarded, NETS) == expected


def test_no_trusted_proxy_by_default_means_the_socket_peer(settings):
    settings.TRUSTED_PROXIES = []
    request = RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert client_ip(request) == PROXY


def test_a_bad_trusted_proxy_entry_is_a_configuration_error(monkeypatch):
    from pipeline.clientip import trusted_proxies_from_env

    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.1, 172.16.0.0/12")
    assert trusted_proxies_from_env() == ["10.0.0.1/32", "172.16.0.0/12"]
    for bad in ("10.0.0.300", "*"):
        monkeypatch.setenv("TRUSTED_PROXIES", bad)
        with pytest.raises(ImproperlyConfigured):
            trusted_proxies_from_env()


def _capture(api, i, **extra):
    body = {"campaign_key": CampaignFactory._meta.model.objects.get().public_key,
            "name": f"T{i}", "email": f"t{i}@x.cn", "consent": True}  # fmt: skip
    return api().post("/api/v1/capture/", body, format="json", **extra)


@pytest.mark.django_db
def test_varying_x_forwarded_for_from_an_untrusted_peer_does_not_escape_the_throttle(api, settings):
    settings.CAPTURE_RATE = "3/min"
    settings.TRUSTED_PROXIES = []
    CampaignFactory()
    codes = [_capture(api, i, REMOTE_ADDR="203.0.113.7").status_code for i in range(4)]
    assert codes == [201, 201, 201, 429]
    later = [
        _capture(api, 10 + i, REMOTE_ADDR="203.0.113.7",
                 HTTP_X_FORWARDED_FOR=f"198.51.{i}.{i + 1}").status_code
        for i in range(30)
    ]  # fmt: skip
    assert set(later) == {429}
    assert Lead.objects.count() == 3


@pytest.mark.django_db
def test_behind_a_trusted_proxy_each_client_has_its_own_counter(api, settings):
    settings.CAPTURE_RATE = "2/min"
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    CampaignFactory()

    def via_proxy(i, client, spoofed=""):
        forwarded = f"{spoofed}, {client}" if spoofed else client
        return _capture(api, i, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded).status_code

    a = [via_proxy(i, "198.51.100.1", spoofed=f"1.1.1.{i}") for i in range(3)]
    b = [via_proxy(10 + i, "198.51.100.2") for i in range(2)]
    assert a == [201, 201, 429]
    assert b == [201, 201]
    assert Lead.objects.count() == 4


@pytest.mark.django_db
def test_login_lockout_locks_the_client_behind_the_proxy_not_everybody(client, rep, settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    attacker = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "198.51.100.66"}
    for _ in range(3):
        response = client.post(
            reverse("login"), {"username": "rep", "password": "wrong"}, **attacker
        )
    assert response.status_code == 429
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["198.51.100.66"]
    # the real user, behind the same proxy, still logs in
    owner = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "198.51.100.7"}
    ok = client.post(reverse("login"), {"username": "rep", "password": "pw-test-123"}, **owner)
    assert ok.status_code == 302 and "_auth_user_id" in client.session
