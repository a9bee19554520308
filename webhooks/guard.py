"""Server-side request forgery guard for webhook URLs.

A webhook URL is typed by an administrator, but it makes *this server* connect somewhere,
so it must not reach the private network behind it (the database, Redis, a cloud metadata
service at 169.254.169.254). Two checks:

- at save time (``check_url``): http(s) only, a host, and a literal IP address or a
  ``localhost`` name that is not public is refused;
- at delivery time (``resolve``): the host name is resolved and *every* address must be
  public; the transport then connects to the checked address itself
  (``webhooks.transport``), so a DNS answer that changes between check and connect
  (rebinding) cannot slip a private address in.

``WEBHOOK_ALLOW_PRIVATE_NETWORKS`` turns both off (on-premise chat servers, tests).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.utils.translation import gettext as _

LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


class UnsafeUrl(Exception):
    """The URL may not be called (scheme, or an address that is not public)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """A globally routable unicast address: not private, loopback, link-local, shared
    (100.64/10), reserved, multicast, unspecified or documentation."""
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        return is_public(mapped)
    return address.is_global and not address.is_multicast


def check_address(host: str, *, allow_private: bool) -> None:
    """Refuse a literal IP address that is not public (unless ``allow_private``)."""
    address = ipaddress.ip_address(host.split("%")[0])
    if not allow_private and not is_public(address):
        raise UnsafeUrl(
            _("%(address)s is a private, loopback, link-local or reserved address.")
            % {"address": address}
        )


def _literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    return True


def check_url(url: str, *, allow_private: bool) -> None:
    """The checks that need no DNS: scheme, host, port, literal addresses, local names."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(_("This is not a valid URL.")) from exc
    if parts.scheme not in ("http", "https"):
        raise UnsafeUrl(_("Only http and https URLs are allowed."))
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeUrl(_("The URL has no host."))
    if port == 0:
        raise UnsafeUrl(_("This is not a valid URL."))
    if _literal(host):
        check_address(host, allow_private=allow_private)
    elif not allow_private and (host in LOCAL_NAMES or host.endswith(".localhost")):
        raise UnsafeUrl(_("%(host)s is a local address.") % {"host": host})


def resolve(host: str, port: int, *, allow_private: bool) -> str:
    """The address to connect to for ``host``: every address DNS gives must be public
    (one private answer refuses the name), and the first is returned to be used as is.

    ``socket.gaierror`` (no such name, DNS down) propagates: a transient failure.
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise socket.gaierror(f"no address for {host}")
    for address in addresses:
        try:
            check_address(address, allow_private=allow_private)
        except UnsafeUrl as exc:
            raise UnsafeUrl(
                _("%(host)s resolves to %(address)s, which is not a public address.")
                % {"host": host, "address": address.split("%")[0]}
            ) from exc
    return addresses[0]
