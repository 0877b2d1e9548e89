"""Routing latency through a real Celery worker, against reference tasks.

Both are measured one task at a time, so that the numbers are latencies and
not the length of a queue. Import this module only after django.setup().
"""

import contextlib
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import redis
from django.conf import settings

from bench.fill import ticket_slots
from bench.site import BenchError, BenchSite
from bench.tasks import assign_only, noop
from incidents import hooks
from incidents.actors import Actor
from incidents.models import Channel, EventKind, Incident, IncidentEvent, State
from incidents.workflow import incident_submit
from members.models import Member
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
    """Discard the messages waiting on the bench queues; return how many."""
    purged = 0
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for queue in (settings.BENCH_QUEUE, settings.BENCH_ROUTING_QUEUE):
            try:
                purged += channel.queue_purge(queue) or 0
            except Exception:  # noqa: BLE001 - a queue never declared holds nothing
                continue
    return purged


def _new_key() -> str:
    return f"westgarden-bench:noop:{uuid.uuid4().hex}"


def _executed_at(client: redis.Redis, key: str, timeout: float) -> float | None:
    """Return the time that the no-op task pushed onto ``key``, or None on timeout."""
    item = client.blpop([key], timeout=timeout)
    return None if item is None else float(item[1])


def _run_noop(client: redis.Redis, timeout: float) -> tuple[float, float]:
    """Queue one no-op task and return seconds to its execution and back.

    The first is from queueing until the task runs. The second, the round
    trip, lasts until this process has read the time that the task pushed.
    """
    key = _new_key()
    queued = time.time()
    # The routing queue and its worker, the path a routing task takes.
    noop.apply_async((key,), queue=settings.BENCH_ROUTING_QUEUE)
    executed = _executed_at(client, key, timeout)
    answered = time.time()
    if executed is None:
        raise BenchError(
            f"the no-op task did not run within {timeout:.0f} s; is the worker "
            "consuming the bench queue?"
        )
    return executed - queued, answered - queued


def start_workers(site: BenchSite) -> None:
    """Start the router and the general worker, as the Procfile does.

    Wait until each has run a no-op task from its own queue.
    """
    queues = {
        "router": settings.BENCH_ROUTING_QUEUE,
        "worker": settings.BENCH_QUEUE,
    }
    for name, queue in queues.items():
        site.start_worker(name, queue=queue)
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    for name, queue in queues.items():
        key = _new_key()
        # Queued before the worker is up; the worker runs it once it consumes.
        noop.apply_async((key,), queue=queue)
        deadline = time.monotonic() + WORKER_START_TIMEOUT
        while _executed_at(client, key, timeout=1.0) is None:
            site.check_workers()
            if time.monotonic() > deadline:
                raise BenchError(
                    f"the Celery worker {name} ran no task within "
                    f"{WORKER_START_TIMEOUT:.0f} s; see {site.celery_log(name)}."
                )


def measure_noop(count: int, *, warmup: int) -> tuple[Latencies, Latencies]:
    """Return the round trip and the queue-to-execution latency of no-op tasks.

    ``count`` tasks run one after the other.
    """
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    for _ in range(warmup):
        _run_noop(client, TASK_TIMEOUT)
    round_trip = Latencies("no-op task, round trip")
    to_run = Latencies("no-op task, queued to run")
    for _ in range(count):
        executed, answered = _run_noop(client, TASK_TIMEOUT)
        to_run.seconds.append(executed)
        round_trip.seconds.append(answered)
    return round_trip, to_run


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
    site.check_workers()
    raise BenchError(
        f"ticket {incident_id} was not routed within {TASK_TIMEOUT:.0f} s; "
        f"see {site.celery_log('router')}."
    )


