"""POST a webhook body over HTTP(S), standard library only (``http.client``).

No redirect is followed (``http.client`` never follows one: a 3xx is a failed attempt), no
proxy from the environment is used, the whole exchange has a short timeout, and the
connection goes to the address ``webhooks.guard.resolve`` checked — the TLS handshake still
verifies the certificate against the URL's host name (SNI and hostname check).
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from webhooks import guard

#: The most of an answer that is read (the platforms answer a few hundred bytes).
MAX_ANSWER_BYTES = 64 * 1024


class TransportError(Exception):
    """The request could not be made or had no answer (DNS, refused, timeout, TLS)."""

    def __init__(self, message: str, *, latency_ms: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.latency_ms = latency_ms


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    latency_ms: int


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int | None, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int | None, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        # The certificate is checked against the URL's host, not the pinned address.
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def post(
    url: str, body: bytes, headers: dict[str, str], *, timeout: float, allow_private: bool
) -> Answer:
    """POST ``body`` to ``url``; the answer (any status), or ``TransportError``.

    ``guard.UnsafeUrl`` when the URL, or any address its host resolves to, is refused.
    """
    guard.check_url(url, allow_private=allow_private)
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".")
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    try:
        address = guard.resolve(host, port, allow_private=allow_private)
    except OSError as exc:
        raise TransportError(f"DNS: {exc}") from exc
    factory = _PinnedHTTPSConnection if https else _PinnedHTTPConnection
    connection = factory(host, parts.port, address=address, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    started = time.perf_counter()
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read(MAX_ANSWER_BYTES)
        status = response.status
    except (OSError, http.client.HTTPException) as exc:
        latency = round((time.perf_counter() - started) * 1000)
        message = f"{type(exc).__name__}: {exc}".strip(": ")
        raise TransportError(message, latency_ms=latency) from exc
    finally:
        connection.close()
    latency = round((time.perf_counter() - started) * 1000)
    return Answer(status=status, body=answer, latency_ms=latency)
