"""Settings of the benchmark's processes: the portal's own, with Celery queues apart.

The benchmark's web server, workers and own process publish and consume on
the queues ``westgarden-bench`` and ``westgarden-bench-routing``. A worker of
another database that shares the broker therefore never takes a task whose
ticket id belongs to the bench database, and the benchmark purges only its
own queues. The web server also serves the reference views of bench.urls.
"""

from westgarden.settings import *  # noqa: F403

BENCH_QUEUE = "westgarden-bench"
BENCH_ROUTING_QUEUE = "westgarden-bench-routing"
CELERY_TASK_DEFAULT_QUEUE = BENCH_QUEUE
WESTGARDEN_ROUTING_QUEUE = BENCH_ROUTING_QUEUE
CELERY_TASK_ROUTES = {
    "incidents.tasks.route_incident_task": {"queue": BENCH_ROUTING_QUEUE}
}
ROOT_URLCONF = "bench.urls"
