"""The reference Celery tasks that the routing measurement compares with.

The benchmark's workers load this module with ``--include bench.tasks``.
"""

import functools
import time

import redis
from celery import shared_task
from django.conf import settings
from django.db import transaction

from incidents.models import Incident, State


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


@shared_task(ignore_result=True, acks_late=True)
def assign_only(incident_id: int, member_id: int, key: str) -> None:
    """Lock a ticket, set its assignee and push the time onto ``key``, then commit.

    The least that any routing must do, with no decision, deadline, history
    or notification: the reference for routing's latency.
    """
    with transaction.atomic():
        Incident.objects.select_for_update().filter(pk=incident_id).values_list(
            "state", flat=True
        ).get()
        Incident.objects.filter(pk=incident_id).update(
            assignee_id=member_id, state=State.DISPATCHED
        )
        assigned = time.time()
    client = _redis()
    client.rpush(key, repr(assigned))
    client.expire(key, 600)