@contextlib.contextmanager
def _commit_times() -> Iterator[dict[int, float]]:
    """Record, per ticket, when its commit hook starts to queue the routing task.

    The hook runs right after the ticket's transaction has committed, so this
    is the commit time of "commit to assignment". The hook itself runs
    unchanged.
    """
    times: dict[int, float] = {}
    queue_routing = hooks.incident_submitted

    def timed(incident_id: int) -> None:
        times[incident_id] = time.time()
        queue_routing(incident_id)

    hooks.incident_submitted = timed
    try:
        yield times
    finally:
        hooks.incident_submitted = queue_routing


def measure_routing(
    site: BenchSite, count: int, *, warmup: int, seed: int
) -> tuple[Latencies, Latencies]:
    """Submit ``count`` tickets in turn and return two latencies of each.

    Each ticket goes through incident_submit, whose commit queues the routing
    task; the next ticket is submitted once the worker has routed the one
    before. The end is the DISPATCHED event's created_at. The first result
    starts at the commit, when the ticket's commit hook queues the task, the
    second at the ticket's created_at, set when its row was inserted, before
    the rest of the submission and the commit. All times come from the
    clocks of processes on this machine.
    """
    rng = random.Random(seed)
    slots = ticket_slots(seed)
    places = [slot.place_id for slot in slots]
    categories = sorted({slot.category_id for slot in slots})

    for _ in range(warmup):
        _wait_until_routed(_submit(rng, places, categories), site)
    ids = []
    with _commit_times() as committed:
        for _ in range(count):
            incident_id = _submit(rng, places, categories)
            _wait_until_routed(incident_id, site)
            ids.append(incident_id)

    from_commit = Latencies("routing, commit to dispatched")
    from_insert = Latencies("routing, row insert to dispatched")
    # Nothing but routing acts on these tickets, so each is dispatched once.
    rows = IncidentEvent.objects.filter(
        incident_id__in=ids, kind=EventKind.DISPATCHED
    ).values_list("incident_id", "created_at", "incident__created_at")
    dispatched = {pk: (done, created) for pk, done, created in rows}
    for incident_id in ids:
        if incident_id not in dispatched:
            from_commit.not_dispatched += 1
            from_insert.not_dispatched += 1
            continue
        done, created = dispatched[incident_id]
        from_commit.seconds.append(done.timestamp() - committed[incident_id])
        from_insert.seconds.append((done - created).total_seconds())
    return from_commit, from_insert


def measure_assign_only(count: int, *, warmup: int, seed: int) -> Latencies:
    """Return the latency of bench.tasks.assign_only, from the ticket's commit.

    Tickets are submitted as for routing, but their commit hook queues
    assign_only on the routing queue in place of the routing task. They end
    up dispatched without deadlines or history, and would count as open
    tickets of one member in later parts, so they are deleted at the end.
    """
    rng = random.Random(seed)
    slots = ticket_slots(seed)
    places = [slot.place_id for slot in slots]
    categories = sorted({slot.category_id for slot in slots})
    member_id = Member.objects.filter(is_active=True).values_list("pk", flat=True)[0]
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    result = Latencies("reference: lock and assign only")
    committed: dict[int, tuple[float, str]] = {}

    def queue_assign_only(incident_id: int) -> None:
        key = _new_key()
        committed[incident_id] = (time.time(), key)
        assign_only.apply_async(
            (incident_id, member_id, key), queue=settings.BENCH_ROUTING_QUEUE
        )

    queue_routing = hooks.incident_submitted
    hooks.incident_submitted = queue_assign_only
    try:
        for number in range(warmup + count):
            incident_id = _submit(rng, places, categories)
            started, key = committed[incident_id]
            assigned = _executed_at(client, key, TASK_TIMEOUT)
            if assigned is None:
                raise BenchError(
                    f"assign_only did not run within {TASK_TIMEOUT:.0f} s for "
                    f"ticket {incident_id}."
                )
            if number >= warmup:
                result.seconds.append(assigned - started)
    finally:
        hooks.incident_submitted = queue_routing
        Incident.objects.filter(pk__in=committed).delete()
    return result
