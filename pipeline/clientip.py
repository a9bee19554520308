"""The client's address, as the trusted proxies in front of the app report it.

One rule, one setting: ``TRUSTED_PROXIES`` (comma-separated IPs or CIDR networks, default
empty). The throttles, the login lockout (django-axes, ``AXES_CLIENT_IP_CALLABLE``) and
gunicorn (``forwarded_allow_ips`` in ``pipeline/gunicorn.conf.py``) all read it, and every
place that records or counts a client address calls ``client_ip``.

How the address is found: start with the socket peer (``REMOTE_ADDR``). While that peer is a
trusted proxy, the proxy's ``X-Forwarded-For`` says who *it* talked to, so step one entry to
the left of the header (from the right end, the entry the proxy itself appended) and repeat.
The first address that is not a trusted proxy is the client. A header from an untrusted
peer is ignored entirely — anybody can send one — and an entry that is not an IP address
stops the walk at the last address known good, so a malformed header never wins.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from pipeline.env import env_list

if TYPE_CHECKING:  # the settings module and gunicorn's config import this module
    from django.http import HttpRequest
    from rest_framework.request import Request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """``["10.0.0.1", "172.16.0.0/12"]`` as networks; a bad entry is a configuration error."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"TRUSTED_PROXIES: {value!r} is not an IP address or network."
            ) from exc
    return tuple(networks)


def trusted_proxies_from_env() -> list[str]:
    """``TRUSTED_PROXIES`` from the environment, checked and normalised as networks
    (``10.0.0.5`` → ``10.0.0.5/32``), in the form gunicorn's ``forwarded_allow_ips`` takes.

    ``*`` is refused: trusting every peer would let any client pick the address it is
    throttled and locked out under.
    """
    values = env_list("TRUSTED_PROXIES")
    if "*" in values:
        raise ImproperlyConfigured(
            "TRUSTED_PROXIES must list the proxies' addresses or networks, not '*'."
        )
    return [str(network) for network in parse_networks(values)]


@lru_cache(maxsize=8)
def _networks(values: tuple[str, ...]) -> tuple[Network, ...]:
    return parse_networks(values)


def trusted_networks() -> tuple[Network, ...]:
    """The ``TRUSTED_PROXIES`` setting, parsed (cached per value, so tests may override)."""
    return _networks(tuple(settings.TRUSTED_PROXIES))


def _address(value: str) -> Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "203.0.113.7:51234"
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def _trusted(address: Address, networks: tuple[Network, ...]) -> bool:
    return any(address in network for network in networks)


def resolve_client_ip(remote_addr: str, forwarded_for: str, networks: tuple[Network, ...]) -> str:
    """The pure rule behind ``client_ip``: plain strings in, the client's address out."""
    peer = _address(remote_addr)
    if peer is None:
        return remote_addr.strip()
    hops = forwarded_for.split(",") if forwarded_for else []
    while _trusted(peer, networks) and hops:
        previous = _address(hops.pop())
        if previous is None:
            break  # a malformed entry: keep the last address a trusted proxy vouched for
        peer = previous
    return str(peer)


def client_ip(request: HttpRequest | Request) -> str:
    """The address of the client that sent ``request`` (see the module docstring)."""
    return resolve_client_ip(
        request.META.get("REMOTE_ADDR", "") or "",
        request.META.get("HTTP_X_FORWARDED_FOR", "") or "",
        trusted_networks(),
    )
