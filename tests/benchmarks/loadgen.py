"""A small, bounded HTTP load generator for 127.0.0.1 (threads with keep-alive
connections). Used by the capture benchmarks and the open-loop load test.

``run`` is closed-loop (each client sends its next request when the last one answered):
right for the highest throughput, wrong for latency, since a slow server slows the
clients down and hides its own queueing. ``open_loop`` sends at a fixed arrival rate
and measures every latency from the time the request was due, so time spent waiting for a
free connection counts (no coordinated omission)."""

from __future__ import annotations

import http.client
import json
import queue
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
                "errors": sum(e.startswith(f"{name}:") for e in self.errors),
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


#: What ``open_loop`` calls after each answer: (request, status, body, monotonic time of
#: the answer). Runs in a sender thread: keep it short.
OnAnswer = Callable[[tuple[str, str, str, dict | None, dict], int, bytes, float], None]


def open_loop(
    *,
    port: int,
    rate: float,
    seconds: float,
    make: Request,
    senders: int = 64,
    on_answer: OnAnswer | None = None,
    timeout: float = 30,
) -> tuple[Outcome, float]:
    """Send ``make(sender, n)`` for n = 0, 1, … with request n due at start + n / rate,
    for ``seconds``, whatever the server does; ``senders`` threads with keep-alive
    connections send them. Each latency runs from the request's due time to its answer,
    so a request that waited for a free sender or connection is charged for the wait.

    Bounded: ``timeout`` seconds after the last due time every sender stops; a request
    not sent by then counts as an error ("not sent"), and nothing is added to the outcome
    after this returns (the next run starts on a quiet server). Returns the outcome and
    the scheduled duration."""
    outcome = Outcome()
    lock = threading.Lock()
    due: queue.Queue[tuple[int, float] | None] = queue.Queue()
    count = int(rate * seconds)
    start = time.monotonic() + 0.2
    stop_at = start + count / rate + timeout

    def sender(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        while (item := due.get()) is not None:
            n, at = item
            request = make(index, n)
            name, method, path, body, headers = request
            if time.monotonic() >= stop_at:
                with lock:
                    outcome.errors.append(f"{name}: not sent within {timeout:g} s of the end")
                continue
            payload = json.dumps(body).encode() if body is not None else None
            if payload is not None:
                headers = {"Content-Type": "application/json", **headers}
            try:
                conn.request(method, path, body=payload, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as exc:
                with lock:
                    outcome.errors.append(f"{name}: {exc!r}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
                continue
            done = time.monotonic()
            with lock:
                outcome.add(name, response.status, done - at)
            if on_answer is not None:
                on_answer(request, response.status, data, done)
        conn.close()

    threads = [threading.Thread(target=sender, args=(i,), daemon=True) for i in range(senders)]
    for thread in threads:
        thread.start()
    for n in range(count):
        at = start + n / rate
        pause = at - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        due.put((n, at))
    for _ in threads:
        due.put(None)
    # A request sent just before ``stop_at`` may take ``timeout`` more (the socket's).
    for thread in threads:
        thread.join(max(0.0, stop_at + timeout + 1 - time.monotonic()))
    return outcome, count / rate
