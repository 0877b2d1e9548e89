"""Tasks queued after a ticket change commits.

The workflow calls these through ``transaction.on_commit``, so it does not
import Celery tasks at module level and a rolled-back change queues nothing.
A broker that cannot be reached must not fail the request whose change has
already committed: the error is logged and the periodic sweep picks the
work up later.
"""

import logging

from kombu.exceptions import OperationalError as BrokerError

logger = logging.getLogger(__name__)

# ConnectionError and socket timeouts are OSErrors.
BROKER_ERRORS = (BrokerError, OSError)


def incident_submitted(incident_id: int) -> None:
    """Queue routing of a new ticket; the sweep routes it if the broker is down."""
    from incidents.tasks import route_incident_task

    try:
        route_incident_task.delay(incident_id)
    except BROKER_ERRORS as error:
        logger.warning(
            "routing not queued id=%s error=%s; the sweep will route it",
            incident_id,
            type(error).__name__,
        )


def deliver_notifications() -> None:
    """Queue delivery of due e-mail and SMS; the beat schedule retries if this fails."""
    from incidents.tasks import deliver_notifications_task

    try:
        deliver_notifications_task.delay()
    except BROKER_ERRORS as error:
        logger.warning("delivery not queued error=%s", type(error).__name__)
