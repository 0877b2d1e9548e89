"""Run one action from several threads at once, each on its own connection."""

import threading
from collections.abc import Callable
from typing import Any

from django.db import connection

START_TIMEOUT = 10
RUN_TIMEOUT = 60


def run_together(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Call ``work(index)`` from ``count`` threads released by one barrier.

    Return each thread's result or the exception it raised, in index order.
    Django opens one database connection per thread; each thread closes its
    own at the end so the test database can be dropped.
    """
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=START_TIMEOUT)
            results[index] = work(index)
        except Exception as error:  # noqa: BLE001 - handed to the test
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=RUN_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return results


def waiting_advisory_locks() -> int:
    """Return how many sessions on this database wait for an advisory lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
            "AND NOT granted AND database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        return cursor.fetchone()[0]
