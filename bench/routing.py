"""Routing latency through a real Celery worker, against a no-op task's latency.

Both are measured one task at a time, so that the numbers are latencies and
not the length of a queue. Import this module only after django.setup().
"""

import random
import time
import uuid
from dataclasses import dataclass, field

import redis
from django.conf import settings
from django.db.models import F

from bench.fill import ticket_slots
from bench.site import BenchError, BenchSite
from bench.tasks import noop
from incidents.actors import Actor
from incidents.models import Channel, EventKind, Incident, IncidentEvent, State
from incidents.workflow import incident_submit
from westgarden.celery import app

# How long one task or one ticket may take before the measurement fails.
TASK_TIMEOUT = 30.0
WORKER_START_TIMEOUT = 60.0
POLL_SECONDS = 0.005


@dataclass
class Latencies:
    name: str
    seconds: list[float] = field(default_factory=list)
    # Tickets that routing sent to staff triage instead of a member.
    not_dispatched: int = 0

    def percentile(self, fraction: float) -> float:
        if not self.seconds:
            return 0.0
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def purge_queue() -> int:
    """Discard the messages waiting on the bench queue; return how many."""
    return app.control.purge()


def _new_key() -> str:
    return f"westgarden-bench:noop:{uuid.uuid4().hex}"


def _executed_at(client: redis.Redis, key: str, timeout: float) -> float | None:
    """Return the time that the no-op task pushed onto ``key``, or None on timeout."""
    item = client.blpop([key], timeout=timeout)
    return None if item is None else float(item[1])


def _run_noop(client: redis.Redis, timeout: float) -> float:
    """Queue one no-op task and return seconds from queueing to execution."""
    key = _new_key()
    queued = time.time()
    noop.delay(key)
    executed = _executed_at(client, key, timeout)
    if executed is None:
        raise BenchError(
            f"the no-op task did not run within {timeout:.0f} s; is the worker "
            "consuming the bench queue?"
        )
    return executed - queued


def start_worker(site: BenchSite) -> None:
    """Start the site's Celery worker and wait until it has run a no-op task."""
    site.start_worker(queue=settings.BENCH_QUEUE)
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    key = _new_key()
    # Queued before the worker is up; the worker runs it once it consumes.
    noop.delay(key)
    deadline = time.monotonic() + WORKER_START_TIMEOUT
    while time.monotonic() < deadline:
        site.check_worker()
        if _executed_at(client, key, timeout=1.0) is not None:
            return
    raise BenchError(
        f"the Celery worker ran no task within {WORKER_START_TIMEOUT:.0f} s; "
        f"see {site.celery_log}."
    )


def measure_noop(count: int, *, warmup: int) -> Latencies:
    """Return the queue-to-execution latency of ``count`` no-op tasks in turn."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    for _ in range(warmup):
        _run_noop(client, TASK_TIMEOUT)
    result = Latencies("no-op task, queued to run")
    for _ in range(count):
        result.seconds.append(_run_noop(client, TASK_TIMEOUT))
    return result


def _submit(rng: random.Random, places: list[int], categories: list[int]) -> int:
    incident = incident_submit(
        category_id=rng.choice(categories),
        place_id=rng.choice(places),
        description="Bench routing: the lift between floors 3 and 4 is stuck.",
        channel=Channel.PUBLIC_FORM,
        actor=Actor.resident(),
    )
    return incident.pk


def _wait_until_routed(incident_id: int, site: BenchSite) -> None:
    deadline = time.monotonic() + TASK_TIMEOUT
    while time.monotonic() < deadline:
        state, needs_triage = (
            Incident.objects.filter(pk=incident_id)
            .values_list("state", "needs_triage")
            .get()
        )
        if state != State.SUBMITTED or needs_triage:
            return
        time.sleep(POLL_SECONDS)
    site.check_worker()
    raise BenchError(
        f"ticket {incident_id} was not routed within {TASK_TIMEOUT:.0f} s; "
        f"see {site.celery_log}."
    )


def measure_routing(
    site: BenchSite, count: int, *, warmup: int, seed: int
) -> Latencies:
    """Submit ``count`` tickets in turn and return their commit-to-dispatch times.

    Each ticket goes through incident_submit, whose commit queues the routing
    task; the next ticket is submitted once the worker has routed the one
    before. The latency is the DISPATCHED event's created_at minus the
    ticket's created_at, both written by the database clients' clocks on
    this machine.
    """
    rng = random.Random(seed)
    slots = ticket_slots(seed)
    places = [slot.place_id for slot in slots]
    categories = sorted({slot.category_id for slot in slots})

    for _ in range(warmup):
        _wait_until_routed(_submit(rng, places, categories), site)
    ids = []
    for _ in range(count):
        incident_id = _submit(rng, places, categories)
        _wait_until_routed(incident_id, site)
        ids.append(incident_id)

    result = Latencies("routing, commit to dispatched")
    # Nothing but routing acts on these tickets, so each is dispatched once.
    dispatched = dict(
        IncidentEvent.objects.filter(
            incident_id__in=ids, kind=EventKind.DISPATCHED
        ).values_list("incident_id", F("created_at") - F("incident__created_at"))
    )
    for incident_id in ids:
        if incident_id not in dispatched:
            result.not_dispatched += 1
            continue
        result.seconds.append(dispatched[incident_id].total_seconds())
    return result
