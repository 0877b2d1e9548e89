"""Celery tasks of the ticket system: each loads by id and calls one function.

Every task can run twice without changing anything the second time. Only
errors that can heal (database connection loss, lock timeouts) are retried.
"""

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

logger = logging.getLogger(__name__)

TRANSIENT_ERRORS = (OperationalError, InterfaceError)


@shared_task(
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=8,
    acks_late=True,
)
def route_incident_task(incident_id: int) -> None:
    from incidents.routing import incident_route

    incident_route(incident_id=incident_id)


@shared_task(autoretry_for=TRANSIENT_ERRORS, retry_backoff=True, max_retries=3)
def sweep_task() -> dict:
    from incidents.escalation import sweep

    report = sweep()
    return {
        "escalated": report.escalated_total,
        "supervised": report.supervised,
        "released": report.released,
        "routed": report.routed,
        "failed": len(report.failed),
    }


@shared_task(autoretry_for=TRANSIENT_ERRORS, retry_backoff=True, max_retries=5)
def deliver_notifications_task() -> int:
    from incidents.notifications import deliver_due

    return deliver_due()


@shared_task(autoretry_for=TRANSIENT_ERRORS, retry_backoff=True, max_retries=5)
def recompute_deadlines_task(category_ids: list[int] | None = None) -> int:
    from incidents.deadlines import recompute_deadlines

    return recompute_deadlines(category_ids)
