"""The no-op Celery task whose latency the routing measurement compares with.

The benchmark's worker loads this module with ``--include bench.tasks``.
"""

import functools
import time

import redis
from celery import shared_task
from django.conf import settings


@functools.cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.CELERY_BROKER_URL)


@shared_task(ignore_result=True)
def noop(key: str) -> None:
    """Push the time at which the task runs, in seconds since the epoch, onto ``key``.

    The list expires after 10 minutes, so an unread time does not stay in Redis.
    """
    executed = time.time()
    client = _redis()
    client.rpush(key, repr(executed))
    client.expire(key, 600)
