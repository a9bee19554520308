"""No test reaches the network: only loopback (127.0.0.0/8, ::1, ``localhost``) and unix
sockets, which the suite uses for PostgreSQL, Redis and the local servers some tests start.

``install()`` wraps ``socket.socket.connect``/``connect_ex``, ``socket.create_connection``
and the name look-ups (``getaddrinfo``, ``gethostbyname``); any other address raises
``NetworkBlocked`` at once (no DNS wait, no connect timeout) and is remembered in
``blocked``, so a test whose code swallowed the error still fails at its teardown
(``tests/conftest.py``). Code in C that opens its own sockets (libpq) is not seen; the
database settings come from the environment and are local in tests.
"""

from __future__ import annotations

import ipaddress
import socket

LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}

#: Addresses refused since the list was last cleared, as "host:port" strings.
blocked: list[str] = []


class NetworkBlocked(RuntimeError):
    """A test tried to reach a non-local address. Not an ``OSError``: code that retries or
    falls back on network errors must not quietly absorb it."""


def is_local(host: object) -> bool:
    if host is None or host in ("", b""):
        return True  # getaddrinfo(None, port): the local (passive or loopback) address
    if isinstance(host, bytes):
        host = host.decode("idna")
    host = str(host).strip("[]").split("%")[0].lower()
    if host in LOCAL_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # any other name would need a DNS look-up
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or bool(mapped and mapped.is_loopback)


def _refuse(host: object, port: object, how: str) -> None:
    where = f"{host}:{port}" if port is not None else str(host)
    blocked.append(where)
    raise NetworkBlocked(
        f"{how} {where} refused: tests may only use loopback (127.0.0.0/8, ::1, localhost) "
        "and unix sockets. Fake the remote service instead."
    )


_real = {
    "connect": socket.socket.connect,
    "connect_ex": socket.socket.connect_ex,
    "create_connection": socket.create_connection,
    "getaddrinfo": socket.getaddrinfo,
    "gethostbyname": socket.gethostbyname,
    "gethostbyname_ex": socket.gethostbyname_ex,
}


def _check_socket_address(sock: socket.socket, address) -> None:
    if sock.family in (socket.AF_INET, socket.AF_INET6) and not is_local(address[0]):
        _refuse(address[0], address[1], "connection to")


def _connect(self, address):
    _check_socket_address(self, address)
    return _real["connect"](self, address)


def _connect_ex(self, address):
    _check_socket_address(self, address)
    return _real["connect_ex"](self, address)


def _create_connection(address, *args, **kwargs):
    if not is_local(address[0]):
        _refuse(address[0], address[1], "connection to")
    return _real["create_connection"](address, *args, **kwargs)


def _getaddrinfo(host, port, *args, **kwargs):
    if not is_local(host):
        _refuse(host, port, "name look-up of")
    return _real["getaddrinfo"](host, port, *args, **kwargs)


def _gethostbyname(host):
    if not is_local(host):
        _refuse(host, None, "name look-up of")
    return _real["gethostbyname"](host)


def _gethostbyname_ex(host):
    if not is_local(host):
        _refuse(host, None, "name look-up of")
    return _real["gethostbyname_ex"](host)


def install() -> None:
    socket.socket.connect = _connect
    socket.socket.connect_ex = _connect_ex
    socket.create_connection = _create_connection
    socket.getaddrinfo = _getaddrinfo
    socket.gethostbyname = _gethostbyname
    socket.gethostbyname_ex = _gethostbyname_ex


def uninstall() -> None:
    for name in ("connect", "connect_ex"):
        setattr(socket.socket, name, _real[name])
    for name in ("create_connection", "getaddrinfo", "gethostbyname", "gethostbyname_ex"):
        setattr(socket, name, _real[name])
