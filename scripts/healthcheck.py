#!/usr/bin/env python3
"""Exit 0 when the web process answers GET /healthz with {"status": "ok"}.

Used by the docker-compose health check and CI. It talks plain HTTP to this host, and sends
the first ALLOWED_HOSTS name as Host so Django's host check accepts the request.

    python scripts/healthcheck.py [URL]     # default http://127.0.0.1:$PORT/healthz
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request


def _host_header() -> str | None:
    for host in os.environ.get("ALLOWED_HOSTS", "").split(","):
        host = host.strip().lstrip(".")
        if host and host != "*":
            return host
    return None


def main(argv: list[str]) -> int:
    url = argv[1] if len(argv) > 1 else f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/healthz"
    request = urllib.request.Request(url)  # noqa: S310 - the URL is ours, http(s) only
    host = _host_header()
    if host:
        request.add_header("Host", host)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            body = json.loads(response.read().decode())
    except (OSError, ValueError, urllib.error.URLError) as exc:
        print(f"healthcheck: {url}: {exc}", file=sys.stderr)
        return 1
    if body.get("status") != "ok":
        print(f"healthcheck: {url}: {body}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
