"""A small, bounded HTTP load generator for 127.0.0.1 (threads with keep-alive
connections). Used by the capture benchmark and the mixed load test."""

from __future__ import annotations

import http.client
import json
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Outcome:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: dict[str, dict[int, int]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    bodies: list[dict] = field(default_factory=list)

    def add(self, name: str, status: int, seconds: float) -> None:
        self.latencies.setdefault(name, []).append(seconds)
        counts = self.statuses.setdefault(name, {})
        counts[status] = counts.get(status, 0) + 1

    def summary(self, duration: float) -> dict:
        out = {}
        for name, values in self.latencies.items():
            ordered = sorted(values)
            out[name] = {
                "requests": len(values),
                "rps": round(len(values) / duration, 1),
                "p50_ms": round(statistics.median(ordered) * 1000, 1),
                "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 1),
                "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))] * 1000, 1),
                "statuses": self.statuses[name],
            }
        return out


Request = Callable[[int, int], tuple[str, str, str, dict | None, dict]]


def run(
    *, port: int, clients: int, seconds: float, make: Request, keep_bodies: bool = False
) -> tuple[Outcome, float]:
    """``clients`` threads send ``make(client, n)`` → (name, method, path, json, headers)
    requests back to back for ``seconds``; stops by itself."""
    outcome = Outcome()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker(client: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        n = 0
        while time.monotonic() < deadline:
            name, method, path, body, headers = make(client, n)
            n += 1
            payload = json.dumps(body).encode() if body is not None else None
            if payload is not None:
                headers = {"Content-Type": "application/json", **headers}
            start = time.perf_counter()
            try:
                conn.request(method, path, body=payload, headers=headers)
                response = conn.getresponse()
                data = response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    outcome.errors.append(f"{name}: {exc!r}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            elapsed = time.perf_counter() - start
            with lock:
                outcome.add(name, status, elapsed)
                if keep_bodies and status == 201:
                    outcome.bodies.append(json.loads(data))
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 60)
    return outcome, time.monotonic() - began
