"""Settings of the benchmark's processes: the portal's own, with a Celery queue apart.

The benchmark's web server, worker and own process publish and consume on
the queue ``westgarden-bench``. A worker of another database that shares the
broker therefore never takes a task whose ticket id belongs to the bench
database, and the benchmark purges only its own queue.
"""

from westgarden.settings import *  # noqa: F403

BENCH_QUEUE = "westgarden-bench"
CELERY_TASK_DEFAULT_QUEUE = BENCH_QUEUE
