"""Site-wide Celery tasks."""

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task
def ping() -> str:
    """Log a line and return "pong", to check that a worker runs tasks."""
    logger.info("ping task received")
    return "pong"
