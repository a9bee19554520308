"""Real parallel workers for race tests on PostgreSQL (row locks, unique indexes, claims)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connections


def race(workers: list[Callable[[], object]]) -> list[object]:
    """Start every worker at the same instant in its own thread and database connection;
    return what each returned or raised."""
    barrier = threading.Barrier(len(workers))
    results: list[object] = [None] * len(workers)

    def run(index: int, work: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = work()
        except Exception as exc:
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=900)  # a loaded CI machine is slow; never read a live result
    return results
